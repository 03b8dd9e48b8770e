"""Smoke runs of every benchmark on tiny data: an interface change breaks the build, not the benchmark.

Each script runs as the user runs it (a subprocess, from the repository root) with sizes that take
seconds. Nothing is timed: a run passes when it exits 0 and prints the figures it is there to print.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def run(script: str, *args: str, timeout: int = 300) -> str:
    """Run ``benchmarks/<script>`` with ``args``; return its stdout. Fails the test on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"{script} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def test_every_benchmark_has_a_smoke_run():
    scripts = {p.name for p in BENCH.glob("bench_*.py")}
    smoked = {"bench_duckdb.py", "bench_postgres.py", "bench_compare.py", "bench_s3.py", "bench_scale.py"}
    assert scripts <= smoked, f"benchmarks without a smoke run here: {sorted(scripts - smoked)}"


def test_bench_duckdb(tmp_path):
    out = run(
        "bench_duckdb.py",
        *(
            "--events",
            "3000",
            "--songs",
            "60",
            "--users",
            "20",
            "--data",
            str(tmp_path / "d"),
            "--scan-layers",
        ),
    )
    assert "sparkify / bare" in out
    for layer in (
        "read_json_objects",
        "+ json_keys",
        "+ json_transform",
        "sparkify's whole scan",
        "bare read_json",
    ):
        assert f"  {layer}" in out


def test_bench_postgres(tmp_path, postgres_url, pg_schema):
    out = run(
        "bench_postgres.py",
        "--events",
        "3000",
        "--songs",
        "60",
        "--insert-subset",
        "40",
        "--url",
        postgres_url,
        "--out",
        str(tmp_path / "d"),
        "--schema",
        pg_schema,
    )
    assert "events/s" in out and "failed checks: none" in out
    # the bare floor loads every generated event (a count made by the benchmark's own COPY)
    assert "bare read_json + COPY of the events alone" in out and "3,000 events in" in out


def test_bench_compare(tmp_path):
    out = run("bench_compare.py", "--rows", "2000", "--dir", str(tmp_path))
    assert "differences found: 1" in out


@pytest.mark.skipif(
    importlib.util.find_spec("moto") is None, reason="bench_s3 needs moto (pip install moto[server])"
)
def test_bench_s3(tmp_path):
    from sparkify.generate import generate

    generate(tmp_path / "d", events=300, songs=20, users=10, seed=1)
    out = run(
        "bench_s3.py",
        "--repeat",
        "1",
        "--concurrency",
        "4",
        "--loop-concurrency",
        "4",
        "--data",
        str(tmp_path / "d"),
    )
    assert "ratio sparkify / boto3" in out


def test_bench_scale(tmp_path, postgres_url):
    out = run("bench_scale.py", "--sizes", "3000:60:20", "--data", str(tmp_path / "d"))
    for engine in ("duckdb", "postgres"):
        assert f"3000:60:20 {engine}:" in out
    assert out.count("incremental;") == 2, out  # the day was added in place on both engines
