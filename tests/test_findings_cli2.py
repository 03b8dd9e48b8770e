"""A second fresh tester's CLI findings: a lock file that cannot be created is not "another
process", missing tables get both fixes, help examples that work on the shipped sample, exit 74 for
every local file that cannot be written, and --save-expected writes all files or none."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.errors import MissingTableError
from sparkify.warehouse import connect
from tests.conftest import SAMPLE, sparkify

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.fixture(scope="module")
def loaded(tricky_duckdb) -> str:
    return tricky_duckdb


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs /proc, a folder nobody can create files in"
)
def test_a_lock_file_that_cannot_be_created_is_exit_74_at_once_not_a_wait(capsys):
    started = time.monotonic()
    code, _, err = sparkify(capsys, "run", "-q", "-w", "/proc/x.duckdb", "--source", SAMPLE)
    assert code == 74
    assert "Cannot create the lock file /proc/x.duckdb.lock" in err and "Another sparkify process" not in err
    assert time.monotonic() - started < 60  # was: waiting up to --wait-timeout (3600 s)


def test_missing_tables_name_both_fixes_with_agreeing_words(pg_database, tmp_path):
    """In a database of its own: the hint names every schema that holds the tables, so other
    tests' (or runs') schemas in the shared database would change it."""
    other, new = "sparkify_other", "sparkify_new"
    with connect(pg_database, schema=other) as wh:
        pipeline.create_tables(wh)
    with connect(pg_database, schema=new) as wh, pytest.raises(MissingTableError) as exc:
        pipeline.transform(wh)
    text = str(exc.value)
    assert re.search(r"^Tables .* do not exist in ", text), text
    assert f"pass --schema {other}. Or, for this schema: run `sparkify run` first." in text


def test_every_source_path_in_the_run_and_stage_examples_exists_in_the_repo(capsys):
    for command in ("run", "stage"):
        code, out, _ = sparkify(capsys, command, "--help")
        assert code == 0
        paths = re.findall(r"--(?:log-|song-)?source (data/\S+)", out)
        for path in paths:
            assert (REPO / path).is_dir(), (
                f"`sparkify {command} --help` example names {path}, not a folder of the repo"
            )
        if command == "run":  # the example the tester could not follow is among those checked
            assert re.search(r"--log-source data/\S+", out), out


def test_a_single_day_file_as_log_source_says_to_pass_its_folder(capsys, tmp_path):
    day = SAMPLE / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    code, _, err = sparkify(
        capsys, "run", "-q", "-w", tmp_path / "w.duckdb", "--source", SAMPLE, "--log-source", day
    )
    assert code == 66
    assert f"{day} is a file; --log-source takes the folder" in err and f"pass {day.parent}." in err


def test_a_file_as_source_says_it_is_a_file(capsys, tmp_path):
    day = SAMPLE / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    code, _, err = sparkify(capsys, "run", "-q", "-w", tmp_path / "w.duckdb", "--source", day)
    assert code == 66
    assert f"{day} is a file; --source takes the folder that holds song_data/ and log_data/" in err
    assert "does not exist" not in err
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc, a folder nobody can write in")
def test_a_report_that_cannot_be_written_is_exit_74(capsys, loaded):
    code, _, err = sparkify(capsys, "report", "-w", loaded, "--out", "/proc/nope.html")
    assert code == 74 and "Cannot write the report to /proc/nope.html" in err


@pytest.mark.parametrize("under", ["afile/r.html", "afile/deeper/r.html"])
def test_a_report_under_a_file_says_which_is_the_file(capsys, loaded, tmp_path, under):
    # it said "File exists" (tester finding)
    (tmp_path / "afile").write_text("x")
    code, _, err = sparkify(capsys, "report", "-w", loaded, "--out", tmp_path / under)
    assert code == 74
    assert err.startswith(
        f"Error: Cannot write the report to {tmp_path / under}: {tmp_path / 'afile'} is a file, not a folder."
    )


def test_save_expected_writes_every_file_or_none(capsys, loaded, tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    (team / "a_plays.sql").write_text("select count(*) as plays from songplays\n")
    (team / "b_shares.sql").write_text(
        "select level,\n  ratio_to_report(count(*)) over () as share\nfrom songplays group by level\n"
    )
    out_dir = tmp_path / "expected"
    code, _, err = sparkify(capsys, "analytics", "-w", loaded, "--queries", team, "--save-expected", out_dir)
    assert code == 2 and "RATIO_TO_REPORT" in err
    assert not out_dir.exists() or list(out_dir.iterdir()) == []  # a_plays.csv was written before
    (team / "b_shares.sql").unlink()
    code, _, _ = sparkify(capsys, "analytics", "-w", loaded, "--queries", team, "--save-expected", out_dir)
    assert code == 0 and (out_dir / "a_plays.csv").read_text() == "plays\n8\n"  # tricky.py: 8 plays
