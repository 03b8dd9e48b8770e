"""A signal that comes after a command has committed something -- while it counts rows, runs the
checks or prints its result -- ends it with 128 + the signal and a line saying what stands, never
"nothing was changed" (which would send a user to re-run a load that is already there).

The signal is raised at a chosen moment in this process, as the CLI's handler raises it
(tests/test_signals.py sends real signals to real processes, at moments it cannot choose as finely)."""

from __future__ import annotations

import json
import signal

import pytest

from sparkify import interrupts, pipeline
from tests.conftest import sparkify
from tests.helpers.records import event, song, write_source


def signal_at(monkeypatch, owner, name: str, signum: int = signal.SIGINT, *, calls: int = 1) -> None:
    """Make the ``calls``-th call of ``owner.name`` receive ``signum`` first, as if sent then."""
    real = getattr(owner, name)
    seen = []

    def wrapped(*args, **kwargs):
        seen.append(1)
        if len(seen) == calls:
            interrupts._handler(signum, None)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)


@pytest.fixture(params=["duckdb", "postgres"])
def target(request, tmp_path):
    """CLI arguments naming a fresh warehouse, and a function running SQL on it."""
    if request.param == "duckdb":
        path = tmp_path / "w.duckdb"

        def query(sql: str) -> list[tuple]:
            import duckdb

            with duckdb.connect(str(path), read_only=True) as con:
                return con.execute(sql).fetchall()

        return ["-w", f"duckdb:///{path}"], query
    url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")

    def query(sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(url) as con:
            con.execute(f'set search_path to "{schema}"')
            return [tuple(r) for r in con.execute(sql).fetchall()]

    return ["-w", url, "--schema", schema], query


@pytest.fixture
def source(tmp_path):
    return write_source(
        tmp_path / "src", songs=[song()], events=[event(), event(ts=1541105831796, itemInSession=1)]
    )


def the_run(query) -> tuple[str, str]:
    [(load_id, status)] = query("select load_id, status from load_runs")
    return load_id, status


def test_a_signal_while_the_loaded_rows_are_counted(capsys, monkeypatch, cli_env, target, source):
    args, query = target
    signal_at(monkeypatch, pipeline, "_count_star")  # after the commit, before the checks
    code, _, err = sparkify(capsys, "run", "-s", source, *args)
    load_id, status = the_run(query)
    assert (code, status) == (130, "succeeded")
    assert err == (
        f"Interrupted after load {load_id} was committed; the checks did not run (`sparkify check` runs them).\n"
    )
    assert query("select count(*) from songplays") == [(2,)]


def test_a_signal_while_the_result_is_printed(capsys, monkeypatch, cli_env, target, source):
    from sparkify.cli import output

    args, query = target
    signal_at(monkeypatch, output, "print_run", signal.SIGTERM)
    code, _, err = sparkify(capsys, "run", "-s", source, *args)
    load_id, status = the_run(query)
    assert (code, status) == (143, "succeeded")
    assert err == f"Terminated after load {load_id} was committed and checked.\n"


@pytest.mark.parametrize("command", ["run", "stage"])
def test_a_signal_during_the_commit_takes_effect_after_it(
    capsys, monkeypatch, cli_env, target, source, command
):
    """The signal arrives while the load's COMMIT runs: the commit finishes, then the command stops
    and says the load stands (for run: that its checks did not run)."""
    from sparkify import ledger
    from sparkify.warehouse.base import Warehouse

    args, query = target
    if command == "stage":
        assert sparkify(capsys, "create-tables", *args)[0] == 0
    armed = []
    real_insert_run, real_execute = ledger.insert_run, Warehouse.execute

    def insert_run(wh, row):  # the load's own transaction: its commit comes next
        armed.append(True)
        return real_insert_run(wh, row)

    def execute(self, statement, params=None):
        if armed and statement == "commit":
            armed.clear()
            interrupts._handler(signal.SIGTERM, None)  # noted: the commit goes through first
        return real_execute(self, statement, params)

    monkeypatch.setattr(ledger, "insert_run", insert_run)
    monkeypatch.setattr(Warehouse, "execute", execute)
    code, _, err = sparkify(capsys, command, "-s", source, *args)
    load_id, status = the_run(query)
    assert (code, status) == (143, "succeeded")
    checks = "; the checks did not run (`sparkify check` runs them)" if command == "run" else ""
    assert err == f"Terminated after load {load_id} was committed{checks}.\n"
    assert query("select count(*) from staging_events") == [(2,)]


def test_a_signal_after_stage_commits(capsys, monkeypatch, cli_env, target, source):
    from sparkify.cli import output

    args, query = target
    assert sparkify(capsys, "create-tables", *args)[0] == 0
    signal_at(monkeypatch, output, "print_stage", signal.SIGHUP)
    code, _, err = sparkify(capsys, "stage", "-s", source, *args)
    load_id, status = the_run(query)
    assert (code, status) == (129, "succeeded")
    assert err == f"Hung up after load {load_id} was committed.\n"
    assert query("select count(*) from staging_events") == [(2,)]


def test_a_signal_after_transform_commits(capsys, monkeypatch, cli_env, target, source):
    args, query = target
    assert sparkify(capsys, "create-tables", *args)[0] == 0
    assert sparkify(capsys, "stage", "-q", "-s", source, *args)[0] == 0
    signal_at(monkeypatch, pipeline, "_count_star")
    code, _, err = sparkify(capsys, "transform", *args)
    assert (code, err) == (130, "Interrupted after the star tables were rebuilt.\n")
    assert query("select count(*) from songplays") == [(2,)]


def test_before_any_commit_nothing_was_changed(capsys, monkeypatch, cli_env, target, source):
    args, query = target
    assert sparkify(capsys, "run", "-q", "-s", source, *args)[0] == 0
    signal_at(monkeypatch, pipeline, "_transform")  # inside the load's transaction
    (source / "log_data" / "2018-11-02-events.json").write_text(
        json.dumps(event(ts=1541190000000, itemInSession=2)) + "\n"
    )
    code, _, err = sparkify(capsys, "run", "-s", source, *args)
    assert (code, err) == (130, "Interrupted; nothing was changed.\n")
    assert sorted(s for (s,) in query("select status from load_runs")) == ["interrupted", "succeeded"]


def test_the_signal_is_forgotten_when_the_command_ends(capsys, monkeypatch, cli_env, target, source):
    """A command run in process (main(), as here) leaves no signal behind: later code in the same
    process -- a library call, the next test -- must not take it for its own interrupt."""
    args, _ = target
    signal_at(monkeypatch, pipeline, "_count_star")
    assert sparkify(capsys, "run", "-s", source, *args)[0] == 130
    assert interrupts.received() is None and interrupts.pending() is None and interrupts.done() is None
    interrupts.check()  # raises nothing
