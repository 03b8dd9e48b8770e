"""Tester finding F4: a password in a warehouse string sparkify cannot read (libpq keyword/value
form, a URL missing its scheme, a malformed DuckDB URL) was echoed in clear by the error.

Every error that echoes a warehouse string shows it masked, whether the string came from a flag, the
environment or sparkify.toml, and whichever command (run, check, compare --against) reads it. The CLI
is run as a user runs it (``python -m sparkify``), so the test holds whatever module hosts the CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sparkify import connect
from sparkify.errors import ConfigError
from sparkify.urls import mask_url

SECRET = "s3cret-F4-pw"

UNREADABLE = [
    (f"host=127.0.0.1 user=postgres password={SECRET} dbname=test", "password=***"),
    (f"host=x password='{SECRET} with blanks' dbname=test", "password=***"),
    (f"postgres:{SECRET}@127.0.0.1:5432/test", "postgres:***@127.0.0.1"),  # the scheme forgotten
    (f"duckdb://me:{SECRET}@host/db", "me:***@host"),  # malformed DuckDB URL
]


@pytest.mark.parametrize("url,shown", UNREADABLE)
def test_the_library_never_echoes_the_password(url, shown):
    with pytest.raises(ConfigError) as caught:
        connect(url)
    assert SECRET not in str(caught.value) and shown in str(caught.value)
    assert SECRET not in mask_url(url) and shown in mask_url(url)


def sparkify(*args: str, env: dict[str, str] | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sparkify", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("url,shown", UNREADABLE[:3])
def test_the_cli_never_echoes_the_password(url, shown, tmp_path):
    import duckdb

    duckdb.connect(str(tmp_path / "a.duckdb")).close()  # compare opens it before --against
    runs = [
        sparkify("run", "-q", "--source", str(tmp_path), "--warehouse", url, cwd=tmp_path),
        sparkify("check", env={"SPARKIFY_WAREHOUSE": url}, cwd=tmp_path),
        sparkify("compare", "-w", "duckdb:///a.duckdb", "--against", url, cwd=tmp_path),
    ]
    (tmp_path / "sparkify.toml").write_text(f'warehouse = "{url}"\n')
    runs.append(sparkify("check", cwd=tmp_path))
    for done in runs:
        assert done.returncode == 2, done.stderr
        assert SECRET not in done.stdout + done.stderr
        assert shown in done.stderr, done.stderr


def test_mask_url_leaves_strings_without_a_password_alone():
    for text in ("duckdb:///a@b.duckdb", "/data/x@y.duckdb", "postgresql://me@host/db", "host=x user=me"):
        assert mask_url(text) == text
