"""The one vocabulary of hand-made test inputs: records, source folders, and star rows read back.

``event()`` and ``song()`` take the record's own JSON keys (``userId``, ``itemInSession``,
``artist_location``...) as keyword arguments, so a test names exactly the field it is about; every
key not given has a plausible value. The defaults make a play that matches: ``event()`` is a
logged-in NextSong of "Uprising" by Muse, 200.5 s long, and ``song()`` is that song.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sparkify.schema import TABLES

NOW = 1541105830796
"""2018-11-01 20:57:10.796 UTC (epoch milliseconds), a ts of the real sample; ``event()``'s default."""

DAY_FILE = "2018/11/2018-11-01-events.json"
"""Where ``write_source`` puts a plain list of events, relative to ``log_data/``."""


def event(**fields: Any) -> dict:
    """One log event (the 18 keys of the real logs); ``fields`` override any key, e.g.
    ``event(userId="", auth="Logged Out", page="Home")`` for a logged-out page view."""
    rec = {
        "artist": "Muse",
        "auth": "Logged In",
        "firstName": "Ann",
        "gender": "F",
        "itemInSession": 0,
        "lastName": "Lee",
        "length": 200.5,
        "level": "free",
        "location": "Here, CA",
        "method": "PUT",
        "page": "NextSong",
        "registration": 1540919166796.0,
        "sessionId": 10,
        "song": "Uprising",
        "status": 200,
        "ts": NOW,
        "userAgent": "Mozilla",
        "userId": "7",
    }
    rec.update(fields)
    return rec


def song(**fields: Any) -> dict:
    """One song record (the 10 keys of the real song files); ``fields`` override any key."""
    rec = {
        "artist_id": "AR1",
        "artist_latitude": 1.5,
        "artist_location": "Paris",
        "artist_longitude": 2.5,
        "artist_name": "Muse",
        "duration": 200.5,
        "num_songs": 1,
        "song_id": "SO1",
        "title": "Uprising",
        "year": 2009,
    }
    rec.update(fields)
    return rec


NO_SONG: dict[str, Any] = {"artist": None, "length": None, "song": None}
"""The keys of an event that names no song (``event(**NO_SONG)``: a NextSong that matches nothing)."""


def plain_song(**fields: Any) -> dict:
    """:func:`song` with no place and an old year: ``artist_latitude`` and ``artist_longitude`` null,
    ``artist_location`` empty, ``year`` 2000 (``fields`` override any key, these included)."""
    return song(
        **{"artist_latitude": None, "artist_longitude": None, "artist_location": "", "year": 2000, **fields}
    )


def plain_event(**fields: Any) -> dict:
    """:func:`event` of user ``"10"`` in session 1 with user agent ``Mozilla/5.0`` (``fields``
    override any key, these included)."""
    return event(**{"sessionId": 1, "userAgent": "Mozilla/5.0", "userId": "10", **fields})


def write_source(root: Path, *, songs: list[dict], events: list[dict] | dict[str, list[dict]]) -> Path:
    """Write a source folder in the real layout under ``root`` and return ``root``.

    ``songs``: one JSON object per file, ``song_data/A/B/C/TR000000.json``, ``TR000001.json``...
    ``events``: NDJSON, either a list (one file, ``log_data/`` + :data:`DAY_FILE`) or
    ``{path relative to log_data/: events}``. Both folders always exist, even when empty.
    Text is UTF-8, non-ASCII characters written as they are (as in the real data).
    """
    root = Path(root)
    days = events if isinstance(events, dict) else {DAY_FILE: events}
    (root / "log_data").mkdir(parents=True, exist_ok=True)
    (root / "song_data").mkdir(parents=True, exist_ok=True)
    for name, evs in days.items():
        path = root / "log_data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in evs), encoding="utf-8")
    for i, rec in enumerate(songs):
        path = root / "song_data" / "A" / "B" / "C" / f"TR{i:06d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    return root


def rows(wh, table: str, columns: list[str] | None = None) -> list[tuple]:
    """The rows of star ``table`` in ``wh`` (all columns but songplay_id, unless ``columns`` says),
    as tuples sorted with NULLs last, so two engines' tables compare with ``==``."""
    cols = columns or [c for c in TABLES[table].column_names if c != "songplay_id"]
    select = ", ".join(f'"{c}"' for c in cols)
    _, result = wh.query(f"select {select} from {wh.qualified(table)}")
    return sorted((tuple(r) for r in result), key=_sort_key)


def _sort_key(row: tuple):
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in row)
