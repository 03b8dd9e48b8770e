"""Time `sparkify stage` from ``s3://`` against the fastest plain boto3 loop over the same objects.

    python benchmarks/bench_s3.py                      # the full real sample, 3 rounds
    python benchmarks/bench_s3.py --repeat 5 --concurrency 16 32 64

The real sample (data/sparkify-sample: 14,896 song objects, 30 log objects and log_json_path.json
beside them, as in s3://udacity-dend) is put in moto's standalone S3 server, running on 127.0.0.1 in a
process of its own (so the server's CPU does not share the measured process's GIL). Then, each in a
fresh subprocess, in alternating order, ``--repeat`` times:

* **sparkify**: ``open_source("s3://.../sample", s3_concurrency=N)`` and ``pipeline.stage`` on a new
  DuckDB file after ``create_tables``: list, GET, parse, type, account, load staging, in one
  transaction.
* **boto3**: the fastest plain loop this script can write: ``ThreadPoolExecutor.map`` of
  ``get_object(...)["Body"].read()`` over the keys (given to it in advance: no listing), bytes kept in
  memory, nothing else; with one client whose connection pool is as large as the thread pool
  (``boto3``) or a client per thread (``boto3-per-thread``), at several concurrencies. The fastest
  counts.

Each time is measured inside the child (the work, without interpreter start-up) and includes making
the boto3 client. The best of the rounds counts. It prints both, and the ratio sparkify / boto3 (the
target is <= 1.25). This is a script that prints figures, not a test: nothing here passes or fails.

moto's server is slow per request (~2-3 ms of Python each), so on this loopback set-up the server is a
large part of both times; ``--fast-dispatch`` memoizes a per-request directory listing in moto's
request dispatcher, making the server about twice as fast, so that the client side weighs more.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
SAMPLE = REPO / "data" / "sparkify-sample"
BUCKET = "sparkify-bench"
PREFIX = "sample"

ENV = {
    "AWS_ACCESS_KEY_ID": "bench-access-key",
    "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/sparkify-bench/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/sparkify-bench/credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""Fake credentials: boto3 never looks for real ones."""

SERVER = textwrap.dedent(
    """
    import functools, logging, sys, time
    from pathlib import Path

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    root, bucket, prefix, fast = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    if fast:
        # moto lists its own package directory on every request to route it; memoize that listing.
        import moto.backends

        original = moto.backends.list_of_moto_modules
        moto.backends.list_of_moto_modules = functools.lru_cache(maxsize=None)(lambda: list(original()))
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port
    paths = sorted(p for p in root.rglob("*.json") if p.is_file())
    try:  # straight into the backend: 15,000 HTTP PUTs would take a minute
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        backend.create_bucket(bucket, "us-east-1")
        for p in paths:
            backend.put_object(bucket, f"{prefix}/{p.relative_to(root).as_posix()}", p.read_bytes())
    except Exception:
        import boto3
        from concurrent.futures import ThreadPoolExecutor
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", config=Config(max_pool_connections=32))
        client.create_bucket(Bucket=bucket)
        put = lambda p: client.put_object(Bucket=bucket, Key=f"{prefix}/{p.relative_to(root).as_posix()}", Body=p.read_bytes())
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(put, paths))
    print(f"{port} {len(paths)}", flush=True)
    sys.stdin.read()  # serve until the benchmark closes our stdin
    """
)

SPARKIFY = textwrap.dedent(
    """
    import json, sys, tempfile, time
    from sparkify import pipeline
    from sparkify.sources import open_source
    from sparkify.warehouse import connect

    uri, concurrency = sys.argv[1], int(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        wh = connect(f"duckdb:///{tmp}/bench.duckdb")
        pipeline.create_tables(wh)
        started = time.perf_counter()
        src = open_source(uri, s3_concurrency=concurrency)
        report = pipeline.stage(wh, src)
        seconds = time.perf_counter() - started
        wh.close()
    files = sum(len(p.to_read) for p in report.plans.values())
    print(json.dumps({"seconds": seconds, "objects": files, "records": report.read, "staged": report.staged}))
    """
)

BOTO3 = textwrap.dedent(
    """
    import json, sys, threading, time
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config

    bucket, keys_file, concurrency, per_thread = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    keys = json.loads(open(keys_file).read())
    started = time.perf_counter()
    if per_thread:  # a client per thread: no shared connection pool
        local = threading.local()

        def get(key):
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = boto3.session.Session().client("s3")
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    else:  # one client, its pool as large as the thread pool
        client = boto3.session.Session().client("s3", config=Config(max_pool_connections=concurrency))

        def get(key):
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    with ThreadPoolExecutor(concurrency) as pool:
        total = sum(map(len, pool.map(get, keys)))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "objects": len(keys), "bytes": total}))
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(fast: bool, root: Path = SAMPLE) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(root), BUCKET, PREFIX, "1" if fast else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )
    line = proc.stdout.readline().split()
    if len(line) != 2:
        proc.kill()
        raise SystemExit("the moto server did not start")
    return proc, f"http://127.0.0.1:{line[0]}", int(line[1])


def child(code: str, *args: str, endpoint: str) -> dict:
    env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": endpoint, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest counts (default 3)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[32], help="sparkify's s3_concurrency values"
    )
    parser.add_argument(
        "--loop-concurrency",
        type=int,
        nargs="+",
        default=[8, 16, 32, 64],
        help="the boto3 loop's thread counts",
    )
    parser.add_argument(
        "--fast-dispatch", action="store_true", help="memoize moto's per-request module listing"
    )
    parser.add_argument(
        "--data", type=Path, default=SAMPLE, help="the source put into the bucket (default: the sample)"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    server, endpoint, objects = start_server(args.fast_dispatch, args.data)
    try:
        print(
            f"moto server at {endpoint}: {objects} objects put in {time.perf_counter() - t0:.1f}s"
            f"{' (fast dispatch)' if args.fast_dispatch else ''}"
        )
        root = args.data
        keys = sorted(
            f"{PREFIX}/{p.relative_to(root).as_posix()}"
            for folder in ("song_data", "log_data")
            for p in (root / folder).rglob("*.json")
        )
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(keys, fh)
            keys_file = fh.name
        uri = f"s3://{BUCKET}/{PREFIX}"
        times: dict[str, list[float]] = {}
        sides = [("sparkify", c) for c in args.concurrency]
        sides += [(loop, c) for c in args.loop_concurrency for loop in ("boto3", "boto3-per-thread")]
        for round_no in range(args.repeat):
            for side, c in sides if round_no % 2 == 0 else reversed(sides):
                if side == "sparkify":
                    r = child(SPARKIFY, uri, str(c), endpoint=endpoint)
                    assert r["objects"] == len(keys), r
                else:
                    per_thread = "1" if side.endswith("per-thread") else "0"
                    r = child(BOTO3, BUCKET, keys_file, str(c), per_thread, endpoint=endpoint)
                    assert r["objects"] == len(keys), r
                times.setdefault(f"{side} x{c}", []).append(r["seconds"])
                print(
                    f"  round {round_no + 1}: {side:16} concurrency {c:3}: {r['seconds']:6.2f}s", flush=True
                )
        os.unlink(keys_file)
    finally:
        server.stdin.close()
        server.wait(timeout=10)

    best = {name: min(ts) for name, ts in times.items()}
    spark = min((v, k) for k, v in best.items() if k.startswith("sparkify"))
    loop = min((v, k) for k, v in best.items() if k.startswith("boto3"))
    print()
    print(
        f"objects: {len(keys)} ({sum(1 for k in keys if '/song_data/' in k)} song, "
        f"{sum(1 for k in keys if '/log_data/' in k)} log), best of {args.repeat}"
    )
    for name, ts in best.items():
        print(f"  {name:22} {ts:6.2f}s  ({len(keys) / ts:,.0f} objects/s)")
    print(f"sparkify stage ({spark[1]}): {spark[0]:.2f}s")
    print(f"plain boto3 GETs ({loop[1]}): {loop[0]:.2f}s")
    print(f"ratio sparkify / boto3: {spark[0] / loop[0]:.2f} (target <= 1.25)")


if __name__ == "__main__":
    main()
