"""Time `sparkify run` on DuckDB against a bare DuckDB SQL pipeline doing the same work.

    python benchmarks/bench_duckdb.py                      # 1M events, 20k songs, in a temp dir
    python benchmarks/bench_duckdb.py --data /tmp/bench    # generate there once, reuse next time

Both sides load the same generated files into a fresh DuckDB file:

* **sparkify**: ``sparkify.pipeline.run`` on ``sparkify.warehouse.connect("duckdb:///...")`` --
  create tables, stage (with its record accounting), build the star schema, run the checks.
* **bare**: ``read_json`` over the same files into ``staging_events`` and ``staging_songs``, then
  ``create table ... as`` for the five star tables, with the rules of sparkify's own
  ``sql/default/insert_*.sql`` (rewritten from INSERT to CTAS), no checks, no accounting.

Each side runs in its own subprocess; its peak RSS comes from ``os.wait4`` (that child only), its
time from the child itself (the work, without interpreter start-up). This is a script that prints
figures, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

SIDES = ("sparkify", "bare", "bare-text")
"""sparkify; bare DuckDB with read_json everywhere; bare with song files through read_text."""

STAR_ORDER = ("users", "songs", "artists", "songplays", "time")
"""Build order for the bare side: songplays reads songs (for artist_id), time reads songplays."""

EVENT_COLUMNS = [  # (JSON key, staging column, DuckDB type), as in sparkify's schema.py
    ("artist", "artist", "VARCHAR"),
    ("auth", "auth", "VARCHAR"),
    ("firstName", "first_name", "VARCHAR"),
    ("gender", "gender", "VARCHAR"),
    ("itemInSession", "item_in_session", "INTEGER"),
    ("lastName", "last_name", "VARCHAR"),
    ("length", "length", "DOUBLE"),
    ("level", "level", "VARCHAR"),
    ("location", "location", "VARCHAR"),
    ("method", "method", "VARCHAR"),
    ("page", "page", "VARCHAR"),
    ("registration", "registration", "DOUBLE"),
    ("sessionId", "session_id", "INTEGER"),
    ("song", "song", "VARCHAR"),
    ("status", "status", "INTEGER"),
    ("ts", "ts", "BIGINT"),
    ("userAgent", "user_agent", "VARCHAR"),
    ("userId", "user_id", "VARCHAR"),
]
SONG_COLUMNS = [
    ("num_songs", "num_songs", "INTEGER"),
    ("artist_id", "artist_id", "VARCHAR"),
    ("artist_latitude", "artist_latitude", "DOUBLE"),
    ("artist_longitude", "artist_longitude", "DOUBLE"),
    ("artist_location", "artist_location", "VARCHAR"),
    ("artist_name", "artist_name", "VARCHAR"),
    ("song_id", "song_id", "VARCHAR"),
    ("title", "title", "VARCHAR"),
    ("duration", "duration", "DOUBLE"),
    ("year", "year", "INTEGER"),
]


# -- the bare pipeline ----------------------------------------------------------------------------


def _read_json(glob: str, columns) -> str:
    spec = ", ".join(f"\"{key}\": '{typ}'" for key, _, typ in columns)
    select = ", ".join(f'"{key}" as {name}' for key, name, _ in columns)
    return f"select {select} from read_json('{glob}', columns = {{{spec}}}, format = 'newline_delimited')"


def _ctas(table: str) -> str:
    """sparkify's insert_<table>.sql (``default/``, with the parts it includes) as ``create table
    <table> as``: same rules, no INSERT."""
    sys.path.insert(0, str(SRC))
    from sparkify import sql as sqlfiles

    text = sqlfiles.source(f"insert_{table}")
    text = re.sub(r"@ts_to_timestamp\(([^()]*)\)", r"epoch_ms(\1)", text)
    text = re.sub(r"@scoped\((\w+),[^()]*\)", r"\1", text)  # a full build reads all of the table
    text = re.sub(r"\s*\+ @id_offset\([^()]*\)", "", text)  # and numbers ids from 1
    assert "@" not in text, f"insert_{table}.sql uses a macro the bare side does not expand"
    text, n = re.subn(r"insert into \w+ \([^)]*\)\s*", f"create table {table} as\n", text, count=1)
    assert n == 1, f"insert_{table}.sql does not start with an insert"
    return text


def _read_text(glob: str, columns) -> str:
    """The same rows through ``read_text`` + ``from_json``: DuckDB's ``read_json`` pays a large
    per-file cost (0.1-0.8 ms a file on a 2-core VM), which dominates on 20k one-record song files."""
    struct = json.dumps({key: typ for key, _, typ in columns}).replace("'", "''")
    select = ", ".join(f'r."{key}" as {name}' for key, name, _ in columns)
    return f"select {select} from (select from_json(content, '{struct}') as r from read_text('{glob}'))"


def bare_statements(data: Path, songs_as_text: bool = False) -> list[tuple[str, str]]:
    songs = (_read_text if songs_as_text else _read_json)(f"{data}/song_data/**/*.json", SONG_COLUMNS)
    return [
        (
            "staging_events",
            "create table staging_events as " + _read_json(f"{data}/log_data/**/*.json", EVENT_COLUMNS),
        ),
        ("staging_songs", "create table staging_songs as " + songs),
        *[(t, _ctas(t)) for t in STAR_ORDER],
    ]


def child_bare(data: Path, db: Path, songs_as_text: bool = False) -> dict:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(db))
    phases = {}
    for name, sql in bare_statements(data, songs_as_text):
        t = time.perf_counter()
        con.execute(sql)
        phases[name] = time.perf_counter() - t
    rows = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in STAR_ORDER}
    con.close()
    return {"seconds": time.perf_counter() - started, "phases": phases, "rows": rows}


# -- the sparkify side ----------------------------------------------------------------------------


class TimedConnection:
    """The reader's DuckDB connection, noting each statement in ``stamps`` (the reader does not go
    through the warehouse's tracer)."""

    def __init__(self, con, stamps: list[tuple[float, str]]):
        self._con = con
        self._stamps = stamps

    def execute(self, sql, *args):
        self._stamps.append((time.perf_counter(), "reader: " + " ".join(sql.split())[:82]))
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


class Timeline:
    """A pipeline Progress that remembers when each task started and finished, and marks both in
    ``stamps`` (where the warehouse tracer also notes each statement)."""

    def __init__(self, stamps: list[tuple[float, str]]):
        self.spans: dict[str, list[float]] = {}
        self.stamps = stamps

    def start(self, task, total):
        now = time.perf_counter()
        self.spans[task] = [now, 0.0]
        self.stamps.append((now, f"[{task}: reading files]"))

    def advance(self, task, amount=1, nbytes=0):
        pass

    def finish(self, task):
        now = time.perf_counter()
        self.spans[task][1] = now
        self.stamps.append((now, f"[after {task}]"))


def child_sparkify(data: Path, db: Path, profile: Path | None) -> dict:
    sys.path.insert(0, str(SRC))
    from sparkify import pipeline
    from sparkify.warehouse import connect

    statements: list[tuple[float, str]] = []
    timeline = Timeline(statements)
    started = time.perf_counter()
    with connect(f"duckdb:///{db}") as wh:
        wh.tracer = lambda sql: statements.append((time.perf_counter(), " ".join(sql.split())[:90]))
        reader_connection = wh.reader_connection
        wh.reader_connection = lambda: TimedConnection(reader_connection(), statements)
        if profile:
            import cProfile

            prof = cProfile.Profile()
            report = prof.runcall(pipeline.run, wh, str(data), progress=timeline)
            prof.dump_stats(str(profile))
        else:
            report = pipeline.run(wh, str(data), progress=timeline)
    seconds = time.perf_counter() - started
    # the run cut at each task's start and end: tasks, and what happens between them
    phases: dict[str, float] = {}
    at, previous = started, None
    for task, (begin, end) in sorted(timeline.spans.items(), key=lambda kv: kv[1][0]):
        phases[f"before {task}" if previous is None else f"between {previous} and {task}"] = begin - at
        phases[task] = end - begin
        at, previous = end, task
    phases[f"after {previous}"] = started + seconds - at
    # each statement (or task mark) until the next one: statement times, and what runs between
    stamps = [*statements, (started + seconds, "")]
    slow = sorted(((b[0] - a[0], a[1]) for a, b in pairwise(stamps)), reverse=True)[:12]
    return {
        "seconds": seconds,
        "phases": phases,
        "rows": dict(report.rows),
        "checks_failed": [c.check.name for c in report.checks if not c.passed],
        "slow_statements": slow,
    }


# -- where the events scan's time goes -------------------------------------------------------------


def child_layers(data: Path) -> dict:
    """Each layer of sparkify's events scan as its own statement over the same log files (one
    ``create temp table ... as`` each, in one fresh in-memory DuckDB): the lines as JSON objects,
    then their keys, then the typed fields, then sparkify's whole validating scan (as the reader
    sends it), and the bare pipeline's typed ``read_json`` beside them. Wall and CPU seconds each."""
    import resource

    sys.path.insert(0, str(SRC))
    import duckdb

    from sparkify.schema import STAGING_EVENTS
    from sparkify.sources import open_source
    from sparkify.staging.reader import _SCAN_OPTIONS, JsonReader, _sql_list

    files = sorted(str(p) for p in (data / "log_data").rglob("*.json"))
    objects = f"read_json_objects({_sql_list(files)}, {_SCAN_OPTIONS})"
    struct = json.dumps(
        {c.source: "VARCHAR" if c.type == "text" else "JSON" for c in STAGING_EVENTS.record_columns}
    )
    layers = {
        "read_json_objects": f"select json, filename from {objects}",
        "+ json_keys": f"select json_keys(json) as keys, filename from {objects}",
        "+ json_transform": f"select unnest(json_transform(json, '{struct}')), filename from {objects}",
        "bare read_json, typed": _read_json(str(data / "log_data" / "**" / "*.json"), EVENT_COLUMNS),
    }
    out: dict[str, tuple[float, float]] = {}

    def timed(con, sql: str) -> tuple[float, float]:
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        con.execute(sql)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return time.perf_counter() - started, cpu

    for name, select in layers.items():
        con = duckdb.connect()
        out[name] = timed(con, f"create temp table t as {select}")
        con.close()

    class Scan:  # the reader's connection, timing its one scan statement
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            if "__raw as select" in sql:
                out["sparkify's whole scan"] = timed(self.con, sql)
                return self.con
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    source = open_source(str(data))
    with tempfile.TemporaryDirectory(prefix="sparkify-bench-") as spool:
        JsonReader(Scan(duckdb.connect()), Path(spool)).read("events", source, source.list("events"), "ev")
    order = [
        "read_json_objects",
        "+ json_keys",
        "+ json_transform",
        "sparkify's whole scan",
        "bare read_json, typed",
    ]
    return {"layers": [(name, *out[name]) for name in order]}


# -- the parent -----------------------------------------------------------------------------------


def run_child(args: list[str]) -> tuple[dict, float, float, float]:
    """Run this script as a child; return its JSON result, wall seconds, CPU seconds (user + system)
    and peak RSS (MB), all of that child only."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"child {' '.join(args)} failed with exit code {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return json.loads(out.strip().splitlines()[-1]), wall, cpu, usage.ru_maxrss / 1024


def has_data(data: Path) -> bool:
    return (data / "song_data").is_dir() and (data / "log_data").is_dir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--songs", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", type=Path, help="Folder for the generated data; reused when it already holds it."
    )
    parser.add_argument("--repeat", type=int, default=1, help="Runs per side; the fastest counts.")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="cProfile the sparkify run into FILE.")
    parser.add_argument(
        "--scan-layers",
        action="store_true",
        help="Also time each layer of the events scan as its own statement (where the scan's time goes).",
    )
    parser.add_argument("--child", choices=(*SIDES, "layers"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "layers":
            result = child_layers(args.data)
        elif args.child == "sparkify":
            result = child_sparkify(args.data, args.db, args.profile)
        else:
            result = child_bare(args.data, args.db, songs_as_text=args.child == "bare-text")
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="sparkify-bench-") as tmp:
        data = args.data or Path(tmp) / "data"
        if has_data(data):
            print(f"data: reusing {data}")
        else:
            started = time.perf_counter()
            gen = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sparkify",
                    "generate",
                    "--out",
                    str(data),
                    "--events",
                    str(args.events),
                    "--songs",
                    str(args.songs),
                    "--users",
                    str(args.users),
                    "--seed",
                    str(args.seed),
                    "--quiet",
                ],
                env={**os.environ, "PYTHONPATH": str(SRC)},
                stdout=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(gen.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("sparkify generate failed")
            print(
                f"data: generated into {data} in {time.perf_counter() - started:.1f} s "
                f"(peak RSS {usage.ru_maxrss / 1024:.0f} MB)"
            )
        events = 0
        for path in (data / "log_data").rglob("*.json"):
            text = path.read_bytes()
            events += text.count(b"\n") + (not text.endswith(b"\n"))
        songs = sum(1 for _ in (data / "song_data").rglob("*.json"))
        log_files = sum(1 for _ in (data / "log_data").rglob("*.json"))
        print(f"      {songs:,} song files, {log_files:,} log files, {events:,} events")

        best: dict[str, tuple] = {}
        for i in range(args.repeat):
            # alternate the order, so neither side always runs on the warmer cache
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                db = Path(tmp) / f"{side}-{i}.duckdb"
                extra = ["--profile", str(args.profile)] if side == "sparkify" and args.profile else []
                result, wall, cpu, rss = run_child(
                    ["--child", side, "--data", str(data), "--db", str(db), *extra]
                )
                db.unlink(missing_ok=True)
                Path(f"{db}.wal").unlink(missing_ok=True)
                print(
                    f"  run {i + 1} {side:10} {result['seconds']:7.2f} s  cpu {cpu:6.2f} s  peak {rss:6.0f} MB"
                )
                if side not in best or result["seconds"] < best[side][0]["seconds"]:
                    best[side] = (result, wall, cpu, max(rss, best.get(side, (None, 0, 0, 0))[3]))
        layers = (
            run_child(["--child", "layers", "--data", str(data)])[0]["layers"] if args.scan_layers else []
        )

    s, b, t = best["sparkify"], best["bare"], best["bare-text"]
    print()
    print(
        f"fastest of {args.repeat} run(s) per side; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':26}{'sparkify':>11}{'bare':>11}{'bare-text':>11}")
    print(f"{'time (s)':26}" + "".join(f"{x[0]['seconds']:>11.2f}" for x in (s, b, t)))
    print(f"{'time incl. start-up (s)':26}" + "".join(f"{x[1]:>11.2f}" for x in (s, b, t)))
    print(f"{'CPU time (s)':26}" + "".join(f"{x[2]:>11.2f}" for x in (s, b, t)))
    print(f"{'events per second':26}" + "".join(f"{events / x[0]['seconds']:>11,.0f}" for x in (s, b, t)))
    print(f"{'peak RSS (MB)':26}" + "".join(f"{x[3]:>11.0f}" for x in (s, b, t)))
    print(f"ratio sparkify / bare:      {s[0]['seconds'] / b[0]['seconds']:.2f} (target <= 0.6)")
    print(
        f"ratio sparkify / bare-text: {s[0]['seconds'] / t[0]['seconds']:.2f} "
        "(bare with song files through read_text: the strongest baseline)"
    )
    print()
    for name, x in (("sparkify phases", s), ("bare", b), ("bare-text", t)):
        print(f"{name + ' (s):':22}" + ", ".join(f"{k} {v:.2f}" for k, v in x[0]["phases"].items()))
    print("slowest sparkify steps, each statement or [task mark] until the next (s):")
    for seconds, sql in s[0]["slow_statements"]:
        print(f"  {seconds:7.2f}  {sql}")
    same = s[0]["rows"] == b[0]["rows"] == t[0]["rows"]
    print(
        f"star rows: sparkify {s[0]['rows']}; bare and bare-text {'the same' if same else (b[0]['rows'], t[0]['rows'])}"
    )
    if s[0]["checks_failed"]:
        print(f"sparkify checks FAILED: {', '.join(s[0]['checks_failed'])}")
    if layers:
        print("where the events scan's time goes (each layer its own statement over the log files, s):")
        for name, wall, cpu in layers:
            print(f"  {name:24} wall {wall:6.2f}  cpu {cpu:6.2f}")
    if args.profile:
        print(f"profile: {args.profile} (python -m pstats {args.profile})")


if __name__ == "__main__":
    main()
