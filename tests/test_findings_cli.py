"""Tester findings about what the CLI tells a new user (F7): run as a user runs it
(``python -m sparkify``), so the tests hold whatever module hosts the CLI."""

from __future__ import annotations

import os
import subprocess
import sys


def sparkify(*args: str, cwd=None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sparkify", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


def test_no_help_example_prunes_with_a_narrowed_source():
    # F7: `run --log-source <one day> --prune` removes every other day's history; an example must
    # never suggest it
    for command in ("run", "stage"):
        text = sparkify(command, "--help").stdout
        examples = [line for line in text.splitlines() if line.strip().startswith("sparkify ")]
        assert examples, text
        for line in examples:
            narrowed = "--log-source" in line or "--song-source" in line
            assert not (narrowed and "--prune" in line), line
        assert "every other day counts as gone" in " ".join(text.split())
