"""Benchmark: `sparkify run` into the local PostgreSQL server, and a row-by-row INSERT loader for scale.

Prints events per second for staging (parse with DuckDB + COPY FROM STDIN) and for the whole run,
and for loaders that parse each line with json.loads and INSERT one row at a time (a loop in one
transaction, executemany, and a loop committing each row), measured on a subset and extrapolated.
A benchmark, not a test: it prints figures and never fails on them. The machine's load average is
printed with them: on a shared machine, other work skews every figure.

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
import os
import resource
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


class Timer:
    """A pipeline progress sink that keeps how long each task took (the parse of each kind)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def start(self, task, total):
        self._started[task] = time.perf_counter()

    def advance(self, task, amount=1, nbytes=0):
        pass

    def finish(self, task):
        self.seconds[task] = time.perf_counter() - self._started[task]


def cpu_seconds(backend_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by this process (all its threads: DuckDB's too) and by the server
    backend serving our connection (read from /proc: the server runs on this machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return usage.ru_utime + usage.ru_stime, backend


def run_sparkify(url: str, source: Path, schema: str) -> dict:
    from sparkify import pipeline
    from sparkify.warehouse import connect

    timer = Timer()
    with connect(url, schema=schema) as wh:
        _, pid = wh.query("select pg_backend_pid()")
        started = time.perf_counter()
        pipeline.create_tables(wh)
        cpu_before = cpu_seconds(pid[0][0])
        report_stage = pipeline.stage(wh, source, progress=timer)
        cpu_after = cpu_seconds(pid[0][0])
        staged_at = time.perf_counter()
        rows = pipeline.transform(wh)
        checks = pipeline.check(wh)
        finished = time.perf_counter()
    return {
        "events": report_stage.results["events"].staged,
        "songs": report_stage.results["songs"].staged,
        "stage_s": staged_at - started,
        "run_s": finished - started,
        "parse_s": timer.seconds.get("stage songs", 0) + timer.seconds.get("stage events", 0),
        "stage_cpu": (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": rows,
        "checks_failed": [c.check.name for c in checks if not c.passed],
    }


def bare_copy(url: str, source: Path, schema: str) -> dict:
    """The floor of this design on this machine: the log files read by DuckDB's ``read_json`` with the
    staging columns' types declared (one typed parse, no record rules, no accounting, no songs) and
    streamed as CSV into ``COPY ... FROM STDIN`` of an UNLOGGED copy of ``staging_events`` (its index
    included), then analyzed. Sparkify's staging does all of this and more, so its events per second
    cannot beat this figure: a target above it is a target for the machine, not for sparkify."""
    import duckdb

    from sparkify.schema import STAGING_EVENTS
    from sparkify.staging.spool import DUCKDB_TYPE
    from sparkify.warehouse.pgcopy import csv_copy_sql, pipe_rows

    files = sorted(str(p) for p in (source / "log_data").rglob("*.json"))
    record = STAGING_EVENTS.record_columns
    types = ", ".join(f"'{c.source}': '{DUCKDB_TYPE[c.type]}'" for c in record)
    names = ", ".join(f'"{c.source}" as "{c.name}"' for c in record)
    con = duckdb.connect()
    con.execute(
        f"create temp view bare_events as select {names}, filename as source_file from read_json("
        f"[{', '.join(repr(f) for f in files)}], columns = {{{types}}}, format = 'newline_delimited', "
        "filename = true)"
    )
    table = f'"{schema}".bare_events'
    columns = ", ".join(f'"{c.name}"' for c in STAGING_EVENTS.columns)
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"drop table if exists {table}")
        pg.execute(f'create unlogged table {table} (like "{schema}".staging_events including all)')
        pid = pg.execute("select pg_backend_pid()").fetchone()[0]
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        with pg.transaction(), pg.cursor() as cur:
            with cur.copy(f"copy {table} ({columns}) from stdin (format csv)") as out:
                pipe_rows(con, lambda path: csv_copy_sql(STAGING_EVENTS, "bare_events", path), out.write)
            cur.execute(f"analyze {table}")
        seconds = time.perf_counter() - started
        cpu_after = cpu_seconds(pid)
        rows = pg.execute(f"select count(*) from {table}").fetchone()[0]
        pg.execute(f"drop table {table}")
    con.close()
    return {
        "events": rows,
        "seconds": seconds,
        "cpu": (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]),
    }


def row_by_row(url: str, source: Path, schema: str, subset: int, mode: str) -> tuple[int, float]:
    """The loader COPY replaces: parse each log line with json.loads and INSERT it, one row at a
    time, for the first ``subset`` events. Returns (rows, seconds), parsing included as in staging.

    mode: ``loop`` (one execute per row, one transaction), ``autocommit`` (one execute and one
    commit per row, as the classic Sparkify ETL does), ``executemany`` (psycopg batches the round
    trips, still one INSERT per row).
    """
    from sparkify.schema import STAGING_EVENTS

    cols = STAGING_EVENTS.columns
    insert = (
        f'insert into "{schema}".staging_events ({", ".join(c.name for c in cols)}) '
        f"values ({', '.join(['%s'] * len(cols))})"
    )
    files = sorted((source / "log_data").rglob("*.json"))
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f'delete from "{schema}".staging_events')
        started = time.perf_counter()
        n = 0
        batch = []
        with pg.cursor() as cur:
            if mode != "autocommit":
                cur.execute("begin")
            for path in files:
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        if not line.strip():
                            continue
                        rec = json.loads(line)
                        row = [rec.get(c.source) for c in cols]
                        if mode == "executemany":
                            batch.append(row)
                        else:
                            cur.execute(insert, row)
                        n += 1
                        if n == subset:
                            break
                if n == subset:
                    break
            if batch:
                cur.executemany(insert, batch)
            if mode != "autocommit":
                cur.execute("commit")
        seconds = time.perf_counter() - started
        pg.execute(f'delete from "{schema}".staging_events')
    return n, seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--songs", type=int, default=20_000)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--out", type=Path, default=Path("/tmp/sparkify-bench"))
    ap.add_argument("--insert-subset", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true", help="reuse --out if it already holds the input")
    ap.add_argument(
        "--schema", default="sparkify_bench", help="schema to load into (dropped before and after)"
    )
    args = ap.parse_args(argv)

    marker = args.out / f".built-{args.events}-{args.songs}"
    if not (args.keep and marker.exists()):
        shutil.rmtree(args.out, ignore_errors=True)
        args.out.mkdir(parents=True)
        started = time.perf_counter()
        how = build_input(args.out, args.events, args.songs)
        marker.write_text(how)
        print(
            f"input: {args.events:,} events, {args.songs:,} songs ({how}) in {time.perf_counter() - started:.1f}s"
        )
    else:
        print(f"input: reusing {args.out} ({marker.read_text()})")

    schema = args.schema
    with psycopg.connect(args.url, autocommit=True) as pg:
        pg.execute(f'drop schema if exists "{schema}" cascade')
    baselines = {}
    try:
        r = run_sparkify(args.url, args.out, schema)
        bare = bare_copy(args.url, args.out, schema)
        for mode, subset in (
            ("loop", args.insert_subset),
            ("executemany", args.insert_subset),
            ("autocommit", max(1, args.insert_subset // 4)),
        ):
            baselines[mode] = row_by_row(args.url, args.out, schema, subset, mode)
    finally:
        with psycopg.connect(args.url, autocommit=True) as pg:
            pg.execute(f'drop schema if exists "{schema}" cascade')

    stage_eps = r["events"] / r["stage_s"]
    run_eps = r["events"] / r["run_s"]
    print(f"sparkify run into {args.url} (schema {schema}), load average {os.getloadavg()[0]:.1f}:")
    print(
        f"  staged {r['events']:,} events + {r['songs']:,} songs in {r['stage_s']:.1f}s: {stage_eps:,.0f} events/s "
        f"(JSON parse in DuckDB {r['parse_s']:.1f}s, COPY and analyze {r['stage_s'] - r['parse_s']:.1f}s)"
    )
    print(f"  whole run (create, stage, transform, check) {r['run_s']:.1f}s: {run_eps:,.0f} events/s")
    client_cpu, server_cpu = r["stage_cpu"]
    print(
        f"  staging CPU: {client_cpu:.1f}s sparkify (DuckDB parse, CSV render) + {server_cpu:.1f}s PostgreSQL "
        f"backend (COPY, analyze) = {client_cpu + server_cpu:.1f}s -> with both cores free, "
        f"{r['events'] / (client_cpu + server_cpu):,.0f} to {2 * r['events'] / (client_cpu + server_cpu):,.0f} events/s"
    )
    bare_eps = bare["events"] / bare["seconds"]
    print(
        f"bare read_json + COPY of the events alone (typed parse, no record rules, no accounting, no songs): "
        f"{bare['events']:,} events in {bare['seconds']:.1f}s: {bare_eps:,.0f} events/s "
        f"(CPU {bare['cpu'][0]:.1f}s client + {bare['cpu'][1]:.1f}s server); "
        f"sparkify staging / bare = {stage_eps / bare_eps:.2f} of its speed"
    )
    print(f"  peak memory of this process: {r['peak_rss_mb']:,.0f} MB")
    print(
        f"  star rows: {', '.join(f'{k} {v:,}' for k, v in r['rows'].items())}; "
        f"failed checks: {', '.join(r['checks_failed']) or 'none'}"
    )
    print("row-by-row INSERT loaders (json.loads + one INSERT per event), measured on a subset:")
    for mode, (n, s) in baselines.items():
        eps = n / s
        print(
            f"  {mode:<12} {n:>7,} events in {s:5.1f}s: {eps:>9,.0f} events/s -> "
            f"{r['events'] / eps:6.0f}s extrapolated; staging is {stage_eps / eps:5.1f}x faster"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
