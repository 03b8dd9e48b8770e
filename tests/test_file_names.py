"""File names that are not UTF-8 (a Latin-1 ``café.json`` copied from an old system): the file is
loaded, named in the warehouse with its undecodable bytes as ``\\xNN`` escapes, on every path (a small
file through the spool, a large one read in place) and every engine that reads local files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.errors import BadInputError, SourceError
from sparkify.sources.local import LocalSource
from sparkify.staging.spool import SMALL_FILE
from tests.helpers.records import plain_event, plain_song, rows, write_source

LOCAL_ONLY = pytest.mark.engines("duckdb", "postgres", reason="S3 keys are UTF-8: Redshift loads from S3")


def write_bytes_named(folder: Path, name: bytes, events: list[dict]) -> None:
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(e) + "\n" for e in events)


def day(session: int, n: int, **extra) -> list[dict]:
    """``n`` NextSong events of user 10 in ``session``, items 0..n-1, a second apart."""
    return [
        plain_event(
            sessionId=session, itemInSession=i, ts=1541030400000 + session * 10**7 + i * 1000, **extra
        )
        for i in range(n)
    ]


@LOCAL_ONLY
def test_a_file_whose_name_is_not_utf8_is_loaded_under_an_escaped_name(warehouse, tmp_path):
    src = write_source(tmp_path / "src", songs=[plain_song()], events={"2018-11-01-events.json": day(1, 3)})
    log = src / "log_data"
    write_bytes_named(log, b"caf\xe9-small.json", day(2, 4))  # spooled with the small files
    padding = "x" * 400  # enough events of this size to pass SMALL_FILE: read where it is
    big = day(3, SMALL_FILE // 450 + 10, location=padding)
    write_bytes_named(log, b"caf\xe9-big.json", big)
    assert os.path.getsize(os.fsencode(log) + b"/caf\xe9-big.json") > SMALL_FILE

    report = pipeline.run(warehouse, src)
    real_log = os.path.realpath(log)
    assert report.stage.results["events"].staged == 3 + 4 + len(big)
    assert report.stage.results["events"].rejected == 0
    per_file = dict(
        warehouse.query(
            f"select source_file, count(*) from {warehouse.qualified('staging_events')} group by 1"
        )[1]
    )
    assert per_file == {
        f"{real_log}/2018-11-01-events.json": 3,
        f"{real_log}/caf\\xe9-small.json": 4,
        f"{real_log}/caf\\xe9-big.json": len(big),
    }
    assert len(rows(warehouse, "songplays")) == 3 + 4 + len(big)  # one play per event: distinct keys
    again = pipeline.run(warehouse, src)  # the ledger knows them by the same names: nothing to read
    assert again.stage.plans["events"].to_read == []


def test_two_files_whose_names_escape_alike_are_refused(tmp_path):
    log = tmp_path / "src" / "log_data"
    log.mkdir(parents=True)
    (tmp_path / "src" / "song_data").mkdir()
    write_bytes_named(log, b"caf\xe9.json", day(1, 1))
    (log / "caf\\xe9.json").write_text(json.dumps(day(2, 1)[0]) + "\n")  # the escape as text
    with pytest.raises(SourceError, match=r"names two files .* Rename one"):
        LocalSource(tmp_path / "src").list("events")


@LOCAL_ONLY
def test_a_file_name_with_a_newline_stays_on_one_line_in_messages(warehouse, tmp_path):
    """A name is the file's lineage as it is (load_errors.source holds the real newline); a message
    shows it escaped, so each rejected record is one line that names file, line and field."""
    src = write_source(tmp_path / "src", songs=[plain_song()], events={"2018-11-01-events.json": day(1, 2)})
    bad = day(2, 2)
    del bad[1]["page"]
    write_bytes_named(src / "log_data", b"late\nday.json", bad)
    real_log = os.path.realpath(src / "log_data")

    with pytest.raises(BadInputError) as caught:
        pipeline.run(warehouse, src)
    lines = str(caught.value).splitlines()
    assert f"  {real_log}/late\\nday.json:2: field 'page': required field is missing" in lines

    report = pipeline.run(warehouse, src, max_errors=1)
    (reject,) = report.stage.rejects
    assert str(reject) == f"{real_log}/late\\nday.json:2: field 'page': required field is missing"
    sources = warehouse.query(f"select source from {warehouse.qualified('load_errors')}")[1]
    assert sources == [(f"{real_log}/late\nday.json",)]
    assert len(rows(warehouse, "songplays")) == 2 + 1


def test_a_large_plain_file_named_like_another_compression_is_read_as_it_is(warehouse, tmp_path):
    """Compression is known by its bytes: a plain file over SMALL_FILE named .bz2, .xz, .lz4, .zip
    or .br is read where it is, as it is (tester finding: DuckDB chose a decompression from the name
    and the run failed, exit 70)."""
    from tests.conftest import source_for

    suffixes = (".bz2", ".xz", ".lz4", ".zip", ".br")
    padding = "x" * 400
    n = SMALL_FILE // 450 + 10
    events = {f"day{i}.json{suffix}": day(10 + i, n, location=padding) for i, suffix in enumerate(suffixes)}
    src = write_source(tmp_path / "src", songs=[plain_song()], events=events)
    for name in events:
        assert (src / "log_data" / name).stat().st_size > SMALL_FILE
    report = pipeline.run(warehouse, source_for(warehouse, src))
    assert (report.stage.results["events"].staged, report.stage.results["events"].rejected) == (n * 5, 0)
    assert len(rows(warehouse, "songplays")) == n * 5
