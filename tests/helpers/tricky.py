"""A small hand-made source that exercises every rule and tie-break of CONTRACT.md.

The real sample leaves several rules untested (no duplicate deliveries, no user whose latest events
share a ts, no match between two song_ids, ...). This folder has one case for each; the comments say
which rule a record is there for. ``tests/test_reference.py`` states the star tables it must give, by
hand, and ``tests/test_star_vs_reference.py`` holds the pipeline to them.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

UTC = dt.UTC


def ms(*parts: int) -> int:
    """Epoch milliseconds of a UTC time given as (year, month, day, hour, minute, second, millisecond)."""
    *date_time, milli = parts
    return int(dt.datetime(*date_time, tzinfo=UTC).timestamp()) * 1000 + milli


def song(
    song_id, title, artist_id, artist_name, duration, year=2000, location="", lat=None, lon=None
) -> dict:
    return {
        "artist_id": artist_id,
        "artist_latitude": lat,
        "artist_location": location,
        "artist_longitude": lon,
        "artist_name": artist_name,
        "duration": duration,
        "num_songs": 1,
        "song_id": song_id,
        "title": title,
        "year": year,
    }


# One JSON object per file unless noted.
SONGS = {
    # Two songs match the same play (same title, artist_name, duration): the smallest song_id, SOAAA,
    # wins, and the play takes *its* artist_id (ARX), not SOBBB's (ARY). SOAAA has year 0 -> NULL.
    "A/A/A/TR0001.json": [song("SOAAA", "Song A", "ARX", "Band X", 200.5, year=0)],
    "A/A/B/TR0002.json": [song("SOBBB", "Song A", "ARY", "Band X", 200.5, 1999, "Paris", 1.5, 2.5)],
    # Numbers where text belongs: title 66 and artist_name 883 are '66' and '883' and still match;
    # location 99 is '99'.
    "A/B/A/TR0003.json": [song("SOCCC", 66, "ARZ", 883, 180.0, 2001, 99)],
    # A float title: '4.6'. ARZ again, now with both coordinates: this record is ARZ's most complete
    # one (coordinates beat a location), so ARZ's name is 'Eight Eight Three' and its location NULL.
    "A/B/B/TR0004.json": [song("SODDD", 4.6, "ARZ", "Eight Eight Three", 1.0, 2002, "", 10.0, -20.25)],
    # ARW: no record has both coordinates (SOFFF has a latitude only, which does not count), so a
    # non-empty location wins, and between SOEEE and SOGGG the smaller song_id: Berlin, no coordinates.
    "A/C/A/TR0005.json": [song("SOEEE", "E", "ARW", "W", 10.0, 2003, "Berlin", None, None)],
    "A/C/A/TR0006.json": [song("SOFFF", "F", "ARW", "W", 11.0, 2004, "", 5.0, None)],
    "A/C/A/TR0007.json": [song("SOGGG", "G", "ARW", "W", 12.0, 2005, "Hamburg", None, None)],
    # Several objects in one file, one per line; ARV's two records tie on completeness: SOHHH wins.
    "A/D/A/TR0008.json": [
        song("SOIII", "I", "ARV", "V two", 21.0, 2006, "Rome two"),
        song("SOHHH", "H", "ARV", "V", 20.0, 2007, "Rome"),
    ],
    # A gzip-compressed song file. Its duration is 0.1 + 0.2: only a length of exactly
    # 0.30000000000000004 matches it, not 0.3.
    "A/E/A/TR0009.json.gz": [song("SOJJJ", "Float", "ARF", "F band", 0.1 + 0.2, 2008, "Oslo", 59.9, 10.75)],
}


def event(
    user_id,
    ts,
    session,
    item,
    page="NextSong",
    level="free",
    first="Ann",
    last="Lee",
    gender="F",
    song=None,
    artist=None,
    length=None,
    location="Paris, FR",
    agent='"Mozilla/5.0"',
) -> dict:
    logged_out = user_id == ""
    return {
        "artist": artist,
        "auth": "Logged Out" if logged_out else "Logged In",
        "firstName": None if logged_out else first,
        "gender": None if logged_out else gender,
        "itemInSession": item,
        "lastName": None if logged_out else last,
        "length": length,
        "level": level,
        "location": None if logged_out else location,
        "method": "PUT" if page == "NextSong" else "GET",
        "page": page,
        "registration": None if logged_out else 1540919166796.0,
        "sessionId": session,
        "song": song,
        "status": 200,
        "ts": ts,
        "userAgent": None if logged_out else agent,
        "userId": user_id,
    }


T_NEW_YEAR_EVE = ms(2020, 12, 31, 23, 59, 59, 999)  # Thursday, ISO week 53 of 2020
T_NEW_YEAR = ms(2021, 1, 1, 0, 0, 0, 1)  # Friday, still ISO week 53 (of 2020), calendar year 2021
T_SUNDAY = ms(2021, 1, 3, 12, 30, 0, 250)  # Sunday: weekday 0, ISO week 53
T_MONDAY = ms(2021, 1, 4, 7, 5, 6, 7)  # Monday: weekday 1, ISO week 1
T_LATE = ms(2021, 1, 9, 22, 0, 0, 0)  # Saturday: weekday 6

PLAY_A = event("10", T_NEW_YEAR_EVE, 1, 0, song="Song A", artist="Band X", length=200.5)

EVENTS = {
    "2020/12/2020-12-31-events.json": [
        # user 10: matches SOAAA (not SOBBB); delivered again in the next file -> one play.
        PLAY_A,
        # user 10: numbers-as-text song: '66' by '883' -> SOCCC / ARZ.
        event("10", T_NEW_YEAR, 1, 1, song="66", artist="883", length=180.0),
        # A logged-out NextSong: not a play, not a user.
        event("", T_NEW_YEAR, 99, 0, song="Song A", artist="Band X", length=200.5),
    ],
    "2021/01/2021-01-01-events.json": [
        PLAY_A,  # the same event delivered twice
        # user 11: title and artist match SOBBB's but the length does not -> no match.
        event(
            "11",
            T_NEW_YEAR,
            5,
            0,
            level="paid",
            first="Bo",
            last="Ng",
            gender="M",
            song="Song A",
            artist="Band X",
            length=200.25,
        ),
        # user 11's latest events share T_LATE: the larger session_id (6) wins over (5, item 9).
        event("11", T_LATE, 5, 9, page="Home", level="free", first="Old", last="Ng", gender="M"),
        event("11", T_LATE, 6, 0, page="Home", level="paid", first="New", last="Ng", gender="M"),
        # A Home event of user 11 with an even larger session_id but an earlier ts: does not count.
        event("11", T_SUNDAY, 7, 0, page="Home", level="free", first="Earlier", last="Ng", gender="M"),
    ],
    "2021/01/2021-01-03-events.json.gz": [
        # user 12: exact float equality -- 0.3 does not match SOJJJ, 0.30000000000000004 does.
        event(
            "12",
            T_SUNDAY,
            3,
            0,
            level="paid",
            first="Cy",
            last="Do",
            gender="M",
            song="Float",
            artist="F band",
            length=0.3,
            location=None,
        ),
        event(
            "12",
            T_SUNDAY,
            3,
            1,
            level="paid",
            first="Cy",
            last="Do",
            gender="M",
            song="Float",
            artist="F band",
            length=0.1 + 0.2,
            location=None,
        ),
        # user 12's latest events: same ts, same session; the larger item_in_session (2) wins.
        event("12", T_MONDAY, 3, 2, page="Home", level="free", first="Cyd", last="Do", gender="M"),
        event("12", T_MONDAY, 3, 1, page="Home", level="paid", first="Cyrus", last="Do", gender="M"),
    ],
    "2021/01/2021-01-04-events.json": [
        # user 10: float title '4.6' -> SODDD; same ts as user 13's play below: one time row.
        event("10", T_MONDAY, 2, 0, level="paid", song="4.6", artist="Eight Eight Three", length=1.0),
        # user 9 plays at the same instant as users 10 and 13: songplay_id follows user_id as a
        # number (9 before 10), not as text ('10' < '9').
        event("9", T_MONDAY, 4, 0, first="Fay", last="Gu", song="E", artist="W", length=10.0),
        # user 13: a play with nothing to match.
        event(
            "13",
            T_MONDAY,
            8,
            4,
            first="Di",
            last="Oz",
            song="Unknown",
            artist="Nobody",
            length=99.0,
            location="Oslo, NO",
            agent="curl",
        ),
        # user 10 upgrades later: users.level follows the latest event (a Home page, not a play).
        event("10", T_LATE, 2, 5, page="Home", level="paid"),
        # user 14 only ever visits Home: a user (users cover all events) without plays.
        event("14", T_LATE, 9, 0, page="Home", first="Ed", last="Fox", gender="M"),
        # A logged-out Home event: no user.
        event("", T_LATE, 99, 1, page="Home"),
    ],
}


def write(root: Path) -> Path:
    """Write the tricky source under ``root`` (song_data/, log_data/) and return ``root``."""
    root = Path(root)
    for rel, records in SONGS.items():
        _write(root / "song_data" / rel, records, compact=True)
    for rel, records in EVENTS.items():
        _write(root / "log_data" / rel, records, compact=False)
    return root


def _write(path: Path, records: list[dict], compact: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    separators = (",", ":") if compact else (", ", ": ")
    text = "".join(json.dumps(r, separators=separators) + "\n" for r in records)
    data = text.encode("ascii")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


# -- what the contract says this source gives, worked out by hand -------------------------------

D = dt.datetime
NYE = D(2020, 12, 31, 23, 59, 59, 999000)
NY = D(2021, 1, 1, 0, 0, 0, 1000)
SUN = D(2021, 1, 3, 12, 30, 0, 250000)
MON = D(2021, 1, 4, 7, 5, 6, 7000)
UA = '"Mozilla/5.0"'

STAR = {
    # (start_time, user_id, level, song_id, artist_id, session_id, location, user_agent)
    "songplays": [
        (NYE, 10, "free", "SOAAA", "ARX", 1, "Paris, FR", UA),  # once, though delivered twice
        (NY, 10, "free", "SOCCC", "ARZ", 1, "Paris, FR", UA),
        (NY, 11, "paid", None, None, 5, "Paris, FR", UA),
        (SUN, 12, "paid", None, None, 3, None, UA),  # 0.3 != 0.1 + 0.2
        (SUN, 12, "paid", "SOJJJ", "ARF", 3, None, UA),
        (MON, 9, "free", "SOEEE", "ARW", 4, "Paris, FR", UA),
        (MON, 10, "paid", "SODDD", "ARZ", 2, "Paris, FR", UA),
        (MON, 13, "free", None, None, 8, "Oslo, NO", "curl"),
    ],
    # (user_id, first_name, last_name, gender, level)
    "users": [
        (9, "Fay", "Gu", "F", "free"),
        (10, "Ann", "Lee", "F", "paid"),
        (11, "New", "Ng", "M", "paid"),
        (12, "Cyd", "Do", "M", "free"),
        (13, "Di", "Oz", "F", "free"),
        (14, "Ed", "Fox", "M", "free"),
    ],
    # (song_id, title, artist_id, year, duration)
    "songs": [
        ("SOAAA", "Song A", "ARX", None, 200.5),
        ("SOBBB", "Song A", "ARY", 1999, 200.5),
        ("SOCCC", "66", "ARZ", 2001, 180.0),
        ("SODDD", "4.6", "ARZ", 2002, 1.0),
        ("SOEEE", "E", "ARW", 2003, 10.0),
        ("SOFFF", "F", "ARW", 2004, 11.0),
        ("SOGGG", "G", "ARW", 2005, 12.0),
        ("SOHHH", "H", "ARV", 2007, 20.0),
        ("SOIII", "I", "ARV", 2006, 21.0),
        ("SOJJJ", "Float", "ARF", 2008, 0.30000000000000004),
    ],
    # (artist_id, name, location, latitude, longitude)
    "artists": [
        ("ARF", "F band", "Oslo", 59.9, 10.75),
        ("ARV", "V", "Rome", None, None),
        ("ARW", "W", "Berlin", None, None),
        ("ARX", "Band X", None, None, None),
        ("ARY", "Band X", "Paris", 1.5, 2.5),
        ("ARZ", "Eight Eight Three", None, 10.0, -20.25),
    ],
    # (start_time, hour, day, week, month, year, weekday)
    "time": [
        (NYE, 23, 31, 53, 12, 2020, 4),
        (NY, 0, 1, 53, 1, 2021, 5),
        (SUN, 12, 3, 53, 1, 2021, 0),
        (MON, 7, 4, 1, 1, 2021, 1),
    ],
}

ANSWERS_CSV = {
    "level_split": "level,plays,users,share_of_plays\nfree,4,3,0.5\npaid,4,3,0.5\n",
    "matched_share": "plays,matched_plays,matched_share\n8,5,0.625\n",
    "most_active_users": (
        "user_id,first_name,last_name,level,plays\n10,Ann,Lee,paid,3\n12,Cyd,Do,free,2\n9,Fay,Gu,free,1\n"
        "11,New,Ng,paid,1\n13,Di,Oz,free,1\n"
    ),
    "plays_by_hour": "hour,plays\n0,2\n7,3\n12,2\n23,1\n",
    "plays_by_weekday": "weekday,weekday_name,plays\n0,Sunday,2\n1,Monday,3\n4,Thursday,1\n5,Friday,2\n",
    "plays_per_day": (
        "day,plays,free_plays,paid_plays\n2020-12-31,1,1,0\n2021-01-01,2,1,1\n2021-01-03,2,0,2\n2021-01-04,3,2,1\n"
    ),
    "row_counts": "table_name,row_count\nsongplays,8\nusers,6\nsongs,10\nartists,6\ntime,4\n",
    "top_artists": "artist_id,artist_name,plays\nARZ,Eight Eight Three,2\nARF,F band,1\nARW,W,1\nARX,Band X,1\n",
    "top_locations": 'location,plays\n"Paris, FR",5\n"Oslo, NO",1\n',
    "top_songs": (
        "song_id,title,artist_name,plays\nSOAAA,Song A,Band X,1\nSOCCC,66,Eight Eight Three,1\n"
        "SODDD,4.6,Eight Eight Three,1\nSOEEE,E,W,1\nSOJJJ,Float,F band,1\n"
    ),
}
"""Every analytics query's answer on this source, as the CSV `sparkify analytics --format csv` prints."""
