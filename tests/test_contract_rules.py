"""Each rule of CONTRACT.md on a tiny hand-made input, on every engine under test.

Expected rows are written out by hand from the contract, never computed by the code under test.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math

import pytest

from sparkify import pipeline
from tests.conftest import sample_for, source_for
from tests.helpers.records import NO_SONG, NOW, event, plain_event, plain_song, rows, song, write_source

T0 = dt.datetime(2018, 11, 1, 20, 57, 10, 796000)
"""NOW as a timestamp."""


def ts(text: str) -> int:
    """'2018-12-31 23:59:59.999' (UTC) -> epoch milliseconds."""
    t = dt.datetime.fromisoformat(text)
    return calendar.timegm(t.timetuple()) * 1000 + t.microsecond // 1000


INERT_SONG = plain_song(
    song_id="SOINERT", title="Nobody plays this", artist_id="ARINERT", artist_name="Nobody"
)
"""A song file for a test about events only: a source with no song file is an error (CONTRACT)."""
INERT_EVENT = plain_event(
    **NO_SONG, userId="", page="Home", firstName=None, lastName=None, gender=None, auth="Logged Out"
)
"""A log file's event for a test about songs only: logged out and no play, so it reaches no star table."""


def run(wh, tmp_path, songs, logs):
    songs, logs = songs or [INERT_SONG], logs or [INERT_EVENT]
    report = pipeline.run(
        wh,
        source_for(
            wh,
            write_source(
                tmp_path / "src",
                songs=songs,
                events=logs if isinstance(logs, dict) else {"2018-11-01-events.json": logs},
            ),
        ),
    )
    assert [c.check.name for c in report.checks_failed] == []
    return report


def test_numbers_where_text_belongs_take_their_text_form(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [
            plain_song(song_id="SOA", title=66, artist_id="ARA", artist_name=1999, duration=100.0),
            plain_song(song_id="SOB", title=3.5, artist_id="ARB", artist_name="Band", duration=50.25),
        ],
        [
            plain_event(itemInSession=0, song="66", artist="1999", length=100.0),
            plain_event(itemInSession=1, ts=NOW + 1000, song="3.5", artist="Band", length=50.25),
        ],
    )
    assert rows(warehouse, "songs") == [("SOA", "66", "ARA", 2000, 100.0), ("SOB", "3.5", "ARB", 2000, 50.25)]
    assert rows(warehouse, "artists") == [
        ("ARA", "1999", None, None, None),
        ("ARB", "Band", None, None, None),
    ]
    assert rows(warehouse, "songplays", ["start_time", "song_id", "artist_id"]) == [
        (T0, "SOA", "ARA"),
        (T0 + dt.timedelta(seconds=1), "SOB", "ARB"),
    ]


def test_several_matching_songs_the_smallest_song_id_wins(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [
            plain_song(song_id="SOZ", title="Twin", artist_id="ARZ", artist_name="Same", duration=180.0),
            plain_song(song_id="SOM", title="Twin", artist_id="ARM", artist_name="Same", duration=180.0),
            plain_song(song_id="SOB", title="Twin", artist_id="ARB", artist_name="Same", duration=180.0),
            plain_song(
                song_id="SOA", title="Twin", artist_id="ARA", artist_name="Same", duration=180.5
            ),  # length differs
            plain_song(song_id="SO0", title="twin", artist_id="AR0", artist_name="Same", duration=180.0),
        ],  # case differs
        [plain_event(song="Twin", artist="Same", length=180.0)],
    )
    assert rows(warehouse, "songplays", ["user_id", "song_id", "artist_id"]) == [(10, "SOB", "ARB")]


def test_a_play_matching_several_songs_is_still_one_play(warehouse, tmp_path):
    """Songs are matched by (title, artist name, duration) once each: a duration written 0.0 and -0.0
    is one value (both equal a play's 0.0), and a play that several songs match stays one play."""
    run(
        warehouse,
        tmp_path,
        [
            plain_song(song_id="SOZ", title="Zero", artist_id="ARZ", artist_name="Nil", duration=0.0),
            plain_song(song_id="SOY", title="Zero", artist_id="ARY", artist_name="Nil", duration=-0.0),
            plain_song(song_id="SOX", title="Zero", artist_id="ARX", artist_name="Nil", duration=0.0),
        ],
        [
            plain_event(itemInSession=0, song="Zero", artist="Nil", length=0.0),
            plain_event(itemInSession=1, ts=NOW + 1000, song="Zero", artist="Nil", length=-0.0),
            plain_event(itemInSession=2, ts=NOW + 2000, song="Zero", artist="Nil", length=0.0),
        ],
    )
    assert rows(warehouse, "songplays", ["start_time", "song_id", "artist_id"]) == [
        (T0, "SOX", "ARX"),
        (T0 + dt.timedelta(seconds=1), "SOX", "ARX"),
        (T0 + dt.timedelta(seconds=2), "SOX", "ARX"),
    ]


def test_unmatched_play_has_null_song_and_artist(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [plain_song(song_id="SOA", title="Real", artist_name="Band", duration=10.0, artist_id="ARA")],
        [
            plain_event(song="Real", artist="Band", length=10.000001),
            plain_event(itemInSession=1, song="Other", artist="Band", length=10.0),
        ],
    )
    assert rows(warehouse, "songplays", ["song_id", "artist_id", "level"]) == [
        (None, None, "free"),
        (None, None, "free"),
    ]


def test_an_event_delivered_twice_is_one_play(warehouse, tmp_path):
    play = plain_event(userId="5", sessionId=3, itemInSession=4, song="S", artist="A", length=1.0)
    run(
        warehouse,
        tmp_path,
        [plain_song(song_id="SOA", title="S", artist_name="A", duration=1.0, artist_id="ARA")],
        {
            "2018-11-01-events.json": [
                play,
                plain_event(**NO_SONG, userId="5", sessionId=3, itemInSession=5, ts=NOW + 10),
            ],
            "2018-11-02-events.json": [play],
        },  # the same event again, in another file
    )
    assert rows(warehouse, "songplays", ["start_time", "user_id", "session_id", "song_id"]) == [
        (T0, 5, 3, "SOA"),
        (T0 + dt.timedelta(milliseconds=10), 5, 3, None),
    ]
    assert rows(warehouse, "time", ["start_time"]) == [(T0,), (T0 + dt.timedelta(milliseconds=10),)]


def test_user_ids_that_spell_the_same_integer_are_one_user_and_one_play(warehouse, tmp_path):
    # CONTRACT: userId is staged as written and read as the INTEGER it spells wherever it is a key
    run(
        warehouse,
        tmp_path,
        [],
        [
            plain_event(**NO_SONG, userId="7", sessionId=2, itemInSession=0, firstName="Old"),
            plain_event(**NO_SONG, userId="007", sessionId=2, itemInSession=0, ts=NOW + 5, firstName="New"),
            plain_event(**NO_SONG, userId="0", sessionId=1, itemInSession=0, firstName="Zero"),
            plain_event(**NO_SONG, userId="00", sessionId=1, itemInSession=1, ts=NOW + 1, firstName="Zeros"),
        ],
    )
    assert sorted(r[0] for r in rows(warehouse, "staging_events", ["user_id"])) == ["0", "00", "007", "7"]
    assert rows(warehouse, "users", ["user_id", "first_name"]) == [(0, "Zeros"), (7, "New")]
    # "7" and "007" in the same session and item: one play, timed by its first delivery
    assert rows(warehouse, "songplays", ["start_time", "user_id", "session_id"]) == [
        (T0, 0, 1),
        (T0, 7, 2),
        (T0 + dt.timedelta(milliseconds=1), 0, 1),
    ]


def test_a_play_delivered_several_times_keeps_its_earliest_delivery_then_smallest_values(warehouse, tmp_path):
    # CONTRACT: the same event delivered twice is one play. Which delivery: the earliest ts, then the
    # smallest level, song, artist, length, location, user agent (nulls last), so every engine keeps
    # the same one. Another play of the user, delivered once, is untouched.
    key = {"userId": "10", "sessionId": 4, "itemInSession": 2}
    run(
        warehouse,
        tmp_path,
        [],
        [
            plain_event(**key, ts=NOW + 5, level="free", location="A"),  # later: loses to smaller values
            plain_event(**key, level=None, location="A"),  # a null level sorts last
            plain_event(**key, level="paid", location="C"),
            plain_event(**key, level="paid", location="B"),  # kept
            plain_event(**key, level="paid", location="A", song="Zed"),  # a later song: loses
            plain_event(**NO_SONG, userId="10", sessionId=4, itemInSession=3, ts=NOW + 7, location="Once"),
        ],
    )
    assert rows(warehouse, "songplays", ["start_time", "user_id", "session_id", "level", "location"]) == [
        (T0, 10, 4, "paid", "B"),
        (T0 + dt.timedelta(milliseconds=7), 10, 4, "free", "Once"),
    ]


def test_a_user_with_tied_latest_events_takes_the_smallest_values(warehouse, tmp_path):
    # CONTRACT: a user's details come from the latest event (largest ts, then larger session_id, then
    # item_in_session). Events tied on all three: the smallest level, then first name, last name,
    # gender (nulls last), so every engine picks the same one.
    home = {**NO_SONG, "userId": "20", "page": "Home", "lastName": "Lee", "gender": "F"}
    run(
        warehouse,
        tmp_path,
        [],
        [
            plain_event(**home, ts=NOW, sessionId=9, itemInSession=9, level="free", firstName="Old"),
            plain_event(**home, ts=NOW + 10, sessionId=1, itemInSession=0, level="free", firstName="Low"),
            plain_event(**home, ts=NOW + 10, sessionId=2, itemInSession=0, level="free", firstName="Item"),
            plain_event(**home, ts=NOW + 10, sessionId=2, itemInSession=1, level="paid", firstName="Ann"),
            plain_event(**home, ts=NOW + 10, sessionId=2, itemInSession=1, level=None, firstName="Aaa"),
            plain_event(**home, ts=NOW + 10, sessionId=2, itemInSession=1, level="free", firstName="Bea"),
            plain_event(**home, ts=NOW + 10, sessionId=2, itemInSession=1, level="free", firstName="Ann"),
        ],
    )
    assert rows(warehouse, "users", ["user_id", "first_name", "level"]) == [(20, "Ann", "free")]


def test_logged_out_next_song_is_no_play_and_no_user(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [],
        [
            event(
                userId="",
                firstName=None,
                lastName=None,
                gender=None,
                location=None,
                userAgent=None,
                song="S",
                artist="A",
                length=1.0,
                sessionId=1,
                auth="Logged Out",
            ),
            plain_event(
                **NO_SONG, userId="20", page="Home", firstName="Bo", lastName="Ng", gender="M", level="paid"
            ),
            plain_event(**NO_SONG, itemInSession=1, ts=NOW + 1),
        ],
    )
    assert rows(warehouse, "songplays", ["user_id", "level"]) == [(10, "free")]
    assert rows(warehouse, "users") == [(10, "Ann", "Lee", "F", "free"), (20, "Bo", "Ng", "M", "paid")]


def test_users_come_from_their_latest_event_with_ties_broken_by_session_then_item(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [],
        [
            # user 7: two events at the same ts; the larger session_id (5) wins
            plain_event(
                **NO_SONG,
                userId="7",
                ts=NOW,
                sessionId=4,
                itemInSession=9,
                level="free",
                firstName="Old",
                page="Home",
            ),
            plain_event(
                **NO_SONG,
                userId="7",
                ts=NOW,
                sessionId=5,
                itemInSession=1,
                level="paid",
                firstName="New",
                page="Home",
            ),
            plain_event(
                **NO_SONG,
                userId="7",
                ts=NOW - 1000,
                sessionId=9,
                itemInSession=50,
                level="free",
                firstName="Older",
                page="Home",
            ),
            # user 8: same ts and session; the larger item_in_session (7) wins
            plain_event(
                **NO_SONG, userId="8", ts=NOW, sessionId=3, itemInSession=2, level="paid", lastName="Two"
            ),
            plain_event(
                **NO_SONG,
                userId="8",
                ts=NOW,
                sessionId=3,
                itemInSession=7,
                level="free",
                lastName="Seven",
                page="Home",
            ),
            # user 9 upgrades: each play keeps the level of its own event; the user is paid now
            plain_event(**NO_SONG, userId="9", ts=NOW, itemInSession=0, level="free"),
            plain_event(**NO_SONG, userId="9", ts=NOW + 5, itemInSession=1, level="paid"),
        ],
    )
    assert rows(warehouse, "users") == [
        (7, "New", "Lee", "F", "paid"),
        (8, "Ann", "Seven", "F", "free"),
        (9, "Ann", "Lee", "F", "paid"),
    ]
    assert rows(warehouse, "songplays", ["user_id", "start_time", "level"]) == [
        (8, T0, "paid"),
        (9, T0, "free"),
        (9, T0 + dt.timedelta(milliseconds=5), "paid"),
    ]


def test_year_zero_is_null(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [
            plain_song(song_id="SOA", year=0, artist_id="ARA", artist_name="Artist A", title="A Song"),
            plain_song(song_id="SOB", year=1999, artist_id="ARA", artist_name="Artist A", title="A Song"),
        ],
        [],
    )
    assert rows(warehouse, "songs", ["song_id", "year"]) == [("SOA", None), ("SOB", 1999)]


def test_an_artist_in_records_tied_on_completeness_song_and_name_takes_the_smallest_place(
    warehouse, tmp_path
):
    # CONTRACT: the most complete record, then the smallest song_id. One song file delivered twice
    # with its place corrected (or copied under another name) ties on all of that: the smallest
    # location, then latitude, then longitude decides, whatever order the files load in (a tester
    # found DuckDB and PostgreSQL keeping different records, and a load in two steps differing from
    # a fresh one).
    def place(artist_id, location, lat, lon):
        return song(
            song_id="SO" + artist_id,
            artist_id=artist_id,
            artist_name="Band",
            artist_location=location,
            artist_latitude=lat,
            artist_longitude=lon,
            title="T",
            duration=100.0,
            year=2000,
        )

    later = [
        place("ARA", "Old Town", 1.0, 2.0),
        place("ARB", "Town", 5.0, 6.0),
        place("ARC", "Town", 5.0, 9.0),
    ]
    first = [
        place("ARA", "New Town", 3.0, 4.0),
        place("ARB", "Town", 1.0, 9.0),
        place("ARC", "Town", 5.0, 8.0),
    ]
    expected = [
        ("ARA", "Band", "New Town", 3.0, 4.0),
        ("ARB", "Band", "Town", 1.0, 9.0),
        ("ARC", "Band", "Town", 5.0, 8.0),
    ]
    # each file on its own first, then the others added: an incremental load
    root = write_source(tmp_path / "src", songs=later, events=[INERT_EVENT])
    pipeline.run(warehouse, source_for(warehouse, root))
    for i, rec in enumerate(first):
        (root / "song_data" / "A" / "B" / "C" / f"TR1{i:05d}.json").write_text(json.dumps(rec))
    pipeline.run(warehouse, source_for(warehouse, root))
    assert rows(warehouse, "artists") == expected
    # and a fresh load of the same files, in the other order of names
    fresh = write_source(tmp_path / "fresh", songs=[*first, *later], events=[INERT_EVENT])
    report = pipeline.run(warehouse, source_for(warehouse, fresh), full_refresh=True, prune=True)
    assert report.rows["artists"] == 3
    assert rows(warehouse, "artists") == expected


@pytest.mark.parametrize("order", ["negative zero first", "positive zero first"])
def test_a_negative_zero_is_stored_as_zero_whatever_record_a_tie_keeps(warehouse, tmp_path, order):
    # CONTRACT: songs and artists store -0.0 as 0.0. SQL compares -0.0 and 0.0 as equal, so two
    # records of one song differing only in that sign tie on every rule, and which one the tie kept
    # showed: it followed file order and DuckDB and PostgreSQL kept different ones (tester finding).
    def zero(sign, song_id):
        return song(
            song_id=song_id,
            artist_id="AR" + song_id,
            artist_name="Band",
            artist_location="Town",
            artist_latitude=sign * 0.0,
            artist_longitude=sign * 0.0,
            title="T",
            duration=sign * 0.0,
            year=2000,
        )

    signs = [-1.0, 1.0] if order == "negative zero first" else [1.0, -1.0]
    # SOF: both records in one fresh load; SOI: the second record arrives in a later, incremental run
    root = write_source(
        tmp_path / "src", songs=[zero(signs[0], "SOF"), zero(signs[1], "SOF")], events=[INERT_EVENT]
    )
    (root / "song_data" / "A" / "B" / "C" / "TR100000.json").write_text(json.dumps(zero(signs[0], "SOI")))
    pipeline.run(warehouse, source_for(warehouse, root))
    (root / "song_data" / "A" / "B" / "C" / "TR100001.json").write_text(json.dumps(zero(signs[1], "SOI")))
    pipeline.run(warehouse, source_for(warehouse, root))

    def signed(values):
        return [tuple(math.copysign(1.0, v) if isinstance(v, float) else v for v in r) for r in values]

    assert signed(rows(warehouse, "songs", ["song_id", "duration"])) == [("SOF", 1.0), ("SOI", 1.0)]
    assert signed(rows(warehouse, "artists", ["artist_id", "latitude", "longitude"])) == [
        ("ARSOF", 1.0, 1.0),
        ("ARSOI", 1.0, 1.0),
    ]


def test_artists_take_the_most_complete_record_and_empty_location_is_null(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [
            # ARX: the record with coordinates wins over the one with a location
            song(
                song_id="SOX1",
                artist_id="ARX",
                artist_name="X plain",
                artist_location="Paris",
                artist_latitude=None,
                artist_longitude=None,
                title="A Song",
                year=2000,
            ),
            song(
                song_id="SOX2",
                artist_id="ARX",
                artist_name="X geo",
                artist_location="",
                artist_latitude=1.5,
                artist_longitude=-2.25,
                title="A Song",
                year=2000,
            ),
            # ARY: no coordinates anywhere; the non-empty location wins
            plain_song(song_id="SOY1", artist_id="ARY", artist_name="Y empty", title="A Song"),
            song(
                song_id="SOY2",
                artist_id="ARY",
                artist_name="Y berlin",
                artist_location="Berlin",
                artist_latitude=None,
                artist_longitude=None,
                title="A Song",
                year=2000,
            ),
            # ARW: equally complete; the smaller song_id wins
            plain_song(song_id="SOW2", artist_id="ARW", artist_name="W two", title="A Song"),
            plain_song(song_id="SOW1", artist_id="ARW", artist_name="W one", title="A Song"),
            # ARN: a null location stays null
            song(
                song_id="SON1",
                artist_id="ARN",
                artist_name="N",
                artist_location=None,
                artist_latitude=None,
                artist_longitude=None,
                title="A Song",
                year=2000,
            ),
        ],
        [],
    )
    assert rows(warehouse, "artists") == [
        ("ARN", "N", None, None, None),
        ("ARW", "W one", None, None, None),
        ("ARX", "X geo", None, 1.5, -2.25),
        ("ARY", "Y berlin", "Berlin", None, None),
    ]


def test_start_time_keeps_milliseconds(warehouse, tmp_path):
    run(
        warehouse,
        tmp_path,
        [],
        [
            plain_event(**NO_SONG, ts=1541105830796),
            plain_event(**NO_SONG, itemInSession=1, ts=1541105830001),
            plain_event(**NO_SONG, itemInSession=2, ts=1541105830999),
            plain_event(**NO_SONG, itemInSession=3, ts=946684800000),
        ],  # 2000-01-01 00:00:00.000
    )
    assert rows(warehouse, "songplays", ["start_time"]) == [
        (dt.datetime(2000, 1, 1, 0, 0, 0),),
        (dt.datetime(2018, 11, 1, 20, 57, 10, 1000),),
        (dt.datetime(2018, 11, 1, 20, 57, 10, 796000),),
        (dt.datetime(2018, 11, 1, 20, 57, 10, 999000),),
    ]


def test_time_has_iso_weeks_and_sunday_zero_weekdays_across_year_boundaries(warehouse, tmp_path):
    instants = [
        "2018-12-30 12:00:00.000",  # Sunday, ISO week 52 of 2018
        "2018-12-31 23:59:59.999",  # Monday, ISO week 1 (of 2019) in calendar year 2018
        "2019-01-01 00:00:00.000",  # Tuesday, ISO week 1
        "2021-01-01 08:30:00.500",  # Friday, ISO week 53 (of 2020) in calendar year 2021
        "2021-01-03 23:00:00.000",  # Sunday, ISO week 53
        "2016-02-29 05:00:00.000",  # Monday, leap day, ISO week 9
    ]
    run(
        warehouse,
        tmp_path,
        [],
        [plain_event(**NO_SONG, itemInSession=i, ts=ts(t)) for i, t in enumerate(instants)],
    )
    # start_time, hour, day, week, month, year, weekday (0 = Sunday)
    assert rows(warehouse, "time") == [
        (dt.datetime(2016, 2, 29, 5, 0), 5, 29, 9, 2, 2016, 1),
        (dt.datetime(2018, 12, 30, 12, 0), 12, 30, 52, 12, 2018, 0),
        (dt.datetime(2018, 12, 31, 23, 59, 59, 999000), 23, 31, 1, 12, 2018, 1),
        (dt.datetime(2019, 1, 1, 0, 0), 0, 1, 1, 1, 2019, 2),
        (dt.datetime(2021, 1, 1, 8, 30, 0, 500000), 8, 1, 53, 1, 2021, 5),
        (dt.datetime(2021, 1, 3, 23, 0), 23, 3, 53, 1, 2021, 0),
    ]


def test_rerun_leaves_every_table_identical(warehouse, tmp_path):
    src = write_source(
        tmp_path / "src",
        songs=[plain_song(song_id="SOA", title="S", artist_name="A", duration=1.0, artist_id="ARA")],
        events={
            "2018-11-01-events.json": [
                plain_event(itemInSession=i, ts=NOW + i, song="S" if i % 2 else "T", artist="A", length=1.0)
                for i in range(20)
            ]
        },
    )
    pipeline.run(warehouse, source_for(warehouse, src))
    tables = ["users", "songs", "artists", "songplays", "time"]
    first = {t: rows(warehouse, t, _all_columns(t)) for t in tables}
    pipeline.run(warehouse, source_for(warehouse, src))
    assert {t: rows(warehouse, t, _all_columns(t)) for t in tables} == first
    assert len(first["songplays"]) == 20


def _all_columns(table):
    from sparkify.schema import TABLES

    return TABLES[table].column_names


@pytest.mark.slow
def test_the_real_sample_gives_the_published_counts(warehouse, request):
    # counts from data/sparkify-sample/SOURCE.md, computed there independently of sparkify
    report = pipeline.run(warehouse, sample_for(warehouse, request))
    assert report.checks_failed == []
    assert report.stage.rows == {"staging_songs": 14896, "staging_events": 8056}
    assert report.rows == {"users": 97, "songs": 14896, "artists": 9553, "songplays": 6820, "time": 6813}
    _, matched = warehouse.query(
        f"select count(*), count(song_id), count(artist_id) from {warehouse.qualified('songplays')}"
    )
    assert tuple(matched[0]) == (6820, 319, 319)
