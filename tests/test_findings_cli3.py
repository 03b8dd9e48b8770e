"""Leftovers of the fresh testers' findings (low): a schema named for DuckDB, an empty --engine for
``sparkify sql``, and what ``runs`` shows for a run that was rolled back."""

from __future__ import annotations

import json

import pytest

from sparkify.errors import ConfigError
from sparkify.warehouse import connect, offline
from tests.conftest import SAMPLE, sparkify

pytestmark = pytest.mark.usefixtures("cli_env")


def test_a_schema_named_for_duckdb_is_refused_before_anything_is_written(capsys, tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    code, out, err = sparkify(capsys, "run", "-q", "-s", SAMPLE, "-w", f"duckdb:///{db}", "--schema", "music")
    assert code == 2 and out == ""
    assert err == (
        "Error: --schema music applies to PostgreSQL and Redshift: a DuckDB warehouse keeps every table in "
        "its own file. Drop --schema, or use another DuckDB file.\n"
    )
    assert not db.exists()  # refused before the file was made
    code, _, err = sparkify(capsys, "sql", "--engine", "duckdb", "--schema", "music")
    assert code == 2 and "--schema music applies to PostgreSQL and Redshift" in err
    with pytest.raises(ConfigError, match="schema=None"):  # the library takes no schema for DuckDB
        connect(f"duckdb:///{db}", schema="music")
    with pytest.raises(ConfigError, match="schema=None"):
        offline("duckdb", schema="music")


def test_a_schema_from_the_environment_or_sparkify_toml_does_not_apply_to_duckdb(
    capsys, tmp_path, monkeypatch
):
    # shared settings (a schema for the production PostgreSQL) while loading a local DuckDB file
    monkeypatch.setenv("SPARKIFY_SCHEMA", "music")
    code, out, _ = sparkify(capsys, "run", "-q", "-s", SAMPLE, "-w", "from-env.duckdb", "--json")
    assert code == 0 and json.loads(out)["tables"]["songplays"] > 0
    monkeypatch.delenv("SPARKIFY_SCHEMA")
    (tmp_path / "sparkify.toml").write_text('schema = "music"\n')
    code, out, _ = sparkify(capsys, "run", "-q", "-s", SAMPLE, "-w", "from-toml.duckdb", "--json")
    assert code == 0 and json.loads(out)["tables"]["songplays"] > 0
    code, out, _ = sparkify(capsys, "sql", "--engine", "duckdb", "create-tables")
    assert code == 0 and '"music"' not in out


def test_sql_names_the_engines_it_knows_for_an_empty_or_unknown_engine(capsys):
    for engine in ("", "mysql"):
        code, out, err = sparkify(capsys, "sql", "--engine", engine)
        assert code == 2 and out == ""
        assert err == f"Error: Unknown engine '{engine}'. Engines: duckdb, postgres, redshift.\n", err
    code, out, _ = sparkify(capsys, "sql", "--engine", "postgres", "create-tables")
    assert code == 0 and "create unlogged table" in out


def test_runs_shows_no_staged_rows_for_a_run_that_was_rolled_back(capsys, tmp_path):
    src = tmp_path / "src"
    (src / "log_data").mkdir(parents=True)
    (src / "song_data").mkdir()
    (src / "song_data" / "s.json").write_text(json.dumps({"song_id": "S1", "title": "T", "artist_id": "A1"}))
    good = {"ts": 1541030400000, "userId": "7", "sessionId": 1, "itemInSession": 0, "page": "NextSong"}
    (src / "log_data" / "a.json").write_text(json.dumps(good) + "\n")
    (src / "log_data" / "b.json").write_text("{oops\n")  # one bad record: the run fails (--max-errors 0)
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    code, _, _ = sparkify(capsys, "run", "-q", "-s", src, "-w", wh)
    assert code == 65
    code, out, _ = sparkify(capsys, "runs", "-w", wh)
    assert code == 0
    row = next(line for line in out.splitlines() if " failed " in line)
    cells = row.split()
    # started (month, day, time), load id, command, status, secs, files, staged, rejected, checks failed
    assert cells[4:6] == ["run", "failed"] and cells[7:10] == ["-", "-", "1"], cells
    assert "A run that did not succeed changed nothing" in out


def test_stage_names_the_schema_it_staged_into(capsys, postgres_url, pg_schema):
    where = ["-w", postgres_url, "--schema", pg_schema]
    assert sparkify(capsys, "create-tables", *where)[0] == 0
    code, out, err = sparkify(capsys, "stage", "-q", "-s", SAMPLE, *where)
    assert code == 0, err
    assert out.splitlines()[-1].endswith(f"into {postgres_url} (schema {pg_schema}).")


def test_the_json_of_a_run_that_fails_early_says_where_it_read_and_wrote(capsys, tmp_path):
    missing = tmp_path / "nope"
    code, out, _ = sparkify(capsys, "run", "--json", "-s", missing, "-w", tmp_path / "w.duckdb")
    summary = json.loads(out)
    assert code == 66 and summary["status"] == "failed"
    assert (summary["source"], summary["warehouse"]) == (str(missing), str(tmp_path / "w.duckdb"))
    code, out, _ = sparkify(
        capsys, "stage", "--json", "-s", missing, "-w", "postgresql://me:hunter2@127.0.0.1:1/db"
    )
    summary = json.loads(out)
    assert code != 0 and summary["warehouse"] == "postgresql://me:***@127.0.0.1:1/db" and "hunter2" not in out


def test_the_json_names_the_source_as_the_other_outputs_do(capsys, tmp_path, monkeypatch):
    # a tester's finding: --json gave "src" as typed where the text and `runs` give the full path,
    # and null after a connection failure when no --source was given
    monkeypatch.chdir(SAMPLE.parent)
    code, out, _ = sparkify(capsys, "run", "--json", "-q", "-s", SAMPLE.name, "-w", tmp_path / "w.duckdb")
    assert code == 0 and json.loads(out)["source"] == str(SAMPLE.resolve())
    monkeypatch.chdir(SAMPLE.parent.parent)  # the checkout: its sample is the default source
    code, out, _ = sparkify(capsys, "run", "--json", "-w", "postgresql://me@127.0.0.1:1/db")
    summary = json.loads(out)
    assert code == 75 and summary["status"] == "failed"
    assert summary["source"] == str(SAMPLE.resolve())  # the default: the sample of this checkout


# -- tester finding: --json printed nothing for a usage error or a signal in the first moments -----


def _summary_keys() -> set[str]:
    from sparkify import summary

    return set(summary.empty("run"))


@pytest.mark.parametrize("command", ["run", "stage", "transform", "check"])
def test_a_usage_error_still_prints_the_json_line(capsys, tmp_path, command):
    code, out, err = sparkify(capsys, "-q", command, "--json", "--bogus")
    assert code == 2 and "No such option '--bogus'" in err
    summary = json.loads(out)
    assert set(summary) == _summary_keys()
    assert (summary["command"], summary["status"], summary["exit_code"]) == (command, "failed", 2)
    assert summary["error"] == "No such option '--bogus'."


def test_a_signal_before_the_options_are_read_still_prints_the_json_line(capsys, tmp_path, monkeypatch):
    import signal

    from sparkify.cli import cli
    from sparkify.errors import Interrupted

    def stopped(*args, **kwargs):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(cli, "make_context", stopped)  # the signal lands while click parses
    code, out, err = sparkify(capsys, "check", "--json", "-w", tmp_path / "w.duckdb")
    assert (code, err) == (143, "Terminated; nothing was changed.\n")
    summary = json.loads(out)
    assert (summary["command"], summary["status"], summary["exit_code"]) == ("check", "interrupted", 143)
    assert summary["error"] == "Terminated; nothing was changed."


def test_the_console_scripts_first_moments_print_the_json_line_too():
    """A signal before the commands are even imported is handled in sparkify.__main__; with --json it
    prints the summary line as well."""
    import subprocess
    import sys

    code = (
        "import sys; sys.argv = ['sparkify', '-q', 'run', '--json', '-s', 'x'];"
        "from sparkify.__main__ import _early_json; _early_json('Interrupted; nothing was changed.', 130)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    summary = json.loads(done.stdout)
    assert (summary["command"], summary["status"], summary["exit_code"]) == ("run", "interrupted", 130)
    code = code.replace("'--json', ", "")
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout == ""
    )
