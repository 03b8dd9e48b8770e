"""Tester findings about what the CLI tells a new user (F5, F6, F7): run as a user runs it
(``python -m sparkify``), so the tests hold whatever module hosts the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sparkify import connect
from sparkify.errors import ConfigError
from tests.conftest import SAMPLE


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


# -- F6: a DuckDB URL that names no file, or a database in memory, for a command that writes ------


@pytest.mark.parametrize("url", ["duckdb:///", "duckdb:", "duckdb:///?threads=2"])
def test_a_duckdb_url_naming_no_file_is_a_configuration_error(url, tmp_path):
    with pytest.raises(ConfigError, match="names no file"):
        connect(url)
    done = sparkify("run", "-q", "--source", str(SAMPLE), "--warehouse", url, cwd=tmp_path)
    assert done.returncode == 2 and "names no file" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created anywhere


@pytest.mark.parametrize("url", ["duckdb:///:memory:", ":memory:"])
def test_commands_that_write_refuse_an_in_memory_database(url, tmp_path):
    for command in (
        ["run", "-q", "--source", str(SAMPLE)],
        ["stage", "--source", str(SAMPLE)],
        ["create-tables"],
    ):
        done = sparkify(*command, "--warehouse", url, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "in-memory DuckDB database" in done.stderr and "Loaded" not in done.stdout
    with pytest.raises(ConfigError, match="in-memory"):
        connect(url, must_persist=True)
    with connect(url) as wh:  # the library may still use one: the caller keeps the connection
        assert wh.query("select 1")[1] == [(1,)]


@pytest.mark.parametrize("setting", ["memory_limit=bogus", "threads=0", "threads=x"])
def test_a_bad_duckdb_setting_value_is_a_configuration_error(setting, tmp_path):
    url = f"duckdb:///{tmp_path}/w.duckdb?{setting}"
    name = setting.split("=")[0]
    with pytest.raises(ConfigError, match=f"Invalid DuckDB setting {name}="):
        connect(url)
    done = sparkify("run", "-q", "--source", str(SAMPLE), "--warehouse", url, cwd=tmp_path)
    assert done.returncode == 2 and f"Invalid DuckDB setting {name}=" in done.stderr, done.stderr


# -- F5: configuration problems are exit 2, and the final line names the schema -------------------


@pytest.mark.parametrize(
    "query",
    [
        "sslmode=bogus",
        "foo=1",
        "options=-c%20work_mem=bogus",  # a second '=' the URI does not escape (tester finding: exit 75)
        "options=-c%20work_mem%3Dbogus",  # the server refuses the setting at login
    ],
)
def test_a_url_libpq_refuses_is_a_configuration_error_not_a_retry(query, postgres_url, tmp_path):
    done = sparkify("check", "--warehouse", f"{postgres_url}?{query}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr  # was 75: a scheduler would retry it forever
    assert "Fix the URL" in done.stderr or "Check the URL" in done.stderr, done.stderr
    assert "retry" not in done.stderr


@pytest.mark.parametrize(
    "query",
    [
        # without SSL on the server: "does not support SSL"; with it: the root certificate is missing
        "sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
        # the test server authenticates by trust: no channel binding can happen (tester finding: exit 75)
        "channel_binding=require",
    ],
)
def test_security_settings_the_server_cannot_meet_are_a_configuration_error(query, postgres_url, tmp_path):
    done = sparkify("check", "--warehouse", f"{postgres_url}?{query}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Fix the URL's SSL settings (sslmode, certificates), or the server's." in done.stderr, done.stderr


@pytest.mark.parametrize("flag,env", [(["--schema", ""], {}), ([], {"SPARKIFY_SCHEMA": "  "})])
def test_an_empty_schema_name_is_refused(flag, env, postgres_url, tmp_path):
    # `check` only reads: were the empty name taken for public, still nothing would be created there
    done = sparkify("check", "--warehouse", postgres_url, *flag, cwd=tmp_path, env=env)
    assert done.returncode == 2 and "a schema needs a name" in done.stderr, done.stderr
    with pytest.raises(ConfigError, match="schema needs a name"):
        connect(postgres_url, schema="")


def test_the_final_line_names_the_schema(postgres_url, pg_schema, tmp_path):
    done = sparkify(
        "run", "-q", "--source", str(SAMPLE), "--warehouse", postgres_url, "--schema", pg_schema, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert f" into {postgres_url} (schema {pg_schema}) in " in done.stdout.splitlines()[-1]


# -- F12: small message issues ---------------------------------------------------------------------


def test_links_read_already_are_counted_in_plain_english(tmp_path):
    src = tmp_path / "src"
    (src / "song_data").mkdir(parents=True)
    (src / "song_data" / "s.json").write_text('{"song_id": "SO1"}')
    (src / "log_data").mkdir()
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / "d.json").write_text('{"ts": 1541030400000, "page": "Home", "sessionId": 1, "itemInSession": 0}\n')
    (src / "log_data" / "a").symlink_to(ext)
    (src / "log_data" / "b").symlink_to(ext)
    (src / "log_data" / "c").symlink_to(ext)
    done = sparkify("run", "--source", str(src), "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "events: passed over 2 links to a folder or file already read (nothing to read)" in done.stdout


def test_a_user_id_of_ten_digits_is_named_for_its_length():
    from sparkify.staging.framing import frame
    from sparkify.staging.rules import type_record

    (raw,) = list(
        frame(
            b'{"ts": 1541030400000, "page": "Home", "sessionId": 1, "itemInSession": 0, "userId": "0000000007"}'
        )
    )
    assert type_record("events", raw.record)[1] == (
        "userId",
        'expected a string of at most 9 digits or "", got "0000000007"',
    )


# -- F11: --quiet holds for stage and transform too ------------------------------------------------


def test_quiet_stage_and_transform_print_only_the_final_result(tmp_path):
    src = tmp_path / "src"
    (src / "song_data").mkdir(parents=True)
    (src / "song_data" / "s.json").write_text(
        '{"song_id": "SO1", "title": "T", "artist_name": "X", "duration": 1.0}'
    )
    (src / "log_data").mkdir()
    event = '{"ts": 1541030400000, "page": "NextSong", "sessionId": 1, "itemInSession": %d, "userId": "7", "song": "T", "artist": "X", "length": 1.0}\n'
    (src / "log_data" / "d.json").write_text(event % 0 + event % 1)
    w = str(tmp_path / "w.duckdb")
    assert sparkify("create-tables", "-q", "--warehouse", w, cwd=tmp_path).returncode == 0
    stage = sparkify("stage", "-q", "--source", str(src), "--warehouse", w, cwd=tmp_path)
    assert (stage.returncode, stage.stderr) == (0, "")
    assert stage.stdout.splitlines() == [f"Staged 3 records (0 rejected) into {w}."]
    transform = sparkify("transform", "-q", "--warehouse", w, cwd=tmp_path)
    assert (transform.returncode, transform.stderr) == (0, "")
    # one song (no artist_id: no artist), two plays of user 7 at one instant (one time row)
    assert transform.stdout.splitlines() == [
        f"Rebuilt the star tables in {w}: users 1, songs 1, artists 0, songplays 2, time 1."
    ]


def test_quiet_transform_names_the_schema_as_stage_does(tmp_path, postgres_url, pg_schema):
    # transform's line named the database alone, stage's and run's the schema too (tester finding)
    w = ["--warehouse", postgres_url, "--schema", pg_schema]
    assert sparkify("create-tables", "-q", *w, cwd=tmp_path).returncode == 0
    stage = sparkify("stage", "-q", "--source", str(SAMPLE), *w, cwd=tmp_path)
    assert stage.returncode == 0, stage.stderr
    transform = sparkify("transform", "-q", *w, cwd=tmp_path)
    assert transform.returncode == 0, transform.stderr
    assert stage.stdout.rstrip().endswith(f"into {postgres_url} (schema {pg_schema}).")
    assert transform.stdout.startswith(
        f"Rebuilt the star tables in {postgres_url} (schema {pg_schema}): users "
    )


@pytest.mark.parametrize("command", [["transform"], ["stage", "--source", str(SAMPLE)]])
def test_a_step_on_a_missing_database_creates_no_file(tmp_path, command):
    # stage made an empty database file, and then said its tables did not exist (tester finding); the
    # next command then said "Table load_runs does not exist" instead of "There is no DuckDB database"
    done = sparkify(*command, "--warehouse", "st1.duckdb", cwd=tmp_path)
    assert done.returncode == 2 and "There is no DuckDB database at st1.duckdb" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []
