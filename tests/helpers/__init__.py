"""Helpers for tests: write tiny hand-made inputs, read star tables back in a comparable form."""

from __future__ import annotations

import json
from pathlib import Path

from sparkify.schema import TABLES

NOW = 1541105830796
"""2018-11-01 20:57:10.796 UTC, a ts of the real sample."""


def song(
    song_id: str,
    title="A Song",
    artist_id="ARA",
    artist_name="Artist A",
    duration=200.5,
    year=2000,
    latitude=None,
    longitude=None,
    location="",
    **extra,
) -> dict:
    """One song record with the real keys; anything not given is plausible."""
    rec = {
        "num_songs": 1,
        "artist_id": artist_id,
        "artist_latitude": latitude,
        "artist_longitude": longitude,
        "artist_location": location,
        "artist_name": artist_name,
        "song_id": song_id,
        "title": title,
        "duration": duration,
        "year": year,
    }
    rec.update(extra)
    return rec


def event(
    user_id="10",
    session_id=1,
    item=0,
    ts=NOW,
    page="NextSong",
    song=None,
    artist=None,
    length=None,
    level="free",
    first_name="Ann",
    last_name="Lee",
    gender="F",
    location="Here, CA",
    user_agent="Mozilla/5.0",
    **extra,
) -> dict:
    """One log event with the real keys; a logged-out event when ``user_id`` is ""."""
    rec = {
        "artist": artist,
        "auth": "Logged In" if user_id else "Logged Out",
        "firstName": first_name,
        "gender": gender,
        "itemInSession": item,
        "lastName": last_name,
        "length": length,
        "level": level,
        "location": location,
        "method": "PUT",
        "page": page,
        "registration": 1540919166796.0,
        "sessionId": session_id,
        "song": song,
        "status": 200,
        "ts": ts,
        "userAgent": user_agent,
        "userId": user_id,
    }
    rec.update(extra)
    return rec


def write_source(root: Path, songs: list[dict], logs: dict[str, list[dict]] | list[dict]) -> Path:
    """Write song files (one object each, as in the real data) and NDJSON log files under ``root``."""
    root = Path(root)
    (root / "song_data").mkdir(parents=True, exist_ok=True)
    (root / "log_data").mkdir(parents=True, exist_ok=True)
    for i, rec in enumerate(songs):
        folder = root / "song_data" / "A" / "B" / "C"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"TR{i:06d}.json").write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    if isinstance(logs, list):
        logs = {"2018-11-01-events.json": logs}
    for name, events in logs.items():
        text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
        (root / "log_data" / name).write_text(text, encoding="utf-8")
    return root


def rows(wh, table: str, columns: list[str] | None = None) -> list[tuple]:
    """The rows of ``table`` (all columns but songplay_id, unless ``columns`` says), sorted."""
    cols = columns or [c for c in TABLES[table].column_names if c != "songplay_id"]
    select = ", ".join(f'"{c}"' for c in cols)
    _, result = wh.query(f"select {select} from {wh.qualified(table)}")
    return sorted((tuple(r) for r in result), key=_sort_key)


def _sort_key(row: tuple):
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in row)
