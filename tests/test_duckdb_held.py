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
con = duckdb.connect(sys.argv[1], read_only=len(sys.argv) > 3)
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def loaded(capsys, cli_env, tmp_path):
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    assert sparkify(capsys, "run", "-q", "-s", src, "-w", "w.duckdb")[0] == 0
    return tmp_path / "w.duckdb"


def hold(path, seconds: float, *, read_only: bool = False) -> subprocess.Popen:
    args = [sys.executable, "-c", HOLD, str(path), str(seconds), *(["read-only"] if read_only else [])]
    holder = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_held_by_another_program_is_busy_and_waited_for(capsys, loaded, read_only):
    # a reader holding it: DuckDB's message goes on "However, you would be able to open this database
    # in read-only mode", which a tester saw spliced into the program's name
    holder = hold(loaded, 60, read_only=read_only)
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


def test_a_folder_where_the_file_should_be_is_a_configuration_error(capsys, cli_env, tmp_path):
    (tmp_path / "dir.duckdb").mkdir()
    code, out, err = sparkify(capsys, "check", "-w", "dir.duckdb")
    assert (code, out, err) == (
        2,
        "",
        "Error: dir.duckdb is a folder, not a DuckDB database file. Point --warehouse at a file in it (such "
        "as dir.duckdb/sparkify.duckdb), or at a new path to create one.\n",
    )
