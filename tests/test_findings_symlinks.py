"""Tester finding F3: a file reached through a symbolic link is keyed by its resolved path, so the same
bytes are one file whatever link (or how many links) lead to them: removing one link neither
double-loads the file nor leaves a phantom "kept" file.

Hand-made fixture: one song; log_data/ holds one day file (2 plays) and two links to a folder
outside the source holding x.json (3 plays), plus a file link to x.json. Expected counts by hand:
staging_events = 2 + 3 = 5, whichever links are there.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest

from sparkify import ledger, pipeline
from sparkify.sources.local import LocalSource

pytestmark = pytest.mark.engines(
    "duckdb", "postgres", reason="local folders and their links: Redshift's COPY reads S3 keys"
)


def play(item: int) -> dict:
    return {
        "artist": "X",
        "song": "T",
        "length": 100.0,
        "page": "NextSong",
        "userId": "7",
        "level": "free",
        "sessionId": 5,
        "itemInSession": item,
        "ts": 1541030400000 + item * 1000,
    }


def write(tmp_path: Path) -> tuple[Path, Path]:
    src, ext = tmp_path / "src", tmp_path / "ext"
    (src / "song_data").mkdir(parents=True)
    (src / "song_data" / "s.json").write_text(
        json.dumps({"song_id": "SO1", "title": "T", "artist_name": "X"})
    )
    (src / "log_data").mkdir()
    (src / "log_data" / "day.json").write_text("".join(json.dumps(play(i)) + "\n" for i in (1, 2)))
    ext.mkdir()
    (ext / "x.json").write_text("".join(json.dumps(play(i)) + "\n" for i in (3, 4, 5)))
    os.symlink(ext, src / "log_data" / "link1")
    os.symlink(ext, src / "log_data" / "link2")
    os.symlink(ext / "x.json", src / "log_data" / "x-link.json")
    return src, ext


def count(wh, table: str) -> int:
    return int(wh.query(f"select count(*) from {wh.qualified(table)}")[1][0][0])


def ledger_keys(wh) -> list[str]:
    return sorted(r[0] for r in wh.query("select file from load_files where kind = 'events'")[1])


def test_the_listing_names_a_linked_file_by_its_resolved_path(tmp_path):
    src, ext = write(tmp_path)
    listing = LocalSource(src).list("events")
    assert [f.name for f in listing] == sorted([str(src / "log_data" / "day.json"), str(ext / "x.json")])
    assert len(listing.repeated) == 2  # the second folder link and the file link: read once, counted


def test_removing_one_link_neither_double_loads_nor_keeps_a_phantom(warehouse, tmp_path):
    src, ext = write(tmp_path)
    first = pipeline.run(warehouse, src)
    assert (count(warehouse, "staging_events"), first.rows["songplays"]) == (5, 5)
    assert ledger_keys(warehouse) == sorted([str(src / "log_data" / "day.json"), str(ext / "x.json")])
    for link in ("link1", "x-link.json"):
        (src / "log_data" / link).unlink()
        again = pipeline.run(warehouse, src)
        plan = again.stage.plans["events"]
        assert (plan.absent, plan.new, plan.changed, again.stage.read) == ([], 0, 0, 0)
        assert (count(warehouse, "staging_events"), again.rows["songplays"]) == (5, 5)
    (src / "log_data" / "link2").unlink()  # now x.json is truly gone from the source: kept
    gone = pipeline.run(warehouse, src)
    assert gone.stage.plans["events"].kept == [str(ext / "x.json")]
    assert count(warehouse, "staging_events") == 5


def test_the_upgrade_renames_link_keys_of_an_older_ledger(warehouse, tmp_path):
    src, ext = write(tmp_path)
    pipeline.run(warehouse, src)
    # as sparkify with layout 2 left it: x.json keyed by the first link's path
    old, new = str(src / "log_data" / "link1" / "x.json"), str(ext / "x.json")
    with warehouse.transaction():
        for table, column in (("load_files", "file"), ("staging_events", "source_file")):
            warehouse.execute(
                f"update {table} set {column} = {warehouse.param} where {column} = {warehouse.param}",
                [old, new],
            )
        warehouse.execute("delete from load_schema")
        warehouse.execute(
            f"insert into load_schema (version, upgraded_at) values (2, {warehouse.param})",
            [datetime.datetime(2026, 1, 1)],
        )
    again = pipeline.run(warehouse, src)
    assert ledger.version(warehouse) == ledger.SCHEMA_VERSION
    assert ledger_keys(warehouse) == sorted([str(src / "log_data" / "day.json"), new])
    assert (again.stage.read, count(warehouse, "staging_events"), again.rows["songplays"]) == (0, 5, 5)
