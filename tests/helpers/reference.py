"""CONTRACT.md in plain Python: the star tables and the analytics answers, computed without SQL.

This is the independent oracle the tests hold the warehouse to. It reads a source folder's raw files
with the standard ``json`` module and applies the contract's rules one by one, in the most literal
Python that states them. It shares no code with ``sparkify`` (no reader, no SQL, no DuckDB), so a
mistake in the pipeline's SQL shows up as a difference rather than being copied into the expected
results.

It assumes clean input -- what a run with ``--max-errors 0`` accepts. A record the contract cannot
type, or two records the contract gives no rule to choose between (the same song_id, play or latest
user event with different details), raise :class:`ReferenceInputError` instead of being guessed at.

Row shapes (column order as in the contract):

- songplays: (start_time, user_id, level, song_id, artist_id, session_id, location, user_agent),
  sorted by (start_time, user_id, session_id, item_in_session); :meth:`Star.songplays_with_ids`
  numbers them from 1 in that order.
- users: (user_id, first_name, last_name, gender, level), sorted by user_id.
- songs: (song_id, title, artist_id, year, duration), sorted by song_id.
- artists: (artist_id, name, location, latitude, longitude), sorted by artist_id.
- time: (start_time, hour, day, week, month, year, weekday), sorted by start_time.

``start_time`` is a naive ``datetime`` in UTC with millisecond precision, like a SQL TIMESTAMP.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

SONGPLAYS_COLUMNS = (
    "start_time",
    "user_id",
    "level",
    "song_id",
    "artist_id",
    "session_id",
    "location",
    "user_agent",
)
USERS_COLUMNS = ("user_id", "first_name", "last_name", "gender", "level")
SONGS_COLUMNS = ("song_id", "title", "artist_id", "year", "duration")
ARTISTS_COLUMNS = ("artist_id", "name", "location", "latitude", "longitude")
TIME_COLUMNS = ("start_time", "hour", "day", "week", "month", "year", "weekday")

EPOCH = dt.datetime(1970, 1, 1)
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


class ReferenceInputError(ValueError):
    """The input is outside what the reference (and the contract) can answer unambiguously."""


# -- reading ------------------------------------------------------------------------------------


class _JsonFloat(float):
    """A JSON number with a fraction or exponent, remembering how it was written.

    The contract says a number in a text field takes its text form; for ``4.6`` that is the literal
    ``'4.6'`` as the file wrote it, which ``repr`` of the parsed float may not reproduce (``1e5``).
    """

    literal: str

    def __new__(cls, literal: str) -> _JsonFloat:
        value = super().__new__(cls, literal)
        value.literal = literal
        return value


def _reject_constant(name: str) -> Any:
    raise ReferenceInputError(f"{name} is not a JSON number")


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=_JsonFloat, parse_constant=_reject_constant)


def _files(folder: Path) -> list[Path]:
    """Every non-empty file under ``folder``, whatever its name (CONTRACT: discovery)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 0)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # gzip by its magic number, whatever the name
        data = gzip.decompress(data)
    return data.decode("utf-8")


def _lines(path: Path, text: str) -> Iterator[dict]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        record = _loads(line)
        if not isinstance(record, dict):
            raise ReferenceInputError(f"{path}:{number}: not a JSON object")
        yield record


def song_records(source: Path) -> Iterator[dict]:
    """Every song record: one JSON object per file, or several objects one per line."""
    for path in _files(Path(source) / "song_data"):
        text = _read_text(path)
        try:
            whole = _loads(text)
        except json.JSONDecodeError:
            yield from _lines(path, text)  # several objects, one per line
            continue
        if not isinstance(whole, dict):
            raise ReferenceInputError(f"{path}: not a JSON object")
        yield whole


def event_records(source: Path) -> Iterator[dict]:
    """Every event: one JSON object per line of each log file."""
    for path in _files(Path(source) / "log_data"):
        yield from _lines(path, _read_text(path))


# -- typing (the staging types of the contract) -------------------------------------------------


def text(value: Any) -> str | None:
    """A text column's value: strings as they are, numbers in their text form (66 -> '66')."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _JsonFloat):
        return value.literal
    if isinstance(value, (int, float)):
        return str(value)
    raise ReferenceInputError(f"cannot take the text form of {value!r}")


def double(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReferenceInputError(f"{value!r} is not a number")
    return float(value)


def integer(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ReferenceInputError(f"{value!r} is not an integer")
    return int(value)


def start_time(ts: int) -> dt.datetime:
    """Epoch milliseconds -> naive UTC datetime, milliseconds kept."""
    return EPOCH + dt.timedelta(milliseconds=ts)


@dataclass(frozen=True)
class Song:
    song_id: str
    title: str | None
    artist_id: str | None
    artist_name: str | None
    artist_location: str | None
    artist_latitude: float | None
    artist_longitude: float | None
    duration: float | None
    year: int | None


@dataclass(frozen=True)
class Event:
    ts: int
    page: str | None
    user_id: str | None
    session_id: int
    item_in_session: int
    first_name: str | None
    last_name: str | None
    gender: str | None
    level: str | None
    location: str | None
    user_agent: str | None
    song: str | None
    artist: str | None
    length: float | None


def to_song(r: dict) -> Song:
    song_id = text(r.get("song_id"))
    if not song_id:  # missing, null or "": the contract rejects the record
        raise ReferenceInputError(f"song record without song_id: {r}")
    return Song(
        song_id=song_id,
        title=text(r.get("title")),
        artist_id=text(r.get("artist_id")) or None,  # "" is as missing as null: no artist
        artist_name=text(r.get("artist_name")),
        artist_location=text(r.get("artist_location")),
        artist_latitude=double(r.get("artist_latitude")),
        artist_longitude=double(r.get("artist_longitude")),
        duration=double(r.get("duration")),
        year=integer(r.get("year")),
    )


def to_event(r: dict) -> Event:
    for key in ("ts", "page", "sessionId", "itemInSession"):
        if r.get(key) is None or r.get(key) == "":
            raise ReferenceInputError(f"event without {key}: {r}")
    return Event(
        ts=integer(r["ts"]),
        page=text(r["page"]),
        user_id=text(r.get("userId")),
        session_id=integer(r["sessionId"]),
        item_in_session=integer(r["itemInSession"]),
        first_name=text(r.get("firstName")),
        last_name=text(r.get("lastName")),
        gender=text(r.get("gender")),
        level=text(r.get("level")),
        location=text(r.get("location")),
        user_agent=text(r.get("userAgent")),
        song=text(r.get("song")),
        artist=text(r.get("artist")),
        length=double(r.get("length")),
    )


# -- the star tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Star:
    """The five star tables the contract asks for, as sorted lists of tuples."""

    songplays: list[tuple]
    users: list[tuple]
    songs: list[tuple]
    artists: list[tuple]
    time: list[tuple]

    def songplays_with_ids(self) -> list[tuple]:
        """(songplay_id, *songplay) numbered from 1 in (start_time, user_id, session_id, item) order."""
        return [(i, *row) for i, row in enumerate(self.songplays, 1)]

    def table(self, name: str) -> list[tuple]:
        return getattr(self, name)


COLUMNS = {
    "songplays": SONGPLAYS_COLUMNS,
    "users": USERS_COLUMNS,
    "songs": SONGS_COLUMNS,
    "artists": ARTISTS_COLUMNS,
    "time": TIME_COLUMNS,
}
"""Each star table's columns, in the contract's order (songplay_id left out)."""


def _is_logged_in(e: Event) -> bool:
    return e.user_id is not None and e.user_id != ""


def _user_id(e: Event) -> int:
    if not e.user_id.isdigit():
        raise ReferenceInputError(f"userId {e.user_id!r} is not a string of digits")
    return int(e.user_id)


def build_songs(songs: list[Song]) -> dict[str, Song]:
    """One Song per song_id. The contract has no rule for a song_id with different details: refuse."""
    by_id: dict[str, Song] = {}
    for s in songs:
        seen = by_id.setdefault(s.song_id, s)
        if seen != s:
            raise ReferenceInputError(f"song_id {s.song_id} appears with different details: {seen} / {s}")
    return by_id


def songs_table(by_id: dict[str, Song]) -> list[tuple]:
    return sorted(
        (s.song_id, s.title, s.artist_id, None if s.year == 0 else s.year, s.duration) for s in by_id.values()
    )


def artists_table(by_id: dict[str, Song]) -> list[tuple]:
    """Per artist_id, the most complete record: both coordinates first, then a non-empty location,
    then the smallest song_id."""

    def rank(s: Song) -> tuple:
        has_coordinates = s.artist_latitude is not None and s.artist_longitude is not None
        has_location = s.artist_location is not None and s.artist_location != ""
        return (not has_coordinates, not has_location, s.song_id)

    best: dict[str, Song] = {}
    for s in by_id.values():
        if s.artist_id is None:
            continue
        if s.artist_id not in best or rank(s) < rank(best[s.artist_id]):
            best[s.artist_id] = s
    return sorted(
        (a, s.artist_name, s.artist_location or None, s.artist_latitude, s.artist_longitude)
        for a, s in best.items()
    )


def match_index(by_id: dict[str, Song]) -> dict[tuple, Song]:
    """(title, artist_name, duration) -> the song with the smallest song_id among those matching.

    A NULL on either side never matches (SQL ``=``), so records missing one of the three are left out.
    Float keys compare with ``==``: exact equality, as the contract says.
    """
    index: dict[tuple, Song] = {}
    for s in sorted(by_id.values(), key=lambda s: s.song_id):
        if s.title is None or s.artist_name is None or s.duration is None:
            continue
        index.setdefault((s.title, s.artist_name, s.duration), s)
    return index


def songplays_table(events: list[Event], index: dict[tuple, Song]) -> list[tuple]:
    plays: dict[tuple, tuple] = {}
    for e in events:
        if e.page != "NextSong" or not _is_logged_in(e):
            continue
        key = (_user_id(e), e.session_id, e.item_in_session)
        song = None
        if e.song is not None and e.artist is not None and e.length is not None:
            song = index.get((e.song, e.artist, e.length))
        row = (
            start_time(e.ts),
            key[0],
            e.level,
            song.song_id if song else None,
            song.artist_id if song else None,
            e.session_id,
            e.location,
            e.user_agent,
        )
        seen = plays.setdefault(key, row)
        if seen != row:
            raise ReferenceInputError(f"play {key} delivered twice with different details: {seen} / {row}")
    ordered = sorted(plays.items(), key=lambda kv: (kv[1][0], kv[0]))  # start_time, user, session, item
    return [row for _, row in ordered]


def users_table(events: list[Event]) -> list[tuple]:
    """Per non-empty userId over all events, the details of the latest event (ts, session, item)."""
    latest: dict[int, tuple[tuple, tuple]] = {}
    for e in events:
        if not _is_logged_in(e):
            continue
        uid = _user_id(e)
        order = (e.ts, e.session_id, e.item_in_session)
        details = (uid, e.first_name, e.last_name, e.gender, e.level)
        if uid not in latest or order > latest[uid][0]:
            latest[uid] = (order, details)
        elif order == latest[uid][0] and details != latest[uid][1]:
            raise ReferenceInputError(f"user {uid} has two latest events with different details")
    return sorted(details for _, details in latest.values())


def time_row(t: dt.datetime) -> tuple:
    return (
        t,
        t.hour,
        t.day,
        t.isocalendar()[1],
        t.month,
        t.year,
        t.isoweekday() % 7,  # isoweekday: Monday 1 .. Sunday 7 -> Sunday 0 .. Saturday 6
    )


def time_table(songplays: list[tuple]) -> list[tuple]:
    return [time_row(t) for t in sorted({row[0] for row in songplays})]


def build(source: str | Path) -> Star:
    """The star tables CONTRACT.md asks for, computed from the raw files under ``source``."""
    by_id = build_songs([to_song(r) for r in song_records(Path(source))])
    events = [to_event(r) for r in event_records(Path(source))]
    songplays = songplays_table(events, match_index(by_id))
    return Star(
        songplays=songplays,
        users=users_table(events),
        songs=songs_table(by_id),
        artists=artists_table(by_id),
        time=time_table(songplays),
    )


@lru_cache(maxsize=4)
def build_cached(source: str) -> Star:
    """:func:`build`, once per source folder per process (the sample takes about two seconds)."""
    return build(source)


# -- the analytics answers ----------------------------------------------------------------------
#
# One function per query in src/sparkify/analytics/queries/, answering the question its header asks,
# with the columns and row order it names. Each returns (columns, rows).

Answer = tuple[list[str], list[tuple]]


def _plays(star: Star) -> list[dict]:
    return [dict(zip(SONGPLAYS_COLUMNS, row)) for row in star.songplays]


def _top(counts: Counter, n: int = 10) -> list[tuple[Any, int]]:
    """The n keys with the largest counts, ties by the key ascending."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _nulls_last(value: Any) -> tuple:
    return (value is None, value if value is not None else "")


def level_split(star: Star) -> Answer:
    plays = _plays(star)
    counts: Counter = Counter(p["level"] for p in plays)
    users: dict[Any, set] = defaultdict(set)
    for p in plays:
        users[p["level"]].add(p["user_id"])
    rows = [
        (level, counts[level], len(users[level]), counts[level] / len(plays))
        for level in sorted(counts, key=_nulls_last)
    ]
    return ["level", "plays", "users", "share_of_plays"], rows


def matched_share(star: Star) -> Answer:
    plays = _plays(star)
    matched = sum(1 for p in plays if p["song_id"] is not None)
    share = matched / len(plays) if plays else None
    return ["plays", "matched_plays", "matched_share"], [(len(plays), matched, share)]


def most_active_users(star: Star) -> Answer:
    users = {row[0]: row for row in star.users}
    counts = Counter(p["user_id"] for p in _plays(star))
    rows = []
    for uid, n in _top(counts):
        _, first, last, _gender, level = users.get(uid, (uid, None, None, None, None))
        rows.append((uid, first, last, level, n))
    return ["user_id", "first_name", "last_name", "level", "plays"], rows


def _time_of(star: Star) -> dict[dt.datetime, dict]:
    return {row[0]: dict(zip(TIME_COLUMNS, row)) for row in star.time}


def plays_by_hour(star: Star) -> Answer:
    times = _time_of(star)
    counts = Counter(times[p["start_time"]]["hour"] for p in _plays(star) if p["start_time"] in times)
    return ["hour", "plays"], sorted(counts.items())


def plays_by_weekday(star: Star) -> Answer:
    times = _time_of(star)
    counts = Counter(times[p["start_time"]]["weekday"] for p in _plays(star) if p["start_time"] in times)
    return ["weekday", "weekday_name", "plays"], [(d, WEEKDAY_NAMES[d], n) for d, n in sorted(counts.items())]


def plays_per_day(star: Star) -> Answer:
    per_day: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in _plays(star):
        counts = per_day[p["start_time"].date()]
        counts[0] += 1
        counts[1] += p["level"] == "free"
        counts[2] += p["level"] == "paid"
    return ["day", "plays", "free_plays", "paid_plays"], [(d, *c) for d, c in sorted(per_day.items())]


def row_counts(star: Star) -> Answer:
    names = ("songplays", "users", "songs", "artists", "time")
    return ["table_name", "row_count"], [(n, len(star.table(n))) for n in names]


def top_artists(star: Star) -> Answer:
    names = {row[0]: row[1] for row in star.artists}
    counts = Counter(p["artist_id"] for p in _plays(star) if p["artist_id"] is not None)
    return ["artist_id", "artist_name", "plays"], [(a, names.get(a), n) for a, n in _top(counts)]


def top_locations(star: Star) -> Answer:
    counts = Counter(p["location"] for p in _plays(star) if p["location"] is not None)
    return ["location", "plays"], _top(counts)


def top_songs(star: Star) -> Answer:
    songs = {row[0]: row for row in star.songs}
    names = {row[0]: row[1] for row in star.artists}
    counts = Counter(p["song_id"] for p in _plays(star) if p["song_id"] is not None)
    rows = []
    # inner join on songs: a play whose song_id is not in songs is left out *before* the top 10
    for sid, n in _top(Counter({k: v for k, v in counts.items() if k in songs})):
        _, title, artist_id, _year, _duration = songs[sid]
        rows.append((sid, title, names.get(artist_id), n))
    return ["song_id", "title", "artist_name", "plays"], rows


ANSWERS: dict[str, Callable[[Star], Answer]] = {
    f.__name__: f
    for f in (
        level_split,
        matched_share,
        most_active_users,
        plays_by_hour,
        plays_by_weekday,
        plays_per_day,
        row_counts,
        top_artists,
        top_locations,
        top_songs,
    )
}
"""Every analytics query's answer, by query name."""


def answer(name: str, star: Star) -> Answer:
    """The answer to the analytics query ``name`` from the reference star tables."""
    if name not in ANSWERS:
        raise KeyError(f"the reference has no answer for analytics query {name!r}: add one to ANSWERS")
    return ANSWERS[name](star)
