"""The song files, and the catalogue of what the events need to know of them."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

from sparkify.generate.jsontext import json_text, json_value
from sparkify.generate.shape import ARTIST_SHARE
from sparkify.generate.words import (
    BAND_NOUNS,
    FIRST_F,
    FIRST_M,
    FOREIGN,
    LAST,
    PLACES,
    SUFFIXES,
    TITLE_ADJ,
    TITLE_VERBS,
    TITLE_WORDS,
)
from sparkify.progress import Progress

# -- the song catalogue ---------------------------------------------------------------------------


@dataclass
class Catalogue:
    """What the event generator needs of the songs: their text as a log would show it."""

    artist: list[str]  # JSON text of str(artist_name)
    title: list[str]  # JSON text of str(title)
    length: list[str]  # duration as written in the song file
    seconds: list[float]
    popularity: list[float]  # cumulative weights, by rank
    by_rank: list[int]  # song index of each rank
    artist_names: list[str]  # every artist's name as text, for songs outside the files


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = _UPPER + "0123456789"
_HEX = "0123456789ABCDEF"


def _id(rng: random.Random, prefix: str, letters: int, middle: str, tail: int) -> str:
    """An id shaped like the real ones: SOIVLFT12AB017EEF8, ARRP7LB1187B99A343, TRAGGGV128F9303219."""
    head = rng.choices(_ALNUM if prefix == "AR" else _UPPER, k=letters)
    return prefix + "".join(head) + middle + "".join(rng.choices(_HEX, k=tail))


def _unique(rng, seen: set, make) -> str:
    while True:
        value = make(rng)
        if value not in seen:
            seen.add(value)
            return value


def make_title(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.30:
        t = f"{rng.choice(TITLE_ADJ)} {rng.choice(TITLE_WORDS)}"
    elif r < 0.45:
        t = f"{rng.choice(TITLE_WORDS)} Of {rng.choice(TITLE_WORDS)}"
    elif r < 0.60:
        t = f"{rng.choice(TITLE_VERBS)} Me {rng.choice(('Home', 'Away', 'Down', 'Higher', 'Tonight', 'Back'))}"
    elif r < 0.72:
        t = f"The {rng.choice(TITLE_WORDS)}"
    elif r < 0.85:
        t = rng.choice(TITLE_WORDS)
    elif r < 0.93:
        t = f"{rng.choice(FOREIGN)} {rng.choice(TITLE_WORDS).lower()}"
    else:
        t = f"{rng.choice(TITLE_WORDS)} / {rng.choice(TITLE_WORDS)}"
    if rng.random() < 0.25:
        t += rng.choice(SUFFIXES)
    return t


def make_artist_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return f"{rng.choice(FIRST_M + FIRST_F)} {rng.choice(LAST)}"
    if r < 0.60:
        return f"The {rng.choice(TITLE_ADJ)} {rng.choice(BAND_NOUNS)}"
    if r < 0.72:
        return f"{rng.choice(LAST)} & The {rng.choice(BAND_NOUNS)}"
    if r < 0.82:
        return f"DJ {rng.choice(TITLE_WORDS)}"
    if r < 0.92:
        return rng.choice(FOREIGN) + rng.choice(("", " Trio", " Orchestra", " Collective"))
    return rng.choice(TITLE_WORDS) + rng.choice(BAND_NOUNS).lower()


def make_duration(rng: random.Random) -> float:
    seconds = math.exp(rng.gauss(5.45, 0.38))  # about 230 s, mostly 2-7 minutes
    return round(min(max(seconds, 6.4), 2709.0), 5)


def _coordinate(value: float, rng: random.Random) -> float:
    return round(value + rng.uniform(-0.05, 0.05), 5)


def _artist(rng: random.Random, ids: set) -> list:
    """[artist_id, name, location, latitude, longitude] as the song files write them."""
    artist_id = _unique(rng, ids, lambda r: _id(r, "AR", 5, "1187B", 6))
    name = make_artist_name(rng)
    if rng.random() < 0.45:
        location, lat, lon = "", None, None
    else:
        place, plat, plon = rng.choice(PLACES)
        location = place
        lat, lon = (plat, plon) if rng.random() < 0.6 else (None, None)
    return [artist_id, name, location, lat, lon]


def _variant(rng: random.Random, artist: list) -> list:
    """The same artist_id with other details, as when another song file describes it differently."""
    a = list(artist)
    r = rng.random()
    if r < 0.45:
        place, plat, plon = rng.choice(PLACES)
        a[2], a[3], a[4] = place, _coordinate(plat, rng), _coordinate(plon, rng)
    elif r < 0.70:
        a[3] = a[4] = None
    elif r < 0.90:
        a[2] = ""
    else:
        a[1] = f"{a[1]} feat. {rng.choice(FIRST_F)} {rng.choice(LAST)}"
    return a


def write_songs(root: Path, songs: int, seed: int, progress: Progress) -> Catalogue:
    """Write the song files; return what the events need to know of them."""
    rng = random.Random(f"sparkify-generate:{seed}:songs")
    n_artists = max(1, round(songs * ARTIST_SHARE))
    artist_ids: set[str] = set()
    artists = [_artist(rng, artist_ids) for _ in range(n_artists)]
    # Every artist has a song; the remaining songs go to random artists (some get many).
    owner = list(range(n_artists)) + [rng.randrange(n_artists) for _ in range(songs - n_artists)]
    rng.shuffle(owner)
    quirks = _song_quirks(songs)
    if "conflict" in quirks:
        owner[quirks["conflict"][1]] = owner[quirks["conflict"][0]]
    if "twice" in quirks:
        owner[quirks["twice"][1]] = owner[quirks["twice"][0]]

    track_ids: set[str] = set()
    song_ids: set[str] = set()
    cat = Catalogue([], [], [], [], [], [], [str(a[1]) for a in artists])
    made_dirs: set[str] = set()
    task = "generate songs"
    progress.start(task, songs)
    written: dict[int, tuple] = {}  # songs a later quirk copies
    for i in range(songs):
        track = _unique(rng, track_ids, lambda r: "TRA" + _id(r, "", 4, "128F", 7))
        song_id = _unique(rng, song_ids, lambda r: _id(r, "SO", 5, "12A", 8))
        a = artists[owner[i]]
        if rng.random() < 0.05:
            a = _variant(rng, a)
        title: str | int | float = make_title(rng)
        duration = make_duration(rng)
        year = 0 if rng.random() < 0.32 else min(2010, 1927 + int(83 * rng.random() ** 0.35))
        # numbers where text belongs, as some writers emitted them (0.1-0.15% of the real records)
        if rng.random() < 0.0013:
            title = rng.randrange(1, 3000)
        if rng.random() < 0.0014:
            a = [a[0], rng.randrange(1, 5000), *a[2:]]
        if rng.random() < 0.0008:
            a = [a[0], a[1], rng.randrange(1, 200), *a[3:]]
        if rng.random() < 0.0001:
            a = [a[0], a[1], None, *a[3:]]
        # scripted quirks on the first songs, so that any set holds them
        if i == quirks.get("int_title"):
            title = 66
        elif i == quirks.get("float_title"):
            title = 4.6
        elif i == quirks.get("int_artist"):
            a = [a[0], 112, *a[2:]]
        elif i == quirks.get("int_location"):
            a = [a[0], a[1], 27, 1.32026, 103.78871]
        elif i == quirks.get("null_location"):
            a = [a[0], a[1], None, None, None]
        elif i == quirks.get("empty_location"):
            a = [a[0], a[1], "", None, None]
            year = 0
        elif i == quirks.get("non_ascii"):
            title = "Le cinéma des vieux garçons / Déjà Vu"
            a = [a[0], "Vincent Vallières", *a[2:]]
        elif "conflict" in quirks and i in quirks["conflict"]:
            first = i == quirks["conflict"][0]
            place, plat, plon = PLACES[0] if first else PLACES[1]
            a = [a[0], a[1], place, plat if first else round(plat + 0.5, 5), plon]
        elif "twice" in quirks and i == quirks["twice"][1]:
            title, a, duration, year = written[i]
        if "twice" in quirks and i == quirks["twice"][0]:
            written[i + 1] = (title, a, duration, year)

        text = (
            f'{{"artist_id":"{a[0]}","artist_latitude":{json_value(a[3])},'
            f'"artist_location":{json_value(a[2])},"artist_longitude":{json_value(a[4])},'
            f'"artist_name":{json_value(a[1])},"duration":{duration!r},"num_songs":1,'
            f'"song_id":"{song_id}","title":{json_value(title)},"year":{year}}}'
        )
        folder = f"{track[2]}/{track[3]}/{track[4]}"
        if folder not in made_dirs:
            (root / folder).mkdir(parents=True, exist_ok=True)
            made_dirs.add(folder)
        with open(root / folder / f"{track}.json", "w", encoding="ascii", newline="") as f:
            f.write(text)
        cat.artist.append(json_text(str(a[1])))
        cat.title.append(json_text(str(title)))
        cat.length.append(repr(duration))
        cat.seconds.append(duration)
        if i % 1000 == 999:
            progress.advance(task, 1000)
    progress.advance(task, songs % 1000)
    progress.finish(task)

    # Popularity: a Zipf-like law over a random ranking. The scripted quirky songs rank among the
    # first few dozen (every third place), so numeric and non-ASCII titles are played, and
    # matched, even in a small set.
    scripted = sorted(set(_flatten(quirks.values())))
    taken = set(scripted)
    order = [i for i in range(songs) if i not in taken]
    rng.shuffle(order)
    for j, i in enumerate(scripted):
        order.insert(min(1 + 3 * j, len(order)), i)
    cat.by_rank = order
    acc = 0.0
    for rank in range(songs):
        acc += 1.0 / (rank + 3) ** 0.9
        cat.popularity.append(acc)
    return cat


def _flatten(values):
    for v in values:
        if isinstance(v, tuple):
            yield from v
        else:
            yield v


def _song_quirks(songs: int) -> dict:
    """Which song index carries which scripted quirk (only those that fit in ``songs``)."""
    names = [
        "int_title",
        "non_ascii",
        "int_artist",
        "conflict",
        "twice",
        "float_title",
        "int_location",
        "null_location",
        "empty_location",
    ]
    out: dict = {}
    i = 0
    for name in names:
        width = 2 if name in ("conflict", "twice") else 1
        if i + width > songs:
            break
        out[name] = (i, i + 1) if width == 2 else i
        i += width
    return out
