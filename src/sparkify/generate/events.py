"""The log events: pages and their weights, scripted first sessions, the users, and the generator
of one day's lines at a time."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from sparkify.generate.jsontext import json_text, mojibake
from sparkify.generate.shape import (
    ANONYMOUS_SHARE,
    DAY_MS,
    MATCH_SHARE,
    NEAR_MISS_SHARE,
    SESSION_MAX,
    SESSION_MEAN,
    START_MS,
)
from sparkify.generate.songs import Catalogue, make_artist_name, make_duration, make_title
from sparkify.generate.words import FIRST_F, FIRST_M, LAST, USER_AGENTS, USER_LOCATIONS

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
    "free": _cumulative([*_BROWSE, ("Upgrade", 0.009)]),
    "paid": _cumulative([*_BROWSE, ("Downgrade", 0.009)]),
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


# -- users ----------------------------------------------------------------------------------------


@dataclass
class _User:
    user_id: str
    level: str
    next_tpl: str  # NextSong prefix up to "ts": with %s slots: artist, item, length, level, session, song
    page_tpl: str  # other pages: item, level, method+page, session, status
    suffix: str  # after the ts: userAgent and userId


def make_users(users: int, seed: int, joined_ms: list[int]) -> list[_User]:
    """The users in order of their first session; ``joined_ms[k]`` is the start of that day."""
    rng = random.Random(f"sparkify-generate:{seed}:users")
    ids = rng.sample(range(2, max(200, 3 * users) + 2), users)
    out = []
    for k in range(users):
        male = rng.random() < 0.45
        first = rng.choice(FIRST_M if male else FIRST_F)
        last = rng.choice(LAST)
        location = rng.choice(USER_LOCATIONS)
        agent = rng.choice(USER_AGENTS)
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


# -- events ---------------------------------------------------------------------------------------


class Events:
    """Generates one day's lines at a time; keeps the users' levels and the session counter."""

    def __init__(self, cat: Catalogue, users: list[_User], seed: int, n_songs: int):
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
                artist = make_artist_name(rng)
            title = make_title(rng)
            if rng.random() < 0.01:
                title = mojibake(title if not title.isascii() else title + " Café")
            seconds = make_duration(rng)
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
                assert user is not None  # only a user's session logs in (k = -1 never does)
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
        sessions: list[tuple[int, int, tuple[tuple[str, bool], ...] | None]] = []
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
