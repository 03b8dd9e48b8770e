"""Scratch folders a killed sparkify left under TMPDIR (SIGKILL, an out-of-memory kill): the next run
removes them -- this user's, of a process that is gone, unchanged for an hour -- and nothing else
(operator at volume, tester finding: 13 MB per killed run of 1M events stayed for good)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import pytest

from sparkify import files

pytestmark = pytest.mark.skipif(
    os.name != "posix", reason="process ids are looked up with kill(pid, 0): POSIX"
)


def gone_pid() -> int:
    """The id of a process that has ended (reaped: no process has it now, barring reuse)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def folder(root, name: str, age_seconds: float, marked: bool = True) -> str:
    """A folder as a killed run leaves it (``marked``: holding the mark scratch_dir puts there)."""
    path = os.path.join(root, name)
    os.makedirs(os.path.join(path, "events"))
    if marked:
        open(os.path.join(path, files.MARK), "w").close()
    with open(os.path.join(path, "events", "events-00000.ndjson"), "w") as out:
        out.write("{}\n")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def test_only_the_stale_folders_of_gone_processes_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = gone_pid()
    old = 2 * files.STALE_SECONDS
    stale = folder(tmp_path, f"sparkify-spool-{dead}-abc_1234", old)
    stale_reader = folder(tmp_path, f"sparkify-reader-{dead}-xyz98765", old)
    kept = [
        folder(tmp_path, f"sparkify-spool-{dead}-new12345", 10),  # too recent: maybe another PID namespace's
        folder(tmp_path, f"sparkify-spool-{os.getppid()}-live1234", old),  # its process runs
        folder(tmp_path, "sparkify-spool-olderfmt", old),  # no process id
        folder(tmp_path, f"other-spool-{dead}-abcd1234", old),  # not ours
        # a user's own folders that look like ours (tester finding: a year was taken for a process id)
        folder(tmp_path, "sparkify-export-2024-06", old, marked=False),
        folder(tmp_path, "sparkify-backups-2023-12-31", old, marked=False),
        folder(tmp_path, f"sparkify-spool-{dead}-userdata", old, marked=False),  # our name, no mark
        folder(tmp_path, f"sparkify-spool-{dead}-abcd1234-more", old),  # not tempfile's 8 characters
    ]
    with files.scratch_dir("spool") as made:
        assert os.path.basename(made).startswith(f"sparkify-spool-{os.getpid()}-")
        assert os.path.isfile(os.path.join(made, files.MARK))
        assert not os.path.exists(stale) and not os.path.exists(stale_reader)
        assert all(os.path.isdir(k) for k in kept)
    assert not os.path.exists(made)


def test_a_run_removes_what_a_killed_run_left(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sparkify.cli import cli
    from tests.helpers.records import event, song, write_source

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    left = folder(scratch, f"sparkify-spool-{gone_pid()}-killed12", 2 * files.STALE_SECONDS)
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    result = CliRunner().invoke(
        cli, ["run", "-q", "--source", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb"]
    )
    assert result.exit_code == 0, result.output
    assert not os.path.exists(left)
    assert os.listdir(scratch) == []  # its own went with it
