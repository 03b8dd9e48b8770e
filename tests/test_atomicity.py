"""A failure anywhere -- an exception or a SIGKILL mid-stage or mid-transform -- leaves every table as
the last successful run left it, and the next run completes normally."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sparkify import pipeline
from sparkify.schema import STAGING_TABLES, STAR_TABLES
from sparkify.warehouse import connect
from tests.conftest import IAM_ROLE, TEST_ENGINES, source_for
from tests.helpers.records import event, song, write_source

TABLES = [t.name for t in (*STAGING_TABLES, *STAR_TABLES)] + ["load_files", "load_errors"]


def snapshot(wh) -> dict:
    return {name: sorted(wh.query(f"select * from {wh.qualified(name)}")[1], key=repr) for name in TABLES}


@pytest.fixture(params=TEST_ENGINES)
def target(request, tmp_path):
    """(url, schema) of a fresh warehouse of each engine under test."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path}/w.duckdb", None
        return
    if request.param == "redshift":
        from tests.conftest import set_aws_env

        # its own MonkeyPatch: the tests undo theirs midway, and S3 must stay reachable
        with pytest.MonkeyPatch.context() as mp:
            set_aws_env(mp, request.getfixturevalue("s3_server"))
            yield request.getfixturevalue("redshift_standin").url(), request.getfixturevalue("pg_schema")
        return
    yield request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")


def open_target(target):
    url, schema = target
    return connect(url, schema=schema, iam_role=IAM_ROLE)


def staged(wh, src):
    """The source a run of ``wh`` reads: the folder, or its S3 copy for Redshift (kept in step)."""
    if wh.copies_from_s3 and not hasattr(wh, "test_s3"):
        from tests.helpers.s3 import BUCKET

        wh.test_s3 = (os.environ["AWS_ENDPOINT_URL"], f"s3://{BUCKET}/atomicity-{abs(hash(str(src))):x}")
    return source_for(wh, src)


@pytest.fixture
def loaded(tmp_path, target):
    """A warehouse after one successful run, and a source with a new day added since."""
    src = write_source(
        tmp_path / "src",
        songs=[song()],
        events=[event(ts=1541105830796 + i, itemInSession=i) for i in range(20)],
    )
    with open_target(target) as wh:
        pipeline.run(wh, staged(wh, src))
        before = snapshot(wh)
        day2 = src / "log_data" / "2018" / "11" / "2018-11-02-events.json"
        day2.write_text(
            "".join(
                json.dumps(event(ts=1541200000000 + i, itemInSession=i, sessionId=77, userId="9")) + "\n"
                for i in range(10)
            )
        )
        src = staged(wh, src)
    return src, target, before


def boom(*args, **kwargs):
    raise RuntimeError("injected failure")


@pytest.mark.parametrize("where", ["reading", "publishing staging", "transforming", "recording the run"])
def test_an_exception_at_any_step_changes_nothing(loaded, monkeypatch, where):
    src, target, before = loaded
    s3 = str(src).startswith("s3://")  # Redshift: the checked rows reach staging by COPY from S3
    if where == "reading":
        import sparkify.staging.reader as reader

        monkeypatch.setattr(reader.JsonReader, "_fast", boom)
    elif where == "publishing staging":
        if s3:  # the COPY of the staged rows, inside the publishing transaction
            from sparkify.warehouse.redshift import RedshiftWarehouse

            monkeypatch.setattr(RedshiftWarehouse, "copy_from_s3", boom)
        else:
            monkeypatch.setattr(pipeline.publish, "_insert_many", boom)  # looked up where it is called
    elif where == "transforming":
        real = pipeline.Warehouse.statement

        def statement(self, name, *args):
            if name == "insert_time":  # after songplays was rebuilt
                raise RuntimeError("injected failure")
            return real(self, name, *args)

        monkeypatch.setattr(pipeline.Warehouse, "statement", statement)
    else:
        real_insert = pipeline.Warehouse.insert_row

        def insert_row(self, table, values):
            if values.get("status") == "succeeded":
                raise RuntimeError("injected failure")
            return real_insert(self, table, values)

        monkeypatch.setattr(pipeline.Warehouse, "insert_row", insert_row)
    with open_target(target) as wh:
        with pytest.raises(RuntimeError, match="injected failure"):
            pipeline.run(wh, src)
        assert snapshot(wh) == before
    monkeypatch.undo()
    with open_target(target) as wh:
        report = pipeline.run(wh, src)
        assert report.rows["songplays"] == 30 and not report.checks_failed


SCRIPT = textwrap.dedent(
    """
    import sys, time, pathlib
    from sparkify import pipeline
    from sparkify.warehouse import connect
    from sparkify.warehouse.base import Warehouse

    src, url, schema, where, marker, iam_role = sys.argv[1:7]

    def pause():
        pathlib.Path(marker).write_text("here")
        time.sleep(120)  # killed here

    if where == "stage":  # every engine: after the staged rows and the ledger are in
        real = pipeline.publish._insert_many
        def patched(wh, reader_con, spool, table, rows):
            real(wh, reader_con, spool, table, rows)
            pause()
        pipeline.publish._insert_many = patched
    else:
        real = Warehouse.statement
        def statement(self, name, *args):
            if name == "insert_time":
                pause()
            return real(self, name, *args)
        Warehouse.statement = statement

    with connect(url, schema=schema or None, iam_role=iam_role) as wh:
        pipeline.run(wh, src)
    """
)


@pytest.mark.parametrize("where", ["stage", "transform"])
def test_sigkill_mid_step_changes_nothing(loaded, tmp_path, where):
    src, target, before = loaded
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    url, schema = target
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(src), url, schema or "", where, str(marker), IAM_ROLE], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the run ended before reaching the kill point"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with open_target(target) as wh:
        assert snapshot(wh) == before
        report = pipeline.run(wh, src)
        assert report.rows["songplays"] == 30 and not report.checks_failed


def test_transient_errors_are_retried_and_terminal_ones_are_not(loaded, monkeypatch):
    from sparkify.errors import TransientWarehouseError, WarehouseError

    src, target, _before = loaded
    monkeypatch.setattr(pipeline, "RETRY_DELAY", 0.0)
    calls = {"n": 0}
    real = pipeline._transform

    def flaky(wh, progress, *args):
        calls["n"] += 1
        real(wh, progress, *args)
        if calls["n"] <= 2:  # fails after doing the work: the rollback must undo it
            raise TransientWarehouseError("server closed the connection unexpectedly")

    monkeypatch.setattr(pipeline, "_transform", flaky)
    with open_target(target) as wh:
        report = pipeline.run(wh, src)
        assert calls["n"] == 3
        assert report.rows["songplays"] == 30
        assert wh.query("select count(*) from staging_events")[1] == [(30,)]  # not loaded thrice

    def terminal(wh, progress, *args):
        calls["n"] += 1
        raise WarehouseError("permission denied for table songplays")

    calls["n"] = 0
    monkeypatch.setattr(pipeline, "_transform", terminal)
    with open_target(target) as wh, pytest.raises(WarehouseError, match="permission denied"):
        pipeline.run(wh, src, full_refresh=True)
    assert calls["n"] == 1


def test_retries_give_up_after_a_bounded_number(monkeypatch):
    from sparkify.errors import TransientWarehouseError

    attempts = []

    class FakeWarehouse:
        def reconnect(self):
            attempts.append("reconnect")

    def always_fails():
        attempts.append("try")
        raise TransientWarehouseError("connection lost")

    with pytest.raises(TransientWarehouseError):
        pipeline.with_retries(FakeWarehouse(), always_fails, retries=3, delay=0)
    assert attempts == ["try", "reconnect"] * 3 + ["try"]
