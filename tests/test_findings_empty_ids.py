"""Tester finding F1: an empty ``song_id`` / ``artist_id`` (``""``) is as missing as null.

* ``song_id`` is required (CONTRACT.md, "Records"): ``""`` is rejected like a missing or null one,
  naming the file, line and field, on the fast and the precise reader path, local or S3 source.
* ``artist_id`` is optional: ``""`` stages, and the star tables treat it as null (``songs.artist_id``
  NULL, no ``artists`` row), so no relationship check can fail on it.
* Whatever staging holds (rows staged before the rule, or by a COPY that does not apply it), a play
  only ever matches a song_id the ``songs`` dimension holds.

The fixture is written by hand here; the expected rows are worked out by hand from it (comments).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.errors import BadInputError
from sparkify.schema import STAGING_SONGS
from sparkify.staging.framing import frame
from sparkify.staging.rules import type_record
from tests.conftest import CLIENT_ENGINES, source_for

EVENT = {
    "artist": "X",
    "auth": "Logged In",
    "firstName": "A",
    "gender": "F",
    "itemInSession": 1,
    "lastName": "L",
    "length": 100.0,
    "level": "free",
    "location": "Here",
    "method": "PUT",
    "page": "NextSong",
    "registration": 1540000000000.0,
    "sessionId": 5,
    "song": "T",
    "status": 200,
    "ts": 1541200000001,
    "userAgent": "UA",
    "userId": "7",
}
SONG = {
    "artist_id": "AR1",
    "artist_latitude": None,
    "artist_location": "",
    "artist_longitude": None,
    "artist_name": "X",
    "duration": 100.0,
    "num_songs": 1,
    "song_id": "SO3",
    "title": "T",
    "year": 1999,
}


def write(root: Path) -> Path:
    """The tester's F1 input plus the real song the empty one stole the play from.

    song_data: a.json  song_id ""  (T / X / 100.0)     -> rejected (line 1, song_id)
               a2.json song_id ""  pretty-printed       -> rejected (line 1: its first character)
               b.json  SO2, artist_id "" (U / Y / 100.0) -> staged; songs.artist_id NULL; no artist
               c.json  SO3, AR1 (T / X / 100.0)          -> staged; the only song and artist kept
    log_data:  two plays of user 7: T/X/100.0 (item 1) and U/Y/100.0 (item 2), one logged-out play.
    """
    songs = root / "song_data" / "A"
    days = root / "log_data" / "2018" / "11"
    songs.mkdir(parents=True)
    days.mkdir(parents=True)
    (songs / "a.json").write_text(json.dumps({**SONG, "song_id": ""}))
    (songs / "a2.json").write_text(json.dumps({**SONG, "song_id": ""}, indent=2))
    (songs / "b.json").write_text(
        json.dumps({**SONG, "song_id": "SO2", "artist_id": "", "artist_name": "Y", "title": "U"})
    )
    (songs / "c.json").write_text(json.dumps(SONG))
    events = [
        EVENT,
        {**EVENT, "itemInSession": 2, "ts": 1541200000002, "artist": "Y", "song": "U"},
        {**EVENT, "itemInSession": 3, "ts": 1541200000003, "userId": "", "firstName": None},
    ]
    (days / "2018-11-01-events.json").write_text("".join(json.dumps(e) + "\n" for e in events))
    return root


EXPECTED_SONGS = [("SO2", "U", None, 1999, 100.0), ("SO3", "T", "AR1", 1999, 100.0)]
EXPECTED_ARTISTS = [("AR1", "X", None, None, None)]
EXPECTED_PLAYS = [(7, "SO3", "AR1"), (7, "SO2", None)]  # by start_time; the logged-out one is no play
EXPECTED_REJECTS = [("a.json", 1, "song_id"), ("a2.json", 1, "song_id")]


def rows(wh, sql: str) -> list[tuple]:
    return [tuple(r) for r in wh.query(sql)[1]]


def star(wh) -> tuple[list, list, list]:
    return (
        rows(wh, "select song_id, title, artist_id, year, duration from songs order by song_id"),
        rows(wh, "select artist_id, name, location, latitude, longitude from artists order by artist_id"),
        rows(wh, "select user_id, song_id, artist_id from songplays order by start_time"),
    )


def rejects(wh, load_id: str) -> list[tuple]:
    _, found = wh.query(
        f"select source, line, field from load_errors where load_id = {wh.param} order by source, line",
        [load_id],
    )
    return [(Path(s).name, line, field) for s, line, field in found]


def test_the_rules_reject_an_empty_required_key_and_name_it():
    def problem(kind: str, record: dict):
        (raw,) = list(frame(json.dumps(record).encode()))
        return type_record(kind, raw.record)[1]

    assert problem("songs", {**SONG, "song_id": ""}) == ("song_id", 'required field is empty ("")')
    assert problem("events", {**EVENT, "page": ""}) == ("page", 'required field is empty ("")')
    assert problem("events", {**EVENT, "sessionId": ""})[0] == "sessionId"
    # optional keys: "" stays a value (artist_id) or means logged out (userId)
    assert problem("songs", {**SONG, "artist_id": ""}) is None
    assert problem("events", {**EVENT, "userId": ""}) is None
    # a song_id that is not a string but whose text is non-empty is kept as its text
    row, reason = type_record("songs", {**SONG, "song_id": 0})
    assert reason is None and row["song_id"] == "0"


def test_empty_ids_never_reach_the_star_schema(warehouse, tmp_path):
    src = source_for(warehouse, write(tmp_path / "src"))
    if not warehouse.copies_from_s3:
        with pytest.raises(BadInputError, match=r"a\.json:1: field 'song_id': required field is empty"):
            pipeline.run(warehouse, src)
    report = pipeline.run(warehouse, src, max_errors=2)
    assert star(warehouse) == (EXPECTED_SONGS, EXPECTED_ARTISTS, EXPECTED_PLAYS)
    assert not report.checks_failed
    if warehouse.copies_from_s3 and report.stage.rejected == 0:
        # Redshift's server-side COPY does not apply the record rules: the "" song records are
        # staged, and the star tables above must still leave them out
        assert rows(warehouse, "select count(*) from staging_songs where song_id = ''") == [(2,)]
    else:
        assert rejects(warehouse, report.load_id) == EXPECTED_REJECTS
        assert report.stage.read == 4 + 3 and report.stage.rejected == 2
        # users and logged-out events keep their meaning: one user, the logged-out event staged
        assert rows(warehouse, "select count(*) from staging_events where user_id = ''") == [(1,)]
        assert rows(warehouse, "select user_id from users") == [(7,)]


@pytest.mark.parametrize("engine", CLIENT_ENGINES)
def test_empty_song_id_is_rejected_from_an_s3_source_too(engine, request, tmp_path, aws_env):
    from tests.conftest import S3_BUCKET, open_engine
    from tests.helpers.s3 import sync

    uri = sync(aws_env, write(tmp_path / "src"), f"s3://{S3_BUCKET}/f1-{engine}-{tmp_path.name}")
    with open_engine(engine, request, tmp_path) as wh:
        report = pipeline.run(wh, uri, max_errors=2)
        assert rejects(wh, report.load_id) == EXPECTED_REJECTS
        assert star(wh) == (EXPECTED_SONGS, EXPECTED_ARTISTS, EXPECTED_PLAYS)
        assert not report.checks_failed


def test_staged_empty_song_ids_are_never_matched(warehouse, tmp_path):
    # staging rows from before the rule (or from any loader): the transform alone must keep the
    # star tables consistent. Songs "" and "SO3" both match the play; "" sorts first but is no song.
    src = source_for(warehouse, write(tmp_path / "src"))
    pipeline.run(warehouse, src, max_errors=2)
    with warehouse.transaction():
        warehouse.execute("delete from staging_songs where song_id = ''")
        for artist_id in ("AR1", ""):
            warehouse.insert_row(
                STAGING_SONGS,
                {
                    "song_id": "",
                    "title": "T",
                    "artist_id": artist_id,
                    "artist_name": "X",
                    "duration": 100.0,
                    "year": 1999,
                    "num_songs": 1,
                    "source_file": "old.json",
                },
            )
    pipeline.transform(warehouse)
    assert star(warehouse) == (EXPECTED_SONGS, EXPECTED_ARTISTS, EXPECTED_PLAYS)
    assert [c.check.name for c in pipeline.check(warehouse) if not c.passed] == []
