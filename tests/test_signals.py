"""SIGINT and SIGTERM sent to real `sparkify run` processes at several moments, on DuckDB and
PostgreSQL: the process stops with one line and 130/143, the warehouse is as the last successful
run left it (or, if the signal came after the commit, holds that load and says so), the lock is
released, and every load id has exactly one outcome in load_runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_ENGINES
from tests.helpers.records import event, song, write_source

SPARKIFY = str(Path(sys.executable).parent / "sparkify")

MOMENTS = [
    # (the progress line after which the signal is sent, what runs then, the signal)
    ("stage songs:", "reading and checking the log files", signal.SIGINT),
    ("stage events:", "publishing: staging, ledger and star tables in one transaction", signal.SIGTERM),
    ("transform:", "the commit, then the checks", signal.SIGINT),
    ("stage events:", "publishing", signal.SIGINT),
    ("stage songs:", "reading, when the terminal closes", signal.SIGHUP),
]
"""Progress lines are printed (unbuffered, not a terminal) as each step finishes."""

TABLES = ("staging_events", "staging_songs", "songplays", "users", "songs", "artists", "time", "load_files")


@pytest.fixture(scope="module")
def big_source(tmp_path_factory) -> Path:
    """Generated data large enough that each step takes a moment (60k events, 2k songs)."""
    out = tmp_path_factory.mktemp("big") / "src"
    proc = subprocess.run(
        [SPARKIFY, "generate", "--out", str(out), "--events", "60000", "--songs", "2000", "-q"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return out


class Target:
    """One warehouse under test: the CLI arguments that name it, and a way to read it afterwards."""

    def __init__(self, engine: str, tmp_path: Path, request):
        self.engine = engine
        if engine == "duckdb":
            self.path = tmp_path / "w.duckdb"
            self.args = ["-w", f"duckdb:///{self.path}"]
        else:
            self.url = request.getfixturevalue("postgres_url")
            self.schema = request.getfixturevalue("pg_schema")
            self.args = ["-w", self.url, "--schema", self.schema]

    def query(self, sql: str) -> list[tuple]:
        if self.engine == "duckdb":
            import duckdb

            con = duckdb.connect(str(self.path), read_only=True)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        import psycopg

        with psycopg.connect(self.url) as con:
            con.execute(f'set search_path to "{self.schema}"')
            return [tuple(r) for r in con.execute(sql).fetchall()]

    def snapshot(self) -> dict[str, int]:
        return {t: self.query(f"select count(*) from {t}")[0][0] for t in TABLES}

    def runs(self) -> list[tuple[str, str]]:
        return sorted(self.query("select load_id, status from load_runs"))


def start(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")} | {"PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [SPARKIFY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def signal_after(proc: subprocess.Popen, marker: str, signum: int) -> tuple[str, str]:
    """Send ``signum`` once ``proc`` prints a line starting with ``marker``; return its stdout, stderr."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(marker):
            proc.send_signal(signum)
            break
    out, err = proc.communicate(timeout=300)
    return "".join(seen) + out, err


@pytest.mark.parametrize("engine", TEST_ENGINES)
def test_signals_at_several_moments_leave_one_truthful_outcome(engine, tmp_path, request, big_source):
    target = Target(engine, tmp_path, request)
    small = write_source(
        tmp_path / "small", songs=[song()], events=[event(), event(ts=1541105831796, itemInSession=1)]
    )
    proc = subprocess.run(
        [SPARKIFY, "run", "-q", "-s", str(small), *target.args], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    before, runs_before = target.snapshot(), target.runs()
    interrupted = 0
    for marker, what, signum in MOMENTS:
        proc = start("run", "-s", str(big_source), *target.args)
        _out, err = signal_after(proc, marker, signum)
        after, runs_after = target.snapshot(), target.runs()
        new = [r for r in runs_after if r not in runs_before]
        # one outcome per load id, always
        assert len({load_id for load_id, _ in runs_after}) == len(runs_after), runs_after
        assert len(new) == 1, (what, new)
        [(load_id, status)] = new
        name = {signal.SIGINT: "Interrupted", signal.SIGTERM: "Terminated", signal.SIGHUP: "Hung up"}[signum]
        if proc.returncode == 0:
            # the run finished before the signal took effect: only possible once it was committing
            assert marker == "transform:", (what, err)
            assert status == "succeeded"
            before, runs_before = after, runs_after
            continue
        assert proc.returncode == 128 + signum, (what, proc.returncode, err)
        # the server may not yet have released the lock of the run interrupted just before (the
        # Redshift stand-in's session lingers under load): this run then says it waits, and goes on
        waited = "Waiting for another sparkify process using schema "
        if err.startswith(waited):
            err = err.split("\n", 1)[1]
        assert err.count("\n") == 1, (what, err)  # one line, no traceback
        if err == f"{name}; nothing was changed.\n":
            interrupted += 1
            assert status == "interrupted", what
            assert after == before, what  # the warehouse as the last successful run left it
        else:
            # the signal came after the commit: the load stands, and the line says so
            assert err == (
                f"{name} after load {load_id} was committed; the checks did not run (`sparkify check` runs them).\n"
            ), (what, err)
            assert status == "succeeded"
            before = after
        runs_before = runs_after
        # the lock was released: a run that refuses to wait gets the warehouse at once
        check = subprocess.run(
            [SPARKIFY, "check", "-q", "--no-wait", *target.args], capture_output=True, text=True
        )
        assert check.returncode in (0, 1), (what, check.stderr)
    assert interrupted >= 4  # the signals during reading and publishing stopped their runs
    # and the next run completes normally, loading everything
    proc = subprocess.run(
        [SPARKIFY, "run", "-q", "-s", str(big_source), *target.args], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    # the big source's 60,000 events, and the first run's 2: a file gone from the source keeps its rows
    assert target.snapshot()["staging_events"] == 60000 + 2


def test_no_fallback_to_the_record_by_record_reader_on_an_interrupt(tmp_path, big_source):
    """The reader's fast path failing because of a signal must not be retried line by line."""
    db = tmp_path / "w.duckdb"
    subprocess.run([SPARKIFY, "create-tables", "-q", "-w", str(db)], check=True, capture_output=True)
    proc = start("stage", "-s", str(big_source), "-w", str(db))
    out, err = signal_after(proc, "stage songs:", signal.SIGINT)
    assert proc.returncode == 130 and err == "Interrupted; nothing was changed.\n", err
    assert "stage events:" not in out  # it stopped reading: no fallback read finished the events


HARNESS = """
import builtins, os, signal, sys

when, signum = sys.argv[1], int(sys.argv[2])
sys.argv = ["sparkify", *sys.argv[3:]]
if when in ("loading", "first"):  # the signal arrives while the commands are imported, or sooner
    real_import = builtins.__import__

    sent = []

    def loading(name, globals=None, locals=None, fromlist=(), level=0):
        if not sent and (
            (when, name) == ("loading", "sparkify.cli")
            or (when == "first" and name == "sparkify" and "interrupts" in (fromlist or ()))
        ):
            sent.append(name)
            os.kill(os.getpid(), signum)
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = loading
elif when == "last":  # what a signal meets in the interpreter's last steps, which run no Python
    import atexit

    # exit handlers run last-registered first: this one runs after sparkify's, just before the
    # interpreter gives the signals with a Python handler their default action back
    atexit.register(lambda: print("at exit:", *(signal.getsignal(s) == signal.SIG_IGN for s in (2, 15))))
else:  # "ended": it arrives once the command has returned its code, as the interpreter shuts down
    import sparkify.cli.app as app

    real_run = app.run

    def ended(*args, **kwargs):
        code = real_run(*args, **kwargs)
        os.kill(os.getpid(), signum)
        sum(range(1000))  # the handler runs here
        return code

    app.run = ended
from sparkify.__main__ import main

main()
"""
"""The console script's own ``main``, with a signal sent at one moment of its life (argv: the
moment, the signal number, the command's arguments)."""


@pytest.mark.parametrize(
    "signum, code, word",
    [
        (signal.SIGINT, 130, "Interrupted"),
        (signal.SIGTERM, 143, "Terminated"),
        (signal.SIGHUP, 129, "Hung up"),
    ],
)
@pytest.mark.parametrize("moment", ["first", "loading"])
def test_a_signal_while_the_commands_load_stops_with_its_code_and_line(tmp_path, signum, code, word, moment):
    # the console script imports every command before the first one runs: a second on a slow machine;
    # "first": while it imports sparkify's own signal handling (typing alone took 25 ms before that)
    target = tmp_path / "w.duckdb"
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS, moment, str(int(signum)), "run", "-w", f"duckdb:///{target}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"{word}; nothing was changed."]
    assert not target.exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_after_the_command_ended_keeps_its_code_and_adds_nothing(tmp_path, signum):
    # a usage error (exit 2) has been printed; the signal comes while the process shuts down
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS, "ended", str(int(signum)), "query"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Interrupted" not in proc.stderr
    assert (
        proc.stderr.strip().splitlines()[-1]
        == "Error: Give the query as the SQL argument or with --file FILE (one of them)."
    )


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_a_signal_stops_a_duckdb_query_running_on_several_threads(engine, tmp_path, request):
    # Python runs a signal handler only between steps of the main thread, which a multi-threaded
    # DuckDB query holds until it ends (a million events' scan went on for up to 14 s): the first
    # signal interrupts the query itself. Told apart without a clock: the interrupted statement made
    # nothing, where the old way ran it to its end and raised after.
    import threading

    import duckdb

    from sparkify import interrupts
    from sparkify.errors import WarehouseError
    from sparkify.warehouse import connect

    if engine == "duckdb":
        wh = connect(f"duckdb:///{tmp_path}/w.duckdb?threads=2")
        run, con = wh.execute, wh.con
    else:  # the PostgreSQL warehouse's own DuckDB, where the JSON is parsed
        url = request.getfixturevalue("postgres_url")
        wh = connect(
            url + ("&" if "?" in url else "?") + "threads=2", schema=request.getfixturevalue("pg_schema")
        )
        con = wh.reader_connection()
        run = con.execute
    slow = (  # 3 * 10^9 rows: many seconds on any machine
        "create table made as select sum(hash(a.range * b.range)) as s from range(30000) as a, range(100000) as b"
    )
    interrupts.install()
    # the CLI's handler would raise Interrupted whenever the main thread next runs Python; a quiet
    # one leaves the watcher's interrupt as the one thing that can stop the query
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises((duckdb.InterruptException, WarehouseError)):
            run(slow)
    finally:
        timer.cancel()
        interrupts.uninstall()
    try:
        assert (
            con.execute("select count(*) from duckdb_tables() where table_name = 'made'").fetchone()[0] == 0
        )
    finally:
        wh.close()


def test_a_signal_in_the_last_moments_is_ignored_not_a_death_without_a_word():
    # after the exit handlers, the interpreter gives the default action back to every signal with a
    # Python handler: a signal then killed a command that had printed its result (-2, no line)
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS, "last", "2", "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "at exit: True True"  # SIGINT and SIGTERM ignored by then


def test_a_library_callers_ctrl_c_stops_the_scan_and_is_recorded_as_interrupted(tmp_path, monkeypatch):
    # sparkify.run() called from Python, no CLI handler: Ctrl-C went on 11 s, ended as "RuntimeError:
    # Query interrupted" and the run was recorded "failed". The signal is sent from the thread that
    # reports the events scan's progress: it arrives while the scan runs, whatever the machine.
    import duckdb

    import sparkify
    from sparkify import pipeline
    from sparkify.generate import generate
    from sparkify.staging import reader, spool

    monkeypatch.setattr(reader, "PROGRESS_SECONDS", 0.002)
    monkeypatch.setattr(spool, "SMALL_FILE", 1000)  # every day file read by the one scan
    generate(tmp_path / "src", events=200_000, songs=20, users=100, seed=2)
    sent: list[str] = []

    class Progress:
        def start(self, task, total):
            pass

        def advance(self, task, amount=1, nbytes=0):
            import threading

            if (
                task == "stage events"
                and not sent
                and threading.current_thread() is not threading.main_thread()
            ):
                sent.append(task)
                os.kill(os.getpid(), signal.SIGINT)  # Python's own handler: KeyboardInterrupt

        def finish(self, task):
            pass

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with sparkify.connect(f"duckdb:///{tmp_path}/w.duckdb?threads=2") as wh, pytest.raises(KeyboardInterrupt):
        pipeline.run(wh, str(tmp_path / "src"), progress=Progress())
    assert sent == ["stage events"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert con.execute("select status from load_runs").fetchall() == [("interrupted",)]
    assert con.execute("select count(*) from staging_events").fetchone() == (0,)
