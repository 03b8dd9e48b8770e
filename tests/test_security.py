"""Hostile names cannot change the SQL; secrets never reach output."""

from __future__ import annotations

import json

import pytest

from sparkify import pipeline
from sparkify.warehouse import quote
from tests.helpers.records import event, song, write_source

HOSTILE = ["a'b", 'q"x', "semi;colon", "$$dollar$$", "glob*[1]?{a,b}", "drop table users; --"]


@pytest.mark.engines("duckdb", "postgres", reason="names of local files: Redshift's COPY reads S3 keys")
@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("big", [False, True], ids=["spooled", "in-place"])
def test_hostile_file_names_are_data_not_sql(tmp_path, warehouse, name, big):
    root = write_source(tmp_path / "src", songs=[song()], events=[])
    folder = root / "log_data" / name
    folder.mkdir(parents=True)
    # in-place files are those of 1 MB or more: pad with Home events
    n = 4000 if big else 1
    lines = [
        json.dumps(event(ts=1541105830796 + i, itemInSession=i, page="NextSong" if i == 0 else "Home"))
        for i in range(n)
    ]
    (folder / f"{name}.json").write_text("\n".join(lines) + "\n")
    report = pipeline.run(warehouse, root)
    assert report.stage.results["events"].read == n
    assert report.rows["songplays"] == 1
    assert all(c.passed for c in report.checks)
    assert report.stage.results["events"].files[str(folder / f"{name}.json")].staged == n


@pytest.mark.engines("duckdb", "postgres", reason="names of local files: Redshift's COPY reads S3 keys")
def test_hostile_file_names_in_rejects_are_reported_verbatim(tmp_path, warehouse):
    root = write_source(tmp_path / "src", songs=[song()], events=[])
    bad = root / "log_data" / "x'; drop table users; --.json"
    bad.write_text("{not json\n")
    pipeline.create_tables(warehouse)
    report = pipeline.stage(warehouse, root, max_errors=1)
    assert [r.source for r in report.rejects] == [str(bad)]
    assert warehouse.table_exists("users")


def test_quote_doubles_embedded_quotes():
    assert quote('we"ird') == '"we""ird"'
    assert quote("time") == '"time"'
