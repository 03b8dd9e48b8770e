"""Hand-made inputs: write tiny source folders in the real layout."""

from __future__ import annotations

import json
from pathlib import Path


def event(**over) -> dict:
    """A logged-in NextSong event; override any key."""
    e = {
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
        "ts": 1541105830796,
        "userAgent": "Mozilla",
        "userId": "7",
    }
    e.update(over)
    return e


def song(**over) -> dict:
    """A song record; override any key."""
    s = {
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
    s.update(over)
    return s


def write_source(root: Path, events: list[dict] | dict[str, list[dict]], songs: list[dict]) -> Path:
    """Write ``songs`` (one file each) and ``events`` (one day file, or {file name: events})."""
    root = Path(root)
    days = events if isinstance(events, dict) else {"2018-11-01-events.json": events}
    (root / "log_data").mkdir(parents=True, exist_ok=True)
    (root / "song_data").mkdir(parents=True, exist_ok=True)
    for name, evs in days.items():
        path = root / "log_data" / "2018" / "11" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(e) + "\n" for e in evs))
    for i, s in enumerate(songs):
        path = root / "song_data" / "A" / "B" / "C" / f"TR{i:06d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(s))
    return root
