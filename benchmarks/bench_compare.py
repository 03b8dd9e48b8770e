"""Time `sparkify compare` on two DuckDB warehouses of N songplays that differ in one value.

    python benchmarks/bench_compare.py                 # 1,000,000 rows per side, in a temp dir
    python benchmarks/bench_compare.py --rows 5000000 --dir /tmp/bench-compare

Builds warehouse A (N synthetic plays), copies it to B, renumbers B's songplay_id (not compared) and
changes one location in B, then runs ``sparkify.compare.compare_warehouses`` in a child process and
prints its time and the child's peak RSS (``os.wait4``). Prints figures; nothing passes or fails.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

FILL = """
insert into songplays
select i + 1, timestamp '2018-11-01 00:00:00' + to_seconds(i), cast(i % 1000 as integer),
    case when i % 3 = 0 then 'free' else 'paid' end,
    case when i % 5 = 0 then null else 'SO' || lpad(cast(i % 20000 as varchar), 6, '0') end,
    case when i % 5 = 0 then null else 'AR' || cast(i % 700 as varchar) end,
    cast(i // 25 as integer), 'City ' || cast(i % 97 as varchar) || ', ST',
    'Mozilla/5.0 (build ' || cast(i % 13 as varchar) || ')'
from range({rows}) as t(i)
"""

CHILD = """
import json, sys, time
from sparkify import compare
from sparkify.warehouse import connect
started = time.perf_counter()
with connect(sys.argv[1]) as a, connect(sys.argv[2]) as b:
    results = compare.compare_warehouses(a, b)
print(json.dumps({"seconds": time.perf_counter() - started,
                  "differences": sum(r.only_left for r in results)}))
"""


def build(folder: Path, rows: int) -> tuple[str, str]:
    from sparkify import pipeline
    from sparkify.warehouse import connect

    a, b = folder / "a.duckdb", folder / "b.duckdb"
    for p in (a, b):
        p.unlink(missing_ok=True)
    with connect(f"duckdb:///{a}") as wh:
        pipeline.create_tables(wh)
        wh.execute(FILL.format(rows=rows))
    shutil.copy(a, b)
    with connect(f"duckdb:///{b}") as wh:
        wh.execute("update songplays set songplay_id = songplay_id + 100000000")
        wh.execute(f"update songplays set location = 'Elsewhere' where songplay_id = 100000000 + {rows // 2}")
    return f"duckdb:///{a}", f"duckdb:///{b}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to build the two files (default: a temp dir)"
    )
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-compare-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    a, b = build(folder, args.rows)
    print(f"rows per side: {args.rows:,} (built in {time.perf_counter() - started:.1f}s)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    child = subprocess.Popen([sys.executable, "-c", CHILD, a, b], stdout=subprocess.PIPE, env=env, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        print("the comparison failed", file=sys.stderr)
        return 1
    figures = json.loads(out)
    print(f"compare: {figures['seconds']:.1f}s, {args.rows * 2 / figures['seconds']:,.0f} rows/s read")
    print(f"peak RSS of the comparing process: {usage.ru_maxrss / 1024:.0f} MB")
    print(f"differences found: {figures['differences']}")
    if args.dir is None:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
