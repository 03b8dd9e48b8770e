"""A source folder that is not there is refused before anything is created or recorded (tester
finding: `run` with a mistyped --source left a new DuckDB file with every table, and a failed run in
load_runs; `check` then said "the tables are empty" instead of "no database")."""

from __future__ import annotations

import pytest

from sparkify import pipeline
from sparkify.errors import SourceError
from tests.conftest import sparkify
from tests.helpers.records import event, song, write_source


@pytest.mark.parametrize("command", ["run", "stage"])
def test_a_missing_source_creates_no_warehouse(capsys, cli_env, tmp_path, command):
    code, _, err = sparkify(capsys, command, "-s", "nosuch", "-w", "w.duckdb")
    assert code == 66
    assert err == (
        f"Error: Source folder {tmp_path}/nosuch does not exist. Pass --source with a folder that holds "
        "song_data/ and log_data/.\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_missing_day_folder_records_no_run(capsys, cli_env, tmp_path):
    src = write_source(tmp_path / "src", songs=[song()], events={"2018/11/01/d.json": [event()]})
    assert sparkify(capsys, "run", "-q", "-s", src, "-w", "w.duckdb")[0] == 0
    day = src / "log_data" / "2018" / "11" / "02"
    code, _, err = sparkify(capsys, "run", "-s", src, "--log-source", day, "-w", "w.duckdb")
    assert (code, err) == (66, f"Error: {day} does not exist or is not a folder. Check --log-source.\n")
    code, out, _ = sparkify(capsys, "runs", "--json", "-w", "w.duckdb")
    assert code == 0 and len(out.splitlines()) == 1  # the first run only


@pytest.mark.engines(
    "duckdb", "postgres", reason="an S3 prefix has no folders: its listing refuses it (test_s3.py)"
)
def test_the_library_refuses_before_creating_tables(warehouse, tmp_path):
    (tmp_path / "src" / "song_data").mkdir(parents=True)  # log_data/ missing
    with pytest.raises(SourceError, match="log_data does not exist"):
        pipeline.run(warehouse, tmp_path / "src")
    assert not warehouse.table_exists("load_runs") and not warehouse.table_exists("songplays")


@pytest.mark.parametrize("typed", ["S3://bucket/sample", "s3:/bucket/sample", "S3:/bucket/sample"])
def test_a_mistyped_s3_uri_says_how_one_is_written(capsys, cli_env, tmp_path, typed):
    """Tester finding: `--source S3://b/p` was "Source folder .../S3:/b/p does not exist", no word of S3."""
    code, _, err = sparkify(capsys, "run", "-s", typed, "-w", "w.duckdb")
    assert code == 66
    assert err.endswith(" An S3 source is written s3://bucket/sample (lower-case s3, two slashes).\n"), err


def test_a_kinds_folder_that_is_a_file_says_so(capsys, cli_env, tmp_path):
    """Tester finding: a song_data that is a file was said not to exist."""
    (tmp_path / "src" / "log_data").mkdir(parents=True)
    (tmp_path / "src" / "song_data").write_text("{}")
    code, _, err = sparkify(capsys, "run", "-s", "src", "-w", "w.duckdb")
    assert (code, err) == (
        66,
        f"Error: {tmp_path}/src/song_data is a file: a source folder must hold song_data/ and log_data/ as "
        "folders.\n",
    )
