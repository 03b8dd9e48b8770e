"""A DuckDB file another program holds open (the DuckDB CLI, a notebook) is busy -- exit 75, waited
for under --wait like another sparkify process -- and a file that is not a DuckDB database is a
configuration error (exit 2). Tester findings: both were exit 74 "check the disk", and --wait did
not wait."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from tests.conftest import sparkify
from tests.helpers.records import event, song, write_source

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def loaded(capsys, cli_env, tmp_path):
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    assert sparkify(capsys, "run", "-q", "-s", src, "-w", "w.duckdb")[0] == 0
    return tmp_path / "w.duckdb"


def hold(path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_file_held_by_another_program_is_busy_and_waited_for(capsys, loaded):
    holder = hold(loaded, 60)
    try:
        who = rf"another program \({re.escape(sys.executable.rsplit('/', 1)[-1])}[^,]*, PID {holder.pid}\)"
        code, out, err = sparkify(capsys, "check", "-w", "w.duckdb", "--no-wait")
        assert code == 75 and out == "", err
        assert re.fullmatch(
            rf"Error: A{who[1:]} is using \S*/w\.duckdb\. Wait for it to finish, or run with --wait to queue behind it\.\n",
            err,
        ), err
        code, _, err = sparkify(capsys, "check", "-w", "w.duckdb", "--wait-timeout", "0.5")
        assert code == 75
        assert re.fullmatch(
            rf"Waiting for {who} using \S*/w\.duckdb \.\.\.\n"
            rf"Error: Gave up after waiting 0\.5s \(--wait-timeout\) for {who} using \S*/w\.duckdb\. "
            r"Retry later, or find the process that holds it\.\n",
            err,
        ), err
    finally:
        holder.kill()
        holder.wait()


def test_a_wait_outlasts_a_program_that_lets_go(capsys, loaded):
    holder = hold(loaded, 1.5)
    began = time.monotonic()
    code, out, err = sparkify(capsys, "check", "-w", "w.duckdb", "--wait-timeout", "60")
    holder.wait()
    assert code == 0, err
    assert "Checks: 33 of 33 passed." in out
    assert err.startswith("Waiting for another program (")
    assert time.monotonic() - began >= 0.5  # it did wait for the holder (no speed is asserted)


@pytest.mark.parametrize("command", [["check"], ["run", "-s", "src"], ["query", "select 1"]])
def test_a_file_that_is_not_a_duckdb_database_is_a_configuration_error(capsys, cli_env, tmp_path, command):
    write_source(tmp_path / "src", songs=[song()], events=[event()])
    (tmp_path / "notes.duckdb").write_text("meeting notes\n")
    code, out, err = sparkify(capsys, *command, "-w", "notes.duckdb")
    assert (code, out, err) == (
        2,
        "",
        "Error: notes.duckdb is not a DuckDB database: the file is there but holds something else. Point "
        "--warehouse at a DuckDB file, or at a new path to create one.\n",
    )
    assert (tmp_path / "notes.duckdb").read_text() == "meeting notes\n"
