"""Leftovers of the fresh tester's findings (low): a schema given for DuckDB, an empty --engine for
``sparkify sql``, and what ``runs`` shows for a run that was rolled back."""

from __future__ import annotations

import json

import pytest

from sparkify.errors import ConfigError
from sparkify.warehouse import connect, offline
from tests.conftest import SAMPLE, sparkify

pytestmark = pytest.mark.usefixtures("cli_env")


def test_a_schema_given_for_duckdb_is_refused_before_anything_is_written(capsys, tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    code, out, err = sparkify(capsys, "run", "-q", "-s", SAMPLE, "-w", f"duckdb:///{db}", "--schema", "music")
    assert code == 2 and out == ""
    assert "A schema ('music') applies to PostgreSQL and Redshift" in err and "Drop --schema" in err
    assert not db.exists()  # refused before the file was made
    monkeypatch.setenv("SPARKIFY_SCHEMA", "music")  # the same from the environment
    code, _, err = sparkify(capsys, "run", "-q", "-s", SAMPLE, "-w", f"duckdb:///{db}")
    assert code == 2 and "SPARKIFY_SCHEMA" in err and not db.exists()
    code, _, err = sparkify(capsys, "sql", "--engine", "duckdb", "--schema", "music")
    assert code == 2 and "A schema ('music')" in err
    with pytest.raises(ConfigError):
        connect(f"duckdb:///{db}", schema="music")
    with pytest.raises(ConfigError):
        offline("duckdb", schema="music")


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
    row = next(line for line in out.splitlines() if line.startswith("│") and " failed " in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    # started, load id, command, status, secs, files, staged, rejected, checks failed
    assert cells[2:4] == ["run", "failed"] and cells[5:8] == ["-", "-", "1"], cells
    assert "A run that did not succeed changed nothing" in out
