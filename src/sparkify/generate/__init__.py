"""Deterministic synthetic Sparkify data, in exactly the real layout and format, quirks included.

``generate(out, events=..., songs=..., users=..., seed=...)`` writes

* ``song_data/A/B/C/TR*.json`` -- one compact JSON object per file, no trailing newline, keys in
  alphabetical order, ``A/B/C`` the 3rd to 5th characters of the track id (as in the real
  ``song_data/A/G/G/TRAGGGV128F9303219.json``);
* ``log_data/YYYY/MM/YYYY-MM-DD-events.json`` -- one file per day from 2018-11-01, newline-delimited
  JSON with the 18 keys in the real order, sorted by ``ts``, no trailing newline.

Text is written the way the real files were: ASCII only (``\\uXXXX`` escapes), forward slashes
escaped as ``\\/``, ``registration`` a float with ``.0``, ``ts`` epoch milliseconds, and a
``userAgent`` that keeps its literal double quotes when it contains a comma (a CSV export left them).

The real data's quirks are all there, and the first few songs, users and sessions are scripted so
that even a small set holds every one of them: numbers in text fields (``"title":66``, numeric
``artist_name`` and ``artist_location``), ``year`` 0, empty and null ``artist_location``, null
coordinates, non-ASCII and double-encoded ("mojibake") names, one artist_id with conflicting details
across its songs, one song listed twice under two song_ids, logged-out events (``userId`` "" and
null name, gender, location, registration and userAgent), every non-NextSong page, users moving
free -> paid and paid -> free, several events with the same ``ts``, NextSong events that match a
song exactly (title, artist_name and duration), near misses (same title and artist, another length)
and plays of songs that are not in the song files, and a few events delivered twice (the identical
line again, in the next day's file or later in the same file).

Same arguments, same bytes: every random choice comes from ``random.Random`` seeded with a string
(hashed with SHA-512, so independent of ``PYTHONHASHSEED``), and nothing depends on set or dict
order of strings. Song files depend only on ``songs`` and ``seed``.

Memory holds the song catalogue, the users and one day of events -- never all events.

The parts: :mod:`~sparkify.generate.shape` (start, shares, the plans of days and lines),
:mod:`~sparkify.generate.words` (the word lists, data only), :mod:`~sparkify.generate.songs` (the
song files and their catalogue), :mod:`~sparkify.generate.events` (pages, users, the events),
:mod:`~sparkify.generate.jsontext` (JSON written as the real files write it).
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sparkify.errors import ConfigError
from sparkify.generate.events import Events, make_users
from sparkify.generate.jsontext import json_text
from sparkify.generate.shape import (
    DAY_MS,
    START,
    START_MS,
    day_count,
    lines_per_day,
    plan_joins,
    second_deliveries,
)
from sparkify.generate.songs import write_songs
from sparkify.progress import NoProgress, Progress
from sparkify.sample import JSON_PATHS
from sparkify.schema import EVENT_FILES, FILE_KINDS, SONG_FILES


@dataclass(frozen=True)
class GenerateReport:
    """What :func:`generate` wrote."""

    song_files: int
    log_files: int
    events: int
    """Log lines written, second deliveries included."""


# -- the entry point ------------------------------------------------------------------------------


def generate(
    out: Path,
    *,
    events: int,
    songs: int,
    users: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> GenerateReport:
    """Write ``songs`` song files and ``events`` log lines by ``users`` users into ``out``.

    Same arguments, same bytes. ``out`` may exist but must not already hold ``song_data/`` or
    ``log_data/`` (old and new files would mix). Every user has at least one event, so ``events``
    must be at least ``users``. Raises :class:`ConfigError` otherwise. The files appear in ``out``
    only when all are written: a run that fails or is interrupted leaves ``out`` as it was.
    """
    progress = progress or NoProgress()
    out = Path(out)
    for name, value in (("events", events), ("songs", songs), ("users", users)):
        if value < 1:
            raise ConfigError(f"--{name} must be at least 1, got {value}.")
    if events < users:
        raise ConfigError(
            f"--events ({events}) must be at least --users ({users}): every user has at least one event."
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file. Give a folder to write into.")
    for kind in FILE_KINDS.values():
        path = out / kind.folder
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(
                f"{path} already exists. Generate into a new folder, or remove {path} first, so that "
                "old and new files do not mix."
            )

    # Written into a hidden folder inside ``out`` and moved into place at the end: an interrupted or
    # failed run leaves nothing behind (a partial source would load as if it were whole).
    made_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".sparkify-generate-", dir=out))
    try:
        report = _write(work, events=events, songs=songs, users=users, seed=seed, progress=progress)
        for name in (SONG_FILES.folder, EVENT_FILES.folder, JSON_PATHS):
            target = out / name
            if target.is_dir():
                target.rmdir()  # empty: checked above
            os.replace(work / name, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if made_out:
            shutil.rmtree(out, ignore_errors=True)
        raise
    work.rmdir()
    return report


def _write(
    out: Path, *, events: int, songs: int, users: int, seed: int, progress: Progress
) -> GenerateReport:
    """Write the files of :func:`generate` into ``out`` (a new, empty folder)."""
    catalogue = write_songs(out / SONG_FILES.folder, songs, seed, progress)

    plan_rng = random.Random(f"sparkify-generate:{seed}:plan")
    days = day_count(events)
    per_day = lines_per_day(events, days, plan_rng)
    again = second_deliveries(per_day, events, users)
    fresh = [
        per_day[d] - (again[d - 1] if d else 0) - (again[d] if d == days - 1 else 0) for d in range(days)
    ]
    joins = plan_joins(fresh, users, events)
    joined_ms = [START_MS + d * DAY_MS for d, n in enumerate(joins) for _ in range(n)]
    gen = Events(catalogue, make_users(users, seed, joined_ms), seed, songs)

    task = "generate logs"
    progress.start(task, days)
    written = 0
    carried: list[str] = []  # yesterday's lines delivered again today
    seen = 0
    for d in range(days):
        lines = gen.day(d, fresh[d], range(seen, seen + joins[d]), seen + joins[d])
        seen += joins[d]
        texts = [line for _, line in lines]
        rng = gen.rng
        if again[d]:
            # prefer plays of logged-in users: the second delivery the pipeline must not count twice
            plays = [line for line in texts if '"page":"NextSong"' in line]
            picked = rng.sample(plays if len(plays) >= again[d] else texts, again[d])
        else:
            picked = []
        if d == days - 1:
            for line in picked:  # the last day: the copy comes later in the same file
                texts.insert(rng.randrange(texts.index(line) + 1, len(texts) + 1), line)
        for line in carried:
            texts.insert(rng.randrange(0, len(texts) + 1), line)
        carried = picked if d < days - 1 else []
        day = START + timedelta(days=d)
        path = out / EVENT_FILES.folder / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}-events.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="ascii", newline="") as f:
            f.write("\n".join(texts))
        written += len(texts)
        progress.advance(task, 1)
    progress.finish(task)
    # the JSONPaths file Redshift's COPY reads the events through, as the real bucket has it
    from sparkify.sample import json_paths_text

    (out / JSON_PATHS).write_text(json_paths_text(), encoding="utf-8")
    return GenerateReport(song_files=songs, log_files=days, events=written)


__all__ = ["GenerateReport", "day_count", "generate", "json_text"]
