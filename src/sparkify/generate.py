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
"""

from __future__ import annotations

import bisect
import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sparkify.errors import ConfigError
from sparkify.pipeline import NoProgress, Progress
from sparkify.schema import EVENT_FILES, FILE_KINDS, SONG_FILES

START = datetime(2018, 11, 1, tzinfo=UTC)
"""The first day of the log files, as in the real data."""

START_MS = int(START.timestamp() * 1000)
DAY_MS = 86_400_000

MAX_DAYS = 366
"""Days are ``sqrt(events / 10)`` (30 for the real 8k events, 100 for 100k -- crossing a year end,
316 for 1M) but never more than this."""

ARTIST_SHARE = 0.64
"""Distinct artists per song, as in the real data (9,553 artist ids for 14,896 songs)."""

MATCH_SHARE = 0.30
"""Share of NextSong events that play a song of the song files exactly (title, artist, duration)."""

NEAR_MISS_SHARE = 0.01
"""Share of NextSong events with a song file's title and artist but another length: no match."""

DUPLICATE_SHARE = 0.0005
"""Share of log lines that are a second delivery of an earlier line."""

ANONYMOUS_SHARE = 0.03
"""Share of sessions that never log in (every event logged out)."""

EXISTING_USERS = 0.5
"""Share of users already registered on the first day; the others join over the period."""

SESSION_MEAN = 8.0
"""Mean events per session (the real data has 8,056 events in 941 sessions)."""

SESSION_MAX = 200

# -- word lists -----------------------------------------------------------------------------------

_TITLE_WORDS = [
    "Love",
    "Heart",
    "Night",
    "Day",
    "Rain",
    "Fire",
    "Dream",
    "Light",
    "Shadow",
    "River",
    "Road",
    "Home",
    "Time",
    "Song",
    "Blues",
    "Dance",
    "Star",
    "Sun",
    "Moon",
    "City",
    "Girl",
    "Boy",
    "Baby",
    "World",
    "Life",
    "Soul",
    "Wind",
    "Sky",
    "Ocean",
    "Summer",
    "Winter",
    "Angel",
    "Money",
    "Train",
    "Window",
    "Mirror",
    "Secret",
    "Promise",
    "Freedom",
    "Gold",
    "Silver",
    "Stone",
    "Thunder",
    "Heaven",
    "Island",
    "Garden",
    "Memory",
    "Letter",
    "Ghost",
    "Highway",
    "Morning",
    "Midnight",
    "Tears",
    "Kiss",
    "Smile",
    "Storm",
    "Echo",
    "Bridge",
    "Paradise",
    "Revolution",
]
_TITLE_ADJ = [
    "Sweet",
    "Lonely",
    "Blue",
    "Golden",
    "Broken",
    "Crazy",
    "Little",
    "Wild",
    "Silent",
    "Electric",
    "Beautiful",
    "Dark",
    "Last",
    "First",
    "Lost",
    "Burning",
    "Endless",
    "Hollow",
    "Secret",
    "Young",
    "Old",
    "Cold",
    "Bright",
    "Strange",
    "Holy",
    "Easy",
    "Dirty",
    "Perfect",
]
_TITLE_VERBS = [
    "Take",
    "Hold",
    "Kiss",
    "Tell",
    "Show",
    "Leave",
    "Call",
    "Save",
    "Love",
    "Free",
    "Wake",
    "Follow",
    "Catch",
    "Remember",
]
_FOREIGN = (
    "Café",
    "Mañana",
    "Corazón",
    "Tränen",
    "Für Dich",
    "Été",
    "Ça Va",
    "Déjà Vu",
    "Niño",
    "Señorita",
    "Søndag",
    "Liebe",
    "Amour Fou",
    "Canção",
    "Mädchen",
    "Garçon",
    "Città",
    "Москва",
    "Ночь",
    "Ελπίδα",
    "Sehnsucht",
    "Coração",
    "Rêverie",
    "Smörgåsbord",
    "Zürich",
    "Kærlighed",
    "Año Nuevo",
)
_SUFFIXES = (
    " (Album Version)",
    " (LP Version)",
    " (Live)",
    " (Remix)",
    " (Remastered)",
    " - Single Version",
    " (2006 Digital Remaster)",
    " (Radio Edit)",
    " (Acoustic)",
    " (feat. MC Flow)",
    " [Demo]",
    " (Explicit)",
    ' (7" Version)',
    " (Instrumental)",
)
_FIRST_M = [
    "Walter",
    "Jacob",
    "Ryan",
    "Aiden",
    "Noah",
    "Liam",
    "Ethan",
    "Lucas",
    "Mason",
    "Logan",
    "Elijah",
    "Oliver",
    "Kevin",
    "Brian",
    "Tegan",
    "Adler",
    "Jordan",
    "Cameron",
    "Samuel",
    "Theodore",
    "Wyatt",
    "Jayden",
    "Dylan",
    "Colin",
    "Stefany",
    "Martin",
    "Carlos",
    "Miguel",
    "Hugo",
] + ["José", "Björn", "Łukasz", "Zoltán", "François", "Jürgen", "Søren", "Ólafur"]
_FIRST_F = [
    "Kaylee",
    "Lily",
    "Chloe",
    "Sophia",
    "Ava",
    "Layla",
    "Jacqueline",
    "Rylan",
    "Kate",
    "Aleena",
    "Amiya",
    "Anabelle",
    "Katherine",
    "Jizelle",
    "Emily",
    "Madison",
    "Harper",
    "Morgan",
    "Sara",
    "Mia",
    "Isabella",
    "Jasmine",
    "Avery",
    "Lauren",
    "Hannah",
    "Olivia",
    "Ella",
] + ["Zoë", "Renée", "Chloé", "Inés", "Björk", "Ángela", "Noémie", "Dagný"]
_LAST = [
    "Frye",
    "Summers",
    "Koch",
    "Morris",
    "Williams",
    "Smith",
    "Johnson",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Cruz",
    "Owen",
] + ["Müller", "García", "Ødegaard", "Núñez", "Kowalczyk", "Dvořák", "Saint-Éloi", "O'Brien"]
_BAND_NOUNS = [
    "Kings",
    "Wolves",
    "Lovers",
    "Strangers",
    "Saints",
    "Ghosts",
    "Rebels",
    "Brothers",
    "Sisters",
    "Machines",
    "Horses",
    "Tigers",
    "Keys",
    "Echoes",
    "Pilots",
    "Thieves",
    "Dreamers",
    "Ramblers",
    "Shadows",
    "Hearts",
    "Riders",
    "Monkeys",
    "Vampires",
    "Owls",
]
_USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA",
    "Portland-South Portland, ME",
    "Lansing-East Lansing, MI",
    "Chicago-Naperville-Elgin, IL-IN-WI",
    "Atlanta-Sandy Springs-Roswell, GA",
    "Waterloo-Cedar Falls, IA",
    "Lake Havasu City-Kingman, AZ",
    "San Jose-Sunnyvale-Santa Clara, CA",
    "Phoenix-Mesa-Scottsdale, AZ",
    "New York-Newark-Jersey City, NY-NJ-PA",
    "Houston-The Woodlands-Sugar Land, TX",
    "Tampa-St. Petersburg-Clearwater, FL",
    "Birmingham-Hoover, AL",
    "Janesville-Beloit, WI",
    "Marinette, WI-MI",
    "Red Bluff, CA",
    "Winston-Salem, NC",
    "Los Angeles-Long Beach-Anaheim, CA",
    "Seattle-Tacoma-Bellevue, WA",
    "Miami-Fort Lauderdale-West Palm Beach, FL",
    "Mayagüez, PR",
    "Cañon City, CO",
    "Española, NM",
    "Boston-Cambridge-Newton, MA-NH",
    "Detroit-Warren-Dearborn, MI",
)
_USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) Version/7.0.6 Safari/537.78.2",
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062.94 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0",
)
_PLACES = (  # artist locations with their coordinates
    ("London, England", 51.50632, -0.12714),
    ("New York, NY", 40.71455, -74.00712),
    ("Los Angeles, CA", 34.05349, -118.24532),
    ("Chicago, IL", 41.88415, -87.63241),
    ("Berlin, Germany", 52.51607, 13.37698),
    ("GERMANY", 51.16418, 10.45415),
    ("Melbourne, Australia", -37.81753, 144.96715),
    ("Kingston, Ontario, Canada", 44.23153, -76.47933),
    ("São Paulo, Brasil", -23.56287, -46.65468),
    ("Montréal, Québec, Canada", 45.51228, -73.55439),
    ("Reykjavík, Iceland", 64.13548, -21.89541),
    ("Nashville, TN", 36.16778, -86.77836),
    ("Memphis, TN", 35.14968, -90.04892),
    ("San Francisco, CA", 37.77916, -122.42005),
    ("Paris, France", 48.85693, 2.3412),
    ("Stockholm, Sweden", 59.33217, 18.06243),
    ("Kingston, Jamaica", 17.99702, -76.79358),
    ("Seattle, WA", 47.60356, -122.32944),
    ("Dublin, Ireland", 53.34376, -6.24953),
    ("Tokyo, Japan", 35.67009, 139.7709),
    ("Bogotá, Colombia", 4.59805, -74.07597),
    ("Zürich, Switzerland", 47.37706, 8.53955),
    ("Detroit, MI", 42.33168, -83.04792),
    ("Manchester, England", 53.47962, -2.24881),
    ("Ciudad de México", 19.43195, -99.13315),
    ("Oslo, Norway", 59.91228, 10.74998),
    ("Atlanta, GA", 33.74831, -84.39111),
    ("Austin, TX", 30.26759, -97.74299),
    ("Kraków, Poland", 50.06045, 19.93242),
    ("Osaka, Japan", 34.69367, 135.50217),
)

# -- pages ----------------------------------------------------------------------------------------

_PAGE = {  # page -> the "method" and "page" fragment, and the status
    page: (f'"method":"{method}","page":"{page}"', status)
    for page, method, status in (
        ("NextSong", "PUT", 200),
        ("Home", "GET", 200),
        ("Login", "PUT", 307),
        ("Logout", "PUT", 307),
        ("Downgrade", "GET", 200),
        ("Settings", "GET", 200),
        ("Help", "GET", 200),
        ("About", "GET", 200),
        ("Upgrade", "GET", 200),
        ("Save Settings", "PUT", 307),
        ("Error", "GET", 404),
        ("Submit Upgrade", "PUT", 307),
        ("Submit Downgrade", "PUT", 307),
    )
}


def _cumulative(pairs):
    total = sum(w for _, w in pairs)
    out, acc = [], 0.0
    for page, w in pairs:
        acc += w / total
        out.append((acc, page))
    out[-1] = (1.0, out[-1][1])
    return out


_BROWSE = [
    ("NextSong", 0.845),
    ("Home", 0.07),
    ("Settings", 0.008),
    ("Help", 0.007),
    ("About", 0.004),
    ("Error", 0.0015),
    ("Logout", 0.013),
]
_NEXT_PAGE = {  # logged-in user's next page, by level
    "free": _cumulative(_BROWSE + [("Upgrade", 0.009)]),
    "paid": _cumulative(_BROWSE + [("Downgrade", 0.009)]),
}
_LOGGED_OUT_PAGE = _cumulative([("Home", 0.45), ("Login", 0.45), ("About", 0.05), ("Help", 0.05)])
_ANONYMOUS_PAGE = _cumulative([("Home", 0.75), ("About", 0.15), ("Help", 0.1)])

# Scripted first sessions of the first users: they make sure even a small set holds every quirk.
# (page, logged in) pairs; the session goes on at random after them.
_SCRIPTS: dict[int, tuple[tuple[str, bool], ...]] = {
    0: (
        ("Home", True),
        ("NextSong", True),
        ("Upgrade", True),
        ("Submit Upgrade", True),
        ("Home", True),
        ("NextSong", True),
    ),  # a free user becomes paid; Home and NextSong share a ts
    1: (
        ("NextSong", True),
        ("Downgrade", True),
        ("Submit Downgrade", True),
        ("Home", True),
        ("NextSong", True),
    ),  # a paid user becomes free
    2: (
        ("Home", True),
        ("NextSong", True),
        ("Logout", True),
        ("Home", False),
        ("Login", False),
        ("Home", True),
        ("NextSong", True),
    ),  # logs out and back in within the session
    3: (
        ("Home", False),
        ("Login", False),
        ("Home", True),
        ("NextSong", True),
        ("Settings", True),
        ("Save Settings", True),
        ("Help", True),
        ("About", True),
        ("Error", True),
        ("NextSong", True),
    ),
}
_SCRIPT_LEVEL = {0: "free", 1: "paid"}


@dataclass(frozen=True)
class GenerateReport:
    """What :func:`generate` wrote."""

    song_files: int
    log_files: int
    events: int
    """Log lines written, second deliveries included."""


# -- JSON text ------------------------------------------------------------------------------------


def json_text(value: str) -> str:
    """A JSON string as the real files write it: ASCII with ``\\uXXXX`` escapes and ``\\/``."""
    return json.dumps(value).replace("/", "\\/")


def _json_value(value) -> str:
    """A song file's field value: a string, a number where a writer emitted one, or null."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json_text(value)
    return repr(value)


def _mojibake(text: str) -> str:
    """UTF-8 decoded as Latin-1, twice: how some of the real log titles look (T\\u00c3\\u0083\\u00c2\\u00ba)."""
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text


# -- the song catalogue ---------------------------------------------------------------------------


@dataclass
class _Catalogue:
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


def _title(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.30:
        t = f"{rng.choice(_TITLE_ADJ)} {rng.choice(_TITLE_WORDS)}"
    elif r < 0.45:
        t = f"{rng.choice(_TITLE_WORDS)} Of {rng.choice(_TITLE_WORDS)}"
    elif r < 0.60:
        t = f"{rng.choice(_TITLE_VERBS)} Me {rng.choice(('Home', 'Away', 'Down', 'Higher', 'Tonight', 'Back'))}"
    elif r < 0.72:
        t = f"The {rng.choice(_TITLE_WORDS)}"
    elif r < 0.85:
        t = rng.choice(_TITLE_WORDS)
    elif r < 0.93:
        t = f"{rng.choice(_FOREIGN)} {rng.choice(_TITLE_WORDS).lower()}"
    else:
        t = f"{rng.choice(_TITLE_WORDS)} / {rng.choice(_TITLE_WORDS)}"
    if rng.random() < 0.25:
        t += rng.choice(_SUFFIXES)
    return t


def _artist_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return f"{rng.choice(_FIRST_M + _FIRST_F)} {rng.choice(_LAST)}"
    if r < 0.60:
        return f"The {rng.choice(_TITLE_ADJ)} {rng.choice(_BAND_NOUNS)}"
    if r < 0.72:
        return f"{rng.choice(_LAST)} & The {rng.choice(_BAND_NOUNS)}"
    if r < 0.82:
        return f"DJ {rng.choice(_TITLE_WORDS)}"
    if r < 0.92:
        return rng.choice(_FOREIGN) + rng.choice(("", " Trio", " Orchestra", " Collective"))
    return rng.choice(_TITLE_WORDS) + rng.choice(_BAND_NOUNS).lower()


def _duration(rng: random.Random) -> float:
    seconds = math.exp(rng.gauss(5.45, 0.38))  # about 230 s, mostly 2-7 minutes
    return round(min(max(seconds, 6.4), 2709.0), 5)


def _coordinate(value: float, rng: random.Random) -> float:
    return round(value + rng.uniform(-0.05, 0.05), 5)


def _artist(rng: random.Random, ids: set) -> list:
    """[artist_id, name, location, latitude, longitude] as the song files write them."""
    artist_id = _unique(rng, ids, lambda r: _id(r, "AR", 5, "1187B", 6))
    name = _artist_name(rng)
    if rng.random() < 0.45:
        location, lat, lon = "", None, None
    else:
        place, plat, plon = rng.choice(_PLACES)
        location = place
        lat, lon = (plat, plon) if rng.random() < 0.6 else (None, None)
    return [artist_id, name, location, lat, lon]


def _variant(rng: random.Random, artist: list) -> list:
    """The same artist_id with other details, as when another song file describes it differently."""
    a = list(artist)
    r = rng.random()
    if r < 0.45:
        place, plat, plon = rng.choice(_PLACES)
        a[2], a[3], a[4] = place, _coordinate(plat, rng), _coordinate(plon, rng)
    elif r < 0.70:
        a[3] = a[4] = None
    elif r < 0.90:
        a[2] = ""
    else:
        a[1] = f"{a[1]} feat. {rng.choice(_FIRST_F)} {rng.choice(_LAST)}"
    return a


def _write_songs(root: Path, songs: int, seed: int, progress: Progress) -> _Catalogue:
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
    cat = _Catalogue([], [], [], [], [], [], [str(a[1]) for a in artists])
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
        title: str | int | float = _title(rng)
        duration = _duration(rng)
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
            place, plat, plon = _PLACES[0] if first else _PLACES[1]
            a = [a[0], a[1], place, plat if first else round(plat + 0.5, 5), plon]
        elif "twice" in quirks and i == quirks["twice"][1]:
            title, a, duration, year = written[i]
        if "twice" in quirks and i == quirks["twice"][0]:
            written[i + 1] = (title, a, duration, year)

        text = (
            f'{{"artist_id":"{a[0]}","artist_latitude":{_json_value(a[3])},'
            f'"artist_location":{_json_value(a[2])},"artist_longitude":{_json_value(a[4])},'
            f'"artist_name":{_json_value(a[1])},"duration":{duration!r},"num_songs":1,'
            f'"song_id":"{song_id}","title":{_json_value(title)},"year":{year}}}'
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


# -- users ----------------------------------------------------------------------------------------


@dataclass
class _User:
    user_id: str
    level: str
    next_tpl: str  # NextSong prefix up to "ts": with %s slots: artist, item, length, level, session, song
    page_tpl: str  # other pages: item, level, method+page, session, status
    suffix: str  # after the ts: userAgent and userId


def _users(users: int, seed: int, joined_ms: list[int]) -> list[_User]:
    """The users in order of their first session; ``joined_ms[k]`` is the start of that day."""
    rng = random.Random(f"sparkify-generate:{seed}:users")
    ids = rng.sample(range(2, max(200, 3 * users) + 2), users)
    out = []
    for k in range(users):
        male = rng.random() < 0.45
        first = rng.choice(_FIRST_M if male else _FIRST_F)
        last = rng.choice(_LAST)
        location = rng.choice(_USER_LOCATIONS)
        agent = rng.choice(_USER_AGENTS)
        if "," in agent:
            agent = f'"{agent}"'  # kept its CSV quotes, as in the real files
        # registered before the first session: long before for users already there on day 0
        before = (
            rng.randrange(3_600_000, 90 * DAY_MS)
            if joined_ms[k] == START_MS
            else rng.randrange(1000, 2 * DAY_MS)
        )
        registration = float(joined_ms[k] - before)
        level = _SCRIPT_LEVEL.get(k) or ("paid" if rng.random() < 0.3 else "free")
        fixed = {
            "first": json_text(first).replace("%", "%%"),
            "last": json_text(last).replace("%", "%%"),
            "gender": '"M"' if male else '"F"',
            "location": json_text(location).replace("%", "%%"),
            "registration": repr(registration),
        }
        common = (
            f'"auth":"Logged In","firstName":{fixed["first"]},"gender":{fixed["gender"]},"itemInSession":%d,'
            f'"lastName":{fixed["last"]},'
        )
        next_tpl = (
            '{"artist":%s,' + common + '"length":%s,"level":"%s",'
            f'"location":{fixed["location"]},"method":"PUT","page":"NextSong","registration":{fixed["registration"]},'
            '"sessionId":%d,"song":%s,"status":200,"ts":'
        )
        page_tpl = (
            '{"artist":null,' + common + '"length":null,"level":"%s",'
            f'"location":{fixed["location"]},%s,"registration":{fixed["registration"]},'
            '"sessionId":%d,"song":null,"status":%d,"ts":'
        )
        suffix = f',"userAgent":{json_text(agent)},"userId":"{ids[k]}"}}'
        out.append(_User(str(ids[k]), level, next_tpl, page_tpl, suffix))
    return out


_OUT_TPL = (
    '{"artist":null,"auth":"Logged Out","firstName":null,"gender":null,"itemInSession":%d,"lastName":null,'
    '"length":null,"level":"%s","location":null,%s,"registration":null,"sessionId":%d,"song":null,'
    '"status":%d,"ts":'
)
_OUT_SUFFIX = ',"userAgent":null,"userId":""}'


# -- plans: days, lines per day, second deliveries, when users join -------------------------------


def day_count(events: int) -> int:
    """How many daily log files ``events`` lines are spread over."""
    return max(1, min(MAX_DAYS, round(math.sqrt(events / 10))))


def _lines_per_day(events: int, days: int, rng: random.Random) -> list[int]:
    """Split ``events`` over ``days``: fewer on weekends, a gentle growth, a little noise."""
    weights = []
    for d in range(days):
        weekday = (START + timedelta(days=d)).weekday()
        weights.append((0.85 if weekday >= 5 else 1.0) * (1 + 0.3 * d / days) * rng.uniform(0.9, 1.1))
    total = sum(weights)
    out, acc, given = [], 0.0, 0
    for w in weights:
        acc += w
        upto = round(events * acc / total)
        out.append(upto - given)
        given = upto
    return out


def _second_deliveries(per_day: list[int], events: int, users: int) -> list[int]:
    """How many lines of each day are delivered a second time (the next day, or the same last day)."""
    days = len(per_day)
    total = min(max(1 if events >= 50 else 0, round(events * DUPLICATE_SHARE)), max(0, events - users))
    out = [0] * days
    for j in range(total):
        out[(j * days) // max(total, 1)] += 1
    for d in range(days):  # never more than a quarter of a day's lines, or of the receiving day's
        receiver = per_day[d + 1] if d + 1 < days else per_day[d]
        out[d] = min(out[d], per_day[d] // 4, receiver // 4)
    return out


def _joins(fresh: list[int], users: int, events: int) -> list[int]:
    """How many users have their first session on each day: half on day 0, the rest spread out,
    never more than a day's fresh lines allow (each newcomer needs one)."""
    days = len(fresh)
    caps = [f // 2 for f in fresh]
    if sum(caps) < users:  # few events per user: newcomers may take every line
        caps = list(fresh)
    later = [0] * (days + 1)
    for d in range(days - 1, -1, -1):
        later[d] = later[d + 1] + caps[d]
    out, seen = [], 0
    for d in range(days):
        target = round(users * (EXISTING_USERS + (1 - EXISTING_USERS) * d / max(days - 1, 1)))
        if d == days - 1:
            target = users
        need = (users - seen) - later[d + 1]  # what later days cannot take
        n = min(max(target - seen, need, 0), caps[d], users - seen)
        out.append(n)
        seen += n
    return out


# -- events ---------------------------------------------------------------------------------------


class _Events:
    """Generates one day's lines at a time; keeps the users' levels and the session counter."""

    def __init__(self, cat: _Catalogue, users: list[_User], seed: int, n_songs: int):
        self.rng = random.Random(f"sparkify-generate:{seed}:events")
        self.cat = cat
        self.users = users
        self.session_id = 0
        # user activity: a few users play a lot (weights by order of joining, shuffled)
        weights = [1.0 / (k + 2) ** 0.8 for k in range(len(users))]
        self.rng.shuffle(weights)
        self.activity: list[float] = []
        acc = 0.0
        for w in weights:
            acc += w
            self.activity.append(acc)
        self.outside = self._outside(n_songs)

    def _outside(self, n_songs: int):
        """Songs the users play that are not in the song files: (artist, title, length, seconds)."""
        rng = self.rng
        size = min(max(2 * n_songs, 500), 200_000)
        pool = []
        for _ in range(size):
            if rng.random() < 0.5 and self.cat.artist_names:
                artist = rng.choice(self.cat.artist_names)  # a known artist, an unknown song
            else:
                artist = _artist_name(rng)
            title = _title(rng)
            if rng.random() < 0.01:
                title = _mojibake(title if not title.isascii() else title + " Café")
            seconds = _duration(rng)
            pool.append((json_text(artist), json_text(title), repr(seconds), seconds))
        weights, acc = [], 0.0
        for rank in range(size):
            acc += 1.0 / (rank + 3) ** 0.9
            weights.append(acc)
        return pool, weights

    def _play(self):
        """(artist, song, length text, seconds) of one NextSong event."""
        rng = self.rng
        r = rng.random()
        cat = self.cat
        if r < MATCH_SHARE + NEAR_MISS_SHARE and cat.popularity:
            i = cat.by_rank[bisect.bisect(cat.popularity, rng.random() * cat.popularity[-1])]
            seconds = cat.seconds[i]
            if r < MATCH_SHARE:
                return cat.artist[i], cat.title[i], cat.length[i], seconds
            near = round(seconds, 2)  # the same song, its length written with less precision
            if near == seconds:
                near = round(seconds + 0.001, 5)
            return cat.artist[i], cat.title[i], repr(near), near
        pool, weights = self.outside
        return pool[bisect.bisect(weights, rng.random() * weights[-1])]

    def _session(self, k: int, length: int, script, events: list, start: int) -> int:
        """Append the events of one session of user ``k`` (-1: never logs in) as (offset, prefix,
        suffix); return the offset after its last event."""
        rng = self.rng
        self.session_id += 1
        sid = self.session_id
        user = self.users[k] if k >= 0 else None
        level = user.level if user else "free"
        logged_in = user is not None and not (script and not script[0][1])
        t = start
        prev, prev_seconds = None, 0.0
        for item in range(length):
            if script and item < len(script):
                page, logged_in = script[item]
            elif user is None:
                page = _pick(_ANONYMOUS_PAGE, rng.random())
            elif not logged_in:
                page = "Home" if prev == "Logout" else _pick(_LOGGED_OUT_PAGE, rng.random())
            elif prev == "Login":
                page = "Home"
            else:
                r = rng.random()
                if prev == "Upgrade" and r < 0.4:
                    page = "Submit Upgrade"
                elif prev == "Downgrade" and r < 0.15:
                    page = "Submit Downgrade"
                elif prev == "Settings" and r < 0.3:
                    page = "Save Settings"
                else:
                    page = _pick(_NEXT_PAGE[level], rng.random())
            if prev is not None:
                # Home then NextSong often share a ts (as in the real logs); a song lasts its length
                if prev == "NextSong":
                    t += int(prev_seconds * 1000) if rng.random() > 0.1 else rng.randrange(5000, 60000)
                    t += rng.randrange(0, 1500)
                elif (
                    page == "NextSong"
                    and prev == "Home"
                    and (item < len(script or ()) or rng.random() < 0.35)
                ):
                    pass
                else:
                    t += 1000 + int(rng.expovariate(1 / 45000))
            if page == "Login" and logged_in:
                logged_in = False  # a Login is always made logged out
            if logged_in:
                if page == "NextSong":
                    artist, song, length_text, prev_seconds = self._play()
                    events.append(
                        (t, user.next_tpl % (artist, item, length_text, level, sid, song), user.suffix)
                    )
                else:
                    frag, status = _PAGE[page]
                    events.append((t, user.page_tpl % (item, level, frag, sid, status), user.suffix))
                    if page == "Submit Upgrade":
                        level = user.level = "paid"
                    elif page == "Submit Downgrade":
                        level = user.level = "free"
                    elif page == "Logout":
                        logged_in = False
            else:
                if page == "NextSong":  # only a script could ask this; a logged-out user browses
                    page = "Home"
                frag, status = _PAGE[page]
                events.append((t, _OUT_TPL % (item, level, frag, sid, status), _OUT_SUFFIX))
                if page == "Login" and user is not None:
                    logged_in = True
            prev = page
        return t

    def day(self, d: int, fresh: int, newcomers: range, active: int) -> list[tuple[int, str]]:
        """``fresh`` new lines for day ``d``, as (ts, line) sorted by ts; ``newcomers`` (users in
        order of joining) each get a session, then sessions go to the ``active`` users at random."""
        rng = self.rng
        sessions: list[tuple[int, int, object]] = []
        remaining = fresh
        n_new = len(newcomers)
        for j, k in enumerate(newcomers):
            length = _session_length(rng)
            script = _SCRIPTS.get(k)
            if script:
                length = max(length, len(script) + 2)
            length = max(1, min(length, remaining - (n_new - j - 1)))
            if script and length < len(script):
                script = None
            sessions.append((k, length, script))
            remaining -= length
        while remaining > 0:
            length = min(_session_length(rng), remaining)
            if rng.random() < ANONYMOUS_SHARE or active == 0:
                k = -1
            else:
                k = bisect.bisect(self.activity, rng.random() * self.activity[active - 1], 0, active - 1)
            sessions.append((k, length, None))
            remaining -= length

        # One timeline per user for the day, sessions one after another, so levels change in time order.
        timelines: dict[int, list] = {}
        anonymous = 0
        for k, length, script in sessions:
            if k < 0:
                anonymous -= 1
                k = anonymous - len(self.users)  # each anonymous session is its own timeline
            timelines.setdefault(k, []).append((length, script))
        day_start = START_MS + d * DAY_MS
        out: list[tuple[int, str]] = []
        for k, planned in timelines.items():
            events: list[tuple[int, str, str]] = []
            t = 0
            for n, (length, script) in enumerate(planned):
                if n:
                    t += rng.randrange(600_000, 7_200_000)  # a pause between two sessions
                t = self._session(k if k >= 0 else -1, length, script, events, t)
            span = t
            if span > DAY_MS - 1:  # too much for one day: squeeze (shared ts become more common)
                scale = (DAY_MS - 1) / span
                offset = day_start
                out.extend(
                    (offset + int(rel * scale), prefix + str(offset + int(rel * scale)) + suffix)
                    for rel, prefix, suffix in events
                )
            else:
                offset = day_start + rng.randrange(0, DAY_MS - span)
                out.extend(
                    (offset + rel, f"{prefix}{offset + rel}{suffix}") for rel, prefix, suffix in events
                )
        out.sort(key=_ts)  # stable: a user's events with the same ts keep their order
        return out


def _ts(pair: tuple[int, str]) -> int:
    return pair[0]


def _pick(table, r: float) -> str:
    for threshold, page in table:
        if r < threshold:
            return page
    return table[-1][1]


def _session_length(rng: random.Random) -> int:
    return min(SESSION_MAX, 1 + int(rng.expovariate(1 / (SESSION_MEAN - 1))))


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
    must be at least ``users``. Raises :class:`ConfigError` otherwise.
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

    catalogue = _write_songs(out / SONG_FILES.folder, songs, seed, progress)

    plan_rng = random.Random(f"sparkify-generate:{seed}:plan")
    days = day_count(events)
    per_day = _lines_per_day(events, days, plan_rng)
    again = _second_deliveries(per_day, events, users)
    fresh = [
        per_day[d] - (again[d - 1] if d else 0) - (again[d] if d == days - 1 else 0) for d in range(days)
    ]
    joins = _joins(fresh, users, events)
    joined_ms = [START_MS + d * DAY_MS for d, n in enumerate(joins) for _ in range(n)]
    gen = _Events(catalogue, _users(users, seed, joined_ms), seed, songs)

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
    from sparkify.sample import JSON_PATHS, json_paths_text

    (out / JSON_PATHS).write_text(json_paths_text(), encoding="utf-8")
    return GenerateReport(song_files=songs, log_files=days, events=written)
