"""How sparkify scales: fresh build, peak RSS and one day's increment, against the bare pipeline.

    python benchmarks/bench_scale.py                                 # 100k and 1M events, DuckDB + PostgreSQL
    python benchmarks/bench_scale.py --sizes 10m --engines duckdb    # the 10M-event warehouse
    python benchmarks/bench_scale.py --sizes 100k --data /tmp/scale  # data generated once, reused

For each size (100k events + 2k songs, 1M + 20k, 10M + 100k; ``sparkify generate``, seed 0) the newest
day file is held back. Then, each in its own child process (peak RSS and CPU from ``os.wait4``):

* ``fresh``: ``pipeline.run`` into an empty warehouse (a new DuckDB file, a new PostgreSQL schema);
* ``day``: the held-back day put back, ``pipeline.run`` again on that warehouse (incremental);
* ``bare``: DuckDB: ``read_json`` + ``create table as`` with the same rules (bench_duckdb.py's bare
  side); PostgreSQL: the star tables built as ``create table as`` from sparkify's staging tables,
  the transform's rules as bare SQL (no JSON parse: PostgreSQL cannot read it).

It prints wall and CPU seconds, peak RSS, events/s and the ratios; on PostgreSQL also the CPU seconds
of the server backend that served the run (``/proc/<pid>/stat``, when the server runs on this machine).
``SPARKIFY_BENCH_TRACE=file`` appends each run's slowest statements (wall seconds until the next one)
to ``file``. Nothing passes or fails.
``--memory-limit`` is passed to DuckDB (``duckdb:///file?memory_limit=...``; for PostgreSQL to the
client-side parser, ``postgresql://...?memory_limit=...``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(REPO / "benchmarks"))

SIZES = {"100k": (100_000, 2_000, 200), "1m": (1_000_000, 20_000, 1_000), "10m": (10_000_000, 100_000, 5_000)}
"""size name -> (events, songs, users)."""

PG_URL = os.environ.get("SPARKIFY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# -- children -------------------------------------------------------------------------------------


def child_run(url: str, source: str, schema: str | None) -> dict:
    """One ``pipeline.run``; its wall and CPU seconds (this process only) and whether it was incremental."""
    from sparkify import pipeline
    from sparkify.warehouse import connect

    class Spans:
        """Progress that keeps when each task started and finished."""

        def __init__(self):
            self.spans: dict[str, list[float]] = {}

        def start(self, task, total):
            self.spans[task] = [time.perf_counter(), 0.0]

        def advance(self, task, amount=1, nbytes=0):
            pass

        def finish(self, task):
            self.spans[task][1] = time.perf_counter()

    spans = Spans()
    trace = os.environ.get("SPARKIFY_BENCH_TRACE")  # a file: each statement's wall seconds, slowest first
    timings: list[tuple[float, str]] = []
    last: list = [None, 0.0]

    def tracer(statement: str) -> None:
        now = time.perf_counter()
        if last[0] is not None:
            timings.append((now - last[1], last[0]))
        last[:] = [statement, now]

    started, cpu = time.perf_counter(), time.process_time()
    with connect(url, schema=schema) if schema else connect(url) as wh:
        backend = _backend_pid(wh)
        server_before = _server_cpu(backend)
        if trace:
            wh.tracer = tracer
        report = pipeline.run(wh, source, progress=spans)
        wh.tracer = None
        server = _server_cpu(backend) - server_before if backend else None
    if trace and last[0] is not None:
        timings.append((time.perf_counter() - last[1], last[0]))
        with open(trace, "a") as out:
            out.write(f"# {source} {'(day)' if report.stage.incremental else '(fresh)'}\n")
            for seconds, statement in sorted(timings, reverse=True)[:25]:
                out.write(f"{seconds:8.3f}  {' '.join(statement.split())[:300]}\n")
    transform = spans.spans.get("transform", [0.0, 0.0])
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "transform": transform[1] - transform[0],
        "events": report.stage.results["events"].staged,
        "incremental": report.stage.incremental,
        "rows": report.rows,
        "failed": [c.check.name for c in report.checks_failed],
        "server_cpu": server,
    }


def _backend_pid(wh) -> int | None:
    """The PostgreSQL server process serving ``wh`` when it runs on this machine (its CPU is readable
    in ``/proc``), else None."""
    if wh.name != "postgres":
        return None
    pid = int(wh.query("select pg_backend_pid()")[1][0][0])
    return pid if os.path.exists(f"/proc/{pid}/stat") else None


def _server_cpu(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``), 0 without one."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_bare_pg(url: str, schema: str) -> dict:
    """The transform's rules as bare ``create table as`` over sparkify's staging tables in ``schema``,
    each table given the primary key sparkify declares and analyzed (the next one's plan uses both)."""
    import psycopg

    from sparkify import sql as sqlfiles
    from sparkify.schema import TABLES
    from sparkify.warehouse.postgres import PostgresWarehouse

    bare = f"{schema}_bare"
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as con:
        pid = int(con.execute("select pg_backend_pid()").fetchone()[0])
        backend = pid if os.path.exists(f"/proc/{pid}/stat") else None
        server_before = _server_cpu(backend)
        con.execute(f'drop schema if exists "{bare}" cascade')
        con.execute(f'create schema "{bare}"')
        con.execute(f'set search_path to "{bare}", "{schema}"')
        for table in ("users", "songs", "artists", "songplays", "time"):
            text = sqlfiles.load(f"insert_{table}", (), {**sqlfiles.FULL_SCOPE, **PostgresWarehouse.macros})
            _, body = text.split(f"insert into {table} (", 1)
            body = body.split(")", 1)[1]
            con.execute(f'create table "{bare}"."{table}" as {body}')
            # the primary key sparkify's table declares (songplays' join to songs looks songs up by it),
            # and fresh statistics, as sparkify takes: the next table's plan needs both
            key = ", ".join(TABLES[table].primary_key)
            con.execute(f'alter table "{bare}"."{table}" add primary key ({key})')
            con.execute(f'analyze "{bare}"."{table}"')
        seconds = time.perf_counter() - started
        server = _server_cpu(backend) - server_before if backend else None
        con.execute(f'drop schema "{bare}" cascade')
    return {"seconds": seconds, "server_cpu": server}


def child_bare_duckdb(data: str, db: str) -> dict:
    import bench_duckdb

    return bench_duckdb.child_bare(Path(data), Path(db), songs_as_text=True)


def spawn(*args: str) -> dict:
    """Run this script as a child; its JSON result plus wall, cpu (user + system, whole child) and rss (MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"child {' '.join(args)} failed")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(
        wall=time.perf_counter() - started,
        child_cpu=usage.ru_utime + usage.ru_stime,
        rss=usage.ru_maxrss / 1024,
    )
    return result


def _server(result: dict) -> str:
    """``; server CPU N s`` when the child read its PostgreSQL backend's CPU, else nothing."""
    server = result.get("server_cpu")
    return "" if server is None else f"; server CPU {server:.1f} s"


# -- the parent -----------------------------------------------------------------------------------


def prepare(root: Path, size: str) -> tuple[Path, Path]:
    """Generate the data of ``size`` under ``root`` (once); return the source without its newest day,
    and that day's file (kept beside the source)."""
    events, songs, users = SIZES[size]
    data = root / size
    held = root / f"{size}-newest-day.json"
    if not held.exists():
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sparkify",
                "generate",
                "--out",
                str(data),
                "--events",
                str(events),
                "--songs",
                str(songs),
                "--users",
                str(users),
                "--seed",
                "0",
                "--quiet",
            ],
            env={**os.environ, "PYTHONPATH": str(SRC)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        newest = sorted((data / "log_data").rglob("*.json"))[-1]
        shutil.move(newest, held)
        (root / f"{size}-newest-day.path").write_text(str(newest.relative_to(data)))
        print(f"{size}: generated in {time.perf_counter() - started:.0f} s")
    return data, held


def bench(size: str, engine: str, data: Path, held: Path, memory_limit: str | None, tmp: Path) -> None:
    day_path = data / (held.parent / f"{size}-newest-day.path").read_text()
    schema = None
    if engine == "duckdb":
        db = tmp / f"{size}.duckdb"
        url = f"duckdb:///{db}" + (f"?memory_limit={memory_limit}" if memory_limit else "")
    else:
        url, schema = PG_URL, f"sparkify_scale_{uuid.uuid4().hex[:8]}"
        if memory_limit:  # the client-side parser's limit
            url += ("&" if "?" in url else "?") + f"memory_limit={memory_limit}"
    print(f"{size} {engine}:", flush=True)
    try:
        fresh = spawn("run", url, str(data), schema or "")
        events = fresh["events"]
        print(
            f"  fresh build  {fresh['seconds']:7.1f} s wall ({fresh['wall']:.1f} s with start-up), "
            f"{fresh['child_cpu']:7.1f} s CPU, peak RSS {fresh['rss']:7.0f} MB, {events:,} events, "
            f"{events / fresh['seconds']:9,.0f} events/s (transform {fresh['transform']:.1f} s)"
            f"{_server(fresh)}"
            f"{'' if not fresh['failed'] else ' FAILED CHECKS ' + ', '.join(fresh['failed'])}",
            flush=True,
        )
        shutil.copy(held, day_path)
        try:
            day = spawn("run", url, str(data), schema or "")
        finally:
            day_path.unlink()
        print(
            f"  one more day {day['seconds']:7.1f} s wall, {day['child_cpu']:7.1f} s CPU, peak RSS {day['rss']:7.0f} MB, "
            f"{day['events']:,} new events, {'incremental' if day['incremental'] else 'REBUILT'}; "
            f"day / fresh {day['seconds'] / fresh['seconds']:.3f} wall, {day['child_cpu'] / fresh['child_cpu']:.3f} CPU"
            f"{_server(day)}"
            + (
                f", {(day['child_cpu'] + day['server_cpu']) / (fresh['child_cpu'] + fresh['server_cpu']):.3f} client + server CPU"
                if day.get("server_cpu") is not None and fresh.get("server_cpu") is not None
                else ""
            ),
            flush=True,
        )
        if engine == "duckdb":
            bare = spawn("bare-duckdb", str(data), str(tmp / f"{size}-bare.duckdb"))
        else:
            bare = spawn("bare-pg", PG_URL, schema)
        bare_what = "read_json + CTAS" if engine == "duckdb" else "star CTAS over staging (transform only)"
        print(
            f"  bare         {bare['seconds']:7.1f} s wall, {bare['child_cpu']:7.1f} s CPU, peak RSS {bare['rss']:7.0f} MB"
            f"{_server(bare)}  ({bare_what}); fresh / bare {fresh['seconds'] / bare['seconds']:.2f}"
            + (
                f", transform / bare {fresh['transform'] / bare['seconds']:.2f}"
                if engine == "postgres"
                else ""
            ),
            flush=True,
        )
    finally:
        if engine == "duckdb":
            for p in tmp.glob(f"{size}*.duckdb*"):
                p.unlink()
        else:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as con:
                con.execute(f'drop schema if exists "{schema}" cascade')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["100k", "1m"], help="100k, 1m, 10m, or EVENTS:SONGS:USERS"
    )
    parser.add_argument(
        "--engines", nargs="+", default=["duckdb", "postgres"], choices=["duckdb", "postgres"]
    )
    parser.add_argument(
        "--data", type=Path, help="where generated data is kept and reused (default: a temp dir)"
    )
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for sparkify's runs, e.g. 1GB")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "run":
            url, source, *schema = rest
            result = child_run(url, source, (schema or [""])[0] or None)
        elif kind == "bare-duckdb":
            result = child_bare_duckdb(*rest)
        else:
            result = child_bare_pg(*rest)
        print(json.dumps(result))
        return
    for size in args.sizes:
        if size not in SIZES:
            events, songs, users = (int(x) for x in size.split(":"))
            SIZES[size] = (events, songs, users)
    with tempfile.TemporaryDirectory(prefix="sparkify-scale-") as tmp:
        root = args.data or Path(tmp) / "data"
        root.mkdir(parents=True, exist_ok=True)
        print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores")
        for size in args.sizes:
            data, held = prepare(root, size)
            for engine in args.engines:
                bench(size, engine, data, held, args.memory_limit, Path(tmp))


if __name__ == "__main__":
    main()
