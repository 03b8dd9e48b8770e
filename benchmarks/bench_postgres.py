"""Benchmark: `sparkify run` into the local PostgreSQL server, and a row-by-row INSERT loader for scale.

Prints events per second for staging (parse with DuckDB + COPY FROM STDIN) and for the whole run,
and the same staging done with one INSERT per row (executemany), measured on a subset and
extrapolated. A benchmark, not a test: it prints figures and never fails on them.

    PYTHONPATH=src python benchmarks/bench_postgres.py [--events 1000000] [--songs 20000]
        [--url postgresql://postgres@127.0.0.1:5432/test] [--out /tmp/sparkify-bench]
        [--insert-subset 20000]

The input comes from ``sparkify.generate`` when that module exists; otherwise it is built here by
replicating the real sample (data/sparkify-sample): each copy of a log line gets its own userId,
sessionId and ts, each copy of a song file its own song_id and artist_id.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sparkify-sample"
DAY_MS = 86_400_000


def build_input(out: Path, events: int, songs: int) -> str:
    """Write ``events`` log lines and ``songs`` song files under ``out``; say how they were made."""
    try:
        from sparkify.generate import generate  # another branch's synthetic generator
    except ImportError:
        generate = None
    if generate is not None:
        generate(out, events=events, songs=songs, users=max(100, events // 1000), seed=0)
        return "sparkify.generate"
    _replicate_sample(out, events, songs)
    return "replicated sample"


def _replicate_sample(out: Path, events: int, songs: int) -> None:
    song_files = sorted((SAMPLE / "song_data").rglob("*.json"))
    records = [json.loads(p.read_text()) for p in song_files]
    for i in range(songs):
        rec = dict(records[i % len(records)])
        copy = i // len(records)
        if copy:  # a new song (and artist) id for every copy after the first
            rec["song_id"] = f"{rec['song_id'][:-4]}{copy:04d}"
            rec["artist_id"] = f"{rec['artist_id'][:-4]}{copy:04d}"
        path = out / "song_data" / "A" / rec["song_id"][2] / rec["song_id"][3] / f"TR{i:08d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rec, separators=(",", ":")))
    lines = []
    for p in sorted((SAMPLE / "log_data").rglob("*.json")):
        lines += [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    folder = out / "log_data" / "2018" / "11"
    folder.mkdir(parents=True, exist_ok=True)
    days: dict[int, list[str]] = {}
    for n in range(events):
        ev = dict(lines[n % len(lines)])
        copy = n // len(lines)
        if copy:
            if ev["userId"]:
                ev["userId"] = str(int(ev["userId"]) + 1000 * copy)
            ev["sessionId"] += 100_000 * copy
            ev["ts"] += copy  # a millisecond later per copy: new instants, same day
        day = (ev["ts"] - 1541030400000) // DAY_MS
        days.setdefault(day, []).append(json.dumps(ev, separators=(",", ":")))
    for day, day_lines in days.items():
        (folder / f"2018-11-{day + 1:02d}-events.json").write_text("\n".join(day_lines) + "\n")


def run_sparkify(url: str, source: Path, schema: str) -> dict:
    from sparkify import pipeline
    from sparkify.warehouse import connect

    with connect(url, schema=schema) as wh:
        started = time.perf_counter()
        pipeline.create_tables(wh)
        report_stage = pipeline.stage(wh, source)
        staged_at = time.perf_counter()
        rows = pipeline.transform(wh)
        checks = pipeline.check(wh)
        finished = time.perf_counter()
    return {
        "events": report_stage.results["events"].staged,
        "songs": report_stage.results["songs"].staged,
        "stage_s": staged_at - started,
        "run_s": finished - started,
        "rows": rows,
        "checks_failed": [c.check.name for c in checks if not c.passed],
    }


def row_by_row(url: str, source: Path, schema: str, subset: int) -> tuple[int, float]:
    """Stage ``subset`` events with one INSERT per row (the loader COPY replaces); return (rows, s)."""
    from sparkify.reader import JsonReader
    from sparkify.schema import STAGING_EVENTS
    from sparkify.sources import open_source

    import duckdb
    import tempfile

    src = open_source(source)
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as spool:
        result = JsonReader(con, Path(spool)).read("events", src, src.list("events"), "events")
    cols = STAGING_EVENTS.column_names
    rows = con.execute(f"select {', '.join(cols)} from {result.table} limit {subset}").fetchall()
    insert = (
        f'insert into "{schema}".staging_events ({", ".join(cols)}) '
        f"values ({', '.join(['%s'] * len(cols))})"
    )
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f'delete from "{schema}".staging_events')
        started = time.perf_counter()
        with pg.transaction(), pg.cursor() as cur:
            for row in rows:  # one statement and one round trip per row
                cur.execute(insert, row)
        seconds = time.perf_counter() - started
    return len(rows), seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--songs", type=int, default=20_000)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--out", type=Path, default=Path("/tmp/sparkify-bench"))
    ap.add_argument("--insert-subset", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true", help="reuse --out if it already holds the input")
    args = ap.parse_args(argv)

    marker = args.out / f".built-{args.events}-{args.songs}"
    if not (args.keep and marker.exists()):
        shutil.rmtree(args.out, ignore_errors=True)
        args.out.mkdir(parents=True)
        started = time.perf_counter()
        how = build_input(args.out, args.events, args.songs)
        marker.write_text(how)
        print(f"input: {args.events:,} events, {args.songs:,} songs ({how}) in {time.perf_counter() - started:.1f}s")
    else:
        print(f"input: reusing {args.out} ({marker.read_text()})")

    schema = "sparkify_bench"
    with psycopg.connect(args.url, autocommit=True) as pg:
        pg.execute(f'drop schema if exists "{schema}" cascade')
    try:
        r = run_sparkify(args.url, args.out, schema)
        n, s = row_by_row(args.url, args.out, schema, args.insert_subset)
    finally:
        with psycopg.connect(args.url, autocommit=True) as pg:
            pg.execute(f'drop schema if exists "{schema}" cascade')

    stage_eps = r["events"] / r["stage_s"]
    run_eps = r["events"] / r["run_s"]
    insert_eps = n / s
    print(f"sparkify run into {args.url} (schema {schema}):")
    print(f"  staged {r['events']:,} events + {r['songs']:,} songs in {r['stage_s']:.1f}s: {stage_eps:,.0f} events/s")
    print(f"  whole run (create, stage, transform, check) {r['run_s']:.1f}s: {run_eps:,.0f} events/s")
    print(f"  star rows: {', '.join(f'{k} {v:,}' for k, v in r['rows'].items())}; failed checks: {r['checks_failed'] or 'none'}")
    print(f"row-by-row INSERT: {n:,} events in {s:.1f}s: {insert_eps:,.0f} events/s "
          f"-> {r['events'] / insert_eps:.0f}s extrapolated for {r['events']:,} events")
    print(f"staging speed-up over row-by-row INSERT: {stage_eps / insert_eps:.1f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
