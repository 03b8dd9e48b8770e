"""Two sparkify processes against one warehouse: one waits for the other, or fails at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from sparkify.warehouse import connect
from tests.helpers.records import event, song, write_source

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def sparkify(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sparkify", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def source(tmp_path):
    return write_source(
        tmp_path / "src",
        songs=[song()],
        events=[event(ts=1541105830796 + i, itemInSession=i) for i in range(50)],
    )


def test_no_wait_fails_at_once_while_another_process_holds_the_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    holder = connect(str(db))  # this test process plays the first sparkify run
    try:
        proc = sparkify("run", "-q", "--no-wait", "-s", str(source(tmp_path)), "-w", str(db))
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 75  # EX_TEMPFAIL: worth retrying later
        assert (
            err.strip()
            == f"Error: Another sparkify process is using {db}. Wait for it to finish, or run with --wait to queue behind it."
        )
    finally:
        holder.close()


def test_wait_queues_behind_the_other_process(tmp_path):
    db = tmp_path / "w.duckdb"
    holder = connect(str(db))
    proc = sparkify("run", "-s", str(source(tmp_path)), "-w", str(db))
    try:
        time.sleep(1.5)
        assert proc.poll() is None, "the second process must wait while the first holds the warehouse"
    finally:
        holder.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"Waiting for another sparkify process using {db} ..." in err
    assert "Checks: 33 of 33 passed." in out


def test_two_runs_at_once_never_duplicate(tmp_path):
    db = tmp_path / "w.duckdb"
    src = source(tmp_path)
    procs = [sparkify("run", "-q", "-s", str(src), "-w", str(db)) for _ in range(2)]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with connect(str(db)) as wh:
        assert wh.query("select count(*), count(distinct songplay_id) from songplays")[1] == [(50, 50)]
        assert wh.query("select count(*) from staging_events")[1] == [(50,)]


def test_postgres_no_wait_fails_and_wait_queues(tmp_path, postgres_url, pg_schema):
    src = source(tmp_path)
    holder = connect(postgres_url, schema=pg_schema)  # holds the schema's advisory lock
    try:
        proc = sparkify("run", "-q", "--no-wait", "-s", str(src), "-w", postgres_url, "--schema", pg_schema)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 75  # EX_TEMPFAIL
        assert err.strip() == (
            f"Error: Another sparkify process is using schema {pg_schema} of {postgres_url}. "
            "Wait for it to finish, or run with --wait to queue behind it."
        )
        proc = sparkify("run", "-s", str(src), "-w", postgres_url, "--schema", pg_schema)
        time.sleep(2)
        assert proc.poll() is None, "the second process must wait while the first holds the schema"
    finally:
        holder.close()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Waiting for another sparkify process using schema" in err


def test_postgres_readers_do_not_wait_for_a_load(tmp_path, postgres_url, pg_schema):
    """runs, query and check only read: on PostgreSQL they see the last committed load, so they neither
    queue behind a running load nor fail with --no-wait."""
    src = source(tmp_path)
    proc = sparkify("run", "-q", "-s", str(src), "-w", postgres_url, "--schema", pg_schema)
    assert proc.communicate(timeout=120) and proc.returncode == 0
    holder = connect(postgres_url, schema=pg_schema)  # a load holding the schema's advisory lock
    try:
        for command in (["runs", "--json"], ["query", "select count(*) from songplays"]):
            proc = sparkify(*command, "--no-wait", "-w", postgres_url, "--schema", pg_schema)
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert out.strip() and "Another sparkify process" not in err
        # a command that writes still queues
        proc = sparkify("run", "-q", "--no-wait", "-s", str(src), "-w", postgres_url, "--schema", pg_schema)
        assert proc.communicate(timeout=60) and proc.returncode == 75
    finally:
        holder.close()


def test_postgres_readers_wait_for_a_full_rebuild_as_loads_wait_for_the_lock(
    tmp_path, postgres_url, pg_schema
):
    """A full rebuild holds the star tables until its commit (TRUNCATE): a reader then waits as
    --wait and --wait-timeout say, and gives up with exit 75, never silently forever."""
    import psycopg

    src = source(tmp_path)
    proc = sparkify("run", "-q", "-s", str(src), "-w", postgres_url, "--schema", pg_schema)
    assert proc.communicate(timeout=120) and proc.returncode == 0
    query = ["query", "select count(*) from songplays", "-w", postgres_url, "--schema", pg_schema]
    with psycopg.connect(postgres_url) as rebuild:  # a load's transaction, between TRUNCATE and commit
        rebuild.execute(f'lock table "{pg_schema}".songplays in access exclusive mode')
        proc = sparkify(*query, "--no-wait")
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 75, err
        assert f"A sparkify load is rebuilding the tables of schema {pg_schema}" in err
        assert "run with --wait to wait for the commit" in err
        started = time.monotonic()
        proc = sparkify(*query, "--wait-timeout", "1")
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 75 and "did not commit within 1s (--wait-timeout)" in err, err
        # --wait was in effect (the default): the advice is a longer wait, not --wait (a tester's finding)
        assert "a larger --wait-timeout" in err and "run with --wait" not in err, err
        assert time.monotonic() - started >= 1
        rebuild.rollback()
    proc = sparkify(*query, "--no-wait")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "50" in out, err


def test_postgres_two_runs_at_once_never_duplicate(tmp_path, postgres_url, pg_schema):
    src = source(tmp_path)
    procs = [
        sparkify("run", "-q", "-s", str(src), "-w", postgres_url, "--schema", pg_schema) for _ in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with connect(postgres_url, schema=pg_schema) as wh:
        assert wh.query("select count(*), count(distinct songplay_id) from songplays")[1] == [(50, 50)]
        assert wh.query("select count(*) from staging_events")[1] == [(50,)]
        assert wh.query("select count(*) from load_runs where status = 'succeeded'")[1] == [(2,)]
