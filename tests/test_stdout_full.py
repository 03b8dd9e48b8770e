"""Standard output that cannot be written (a full disk, /dev/full) ends a command with exit 74 and one
line naming standard output and what stands -- never a traceback and exit 1 after the load committed
(tester finding: `run --json > /dev/full` committed the load, then died with a Python traceback)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.records import event, song, write_source
from tests.test_exit_codes import SPARKIFY

FULL = Path("/dev/full")
pytestmark = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system (Linux has one)")

HINT = "send it where it can be written (a file on a disk with room, or /dev/null)."


def sparkify_to_full(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")}
    with FULL.open("w") as full:
        return subprocess.run(
            [SPARKIFY, *map(str, args)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
            timeout=300,
        )


def last_run(tmp_path: Path) -> dict:
    out = subprocess.run(
        [SPARKIFY, "runs", "--json", "-n", "1", "-w", "w.duckdb"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    return json.loads(out.splitlines()[0])


def test_json_summary_lost_after_the_load_committed_says_the_load_stands(tmp_path):
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    done = sparkify_to_full("run", "--json", "-s", src, "-w", "w.duckdb", cwd=tmp_path)
    run = last_run(tmp_path)
    assert run["status"] == "succeeded"
    assert (done.returncode, done.stderr) == (
        74,
        f"Error: cannot write standard output: No space left on device. This came after load "
        f"{run['load_id']} was committed and checked; {HINT}\n",
    )


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--json"],
        ["query", "select count(*) from songs"],
        ["runs"],
        ["analytics", "top_songs"],
        # it runs the step on a recording warehouse: a tester saw "This came after the star tables
        # were rebuilt", which it never does
        ["sql", "transform"],
    ],
)
def test_every_command_writing_stdout_ends_with_one_line_and_74(tmp_path, args):
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    assert subprocess.run([SPARKIFY, "run", "-q", "-s", src, "-w", "w.duckdb"], cwd=tmp_path).returncode == 0
    done = sparkify_to_full(*args, "-w", "w.duckdb", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        74,
        f"Error: cannot write standard output: No space left on device. Nothing was changed; {HINT}\n",
    )


def test_stderr_that_cannot_be_written_loses_the_messages_not_the_exit_code_or_the_json(tmp_path):
    """Tester finding: with stderr on a full disk every failure exited 1 ("checks failed") and --json
    printed nothing."""

    def stderr_to_full(*args) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")}
        with FULL.open("w") as full:
            return subprocess.run(
                [SPARKIFY, *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=full,
                text=True,
                cwd=tmp_path,
                env=env,
                timeout=300,
            )

    done = stderr_to_full("run", "--json", "-s", tmp_path / "nosuch", "-w", "w.duckdb")
    assert done.returncode == 66
    summary = json.loads(done.stdout)
    assert (summary["status"], summary["exit_code"]) == ("failed", 66)
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    done = stderr_to_full("run", "-s", src, "-w", "w.duckdb")
    assert done.returncode == 0 and "Loaded 2 records (0 rejected)" in done.stdout  # the work is done


def test_a_closed_stdout_is_exit_74_naming_it(tmp_path):
    """Tester finding: `sparkify run ... >&-` was exit 70, "unexpected AttributeError"."""
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")}
    for args in (["run", "-s", src, "-w", "w.duckdb"], ["query", "select 1", "-w", "w.duckdb"]):
        done = subprocess.run(
            [SPARKIFY, *map(str, args)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
            preexec_fn=lambda: os.close(1),
        )
        assert (done.returncode, done.stderr) == (
            74,
            f"Error: cannot write standard output: Bad file descriptor. Nothing was changed; {HINT}\n",
        )
