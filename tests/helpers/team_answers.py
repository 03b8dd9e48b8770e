"""The answers to the team's hand-written queries (tests/team_queries/), in plain Python.

Each function answers the question its query's header asks, from the reference star tables
(tests/helpers/reference.py: no SQL, no sparkify), with the columns the query names and, where the
query orders, in its order. Redshift's rules are applied as its documentation states them
(DATEDIFF counts boundaries crossed; integer division truncates; DECODE matches NULL to NULL).

Usage::

    python -m tests.helpers.team_answers [SOURCE] [OUT]

writes OUT/NAME.csv (default tests/team_queries/expected) from SOURCE (default the sample).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.helpers import reference
from tests.helpers.make_expected import DEFAULT_SOURCE, to_csv

REPO = Path(__file__).resolve().parents[2]
QUERIES = REPO / "tests" / "team_queries"
DEFAULT_OUT = QUERIES / "expected"

Answer = tuple[list[str], list[tuple]]


def _plays(star: reference.Star) -> list[dict]:
    return [dict(zip(reference.SONGPLAYS_COLUMNS, row)) for row in star.songplays]


def top_free_users(star) -> Answer:
    counts = Counter(p["user_id"] for p in _plays(star) if p["level"] == "free")
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return ["user_id", "free_plays"], rows


def plays_per_month(star) -> Answer:
    counts = Counter(p["start_time"].strftime("%Y-%m") for p in _plays(star))
    return ["month", "plays"], sorted(counts.items())


def matched_by_level(star) -> Answer:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in _plays(star):
        counts = out["unknown" if p["level"] is None else p["level"]]
        counts[0 if p["song_id"] is None else 1] += 1
    # no ORDER BY: any order compares equal; sorted, as --save-expected writes an open order
    return ["level", "unmatched", "matched"], sorted((level, u, m) for level, (u, m) in out.items())


def _minute(t: dt.datetime) -> dt.datetime:
    return t.replace(second=0, microsecond=0)


def longest_sessions(star) -> Answer:
    spans: dict[tuple, list[dt.datetime]] = {}
    for p in _plays(star):
        key = (p["session_id"], p["user_id"])
        first_last = spans.setdefault(key, [p["start_time"], p["start_time"]])
        first_last[0] = min(first_last[0], p["start_time"])
        first_last[1] = max(first_last[1], p["start_time"])
    # minute boundaries crossed from the first play to the last
    rows = [(s, u, int((_minute(b) - _minute(a)).total_seconds() // 60)) for (s, u), (a, b) in spans.items()]
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return ["session_id", "user_id", "minutes"], rows[:10]


def last_week_plays(star) -> Answer:
    plays = _plays(star)
    since = max(p["start_time"] for p in plays) - dt.timedelta(days=7)
    return ["plays"], [(sum(1 for p in plays if p["start_time"] > since),)]


def the_artists(star) -> Answer:
    rows = [
        (artist_id, name, len(name))
        for artist_id, name, _loc, _lat, _lon in star.artists
        if name is not None and re.search(r"the .*", name, flags=re.IGNORECASE | re.ASCII)
    ]
    rows.sort(key=lambda r: (-r[2], r[0]))
    return ["artist_id", "name", "name_length"], rows[:10]


def weekday_hour(star) -> Answer:
    counts = Counter((p["start_time"].isoweekday() % 7, p["start_time"].hour) for p in _plays(star))
    return ["weekday", "hour", "plays"], sorted(
        (d, h, n) for (d, h), n in counts.items()
    )  # open order: sorted


def top_users_per_level(star) -> Answer:
    counts = Counter((p["user_id"], p["level"]) for p in _plays(star))
    by_level: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for (user, level), n in counts.items():
        by_level[level].append((user, n))
    rows = []
    for level in sorted(by_level, key=lambda v: (v is None, v or "")):
        users = by_level[level]
        for user, n in users:
            rank = 1 + sum(1 for _, other in users if other > n)  # RANK: 1 + those strictly ahead
            if rank <= 3:
                rows.append((level, rank, user, n))
    rows.sort(key=lambda r: (r[0] is None, r[0] or "", r[1], r[2]))
    return ["level", "rank_in_level", "user_id", "plays"], rows


def paid_percent_by_day(star) -> Answer:
    days: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for p in _plays(star):
        counts = days[p["start_time"].date()]
        counts[0] += p["level"] == "paid"
        counts[1] += 1
    # integer division of non-negative numbers: floor is truncation
    return ["day", "paid_percent"], [(d, paid * 100 // n) for d, (paid, n) in sorted(days.items())]


def first_play_los_angeles(star) -> Answer:
    times = [p["start_time"] for p in _plays(star)]
    la = ZoneInfo("America/Los_Angeles")

    def local(t: dt.datetime) -> dt.datetime:
        return t.replace(tzinfo=dt.UTC).astimezone(la).replace(tzinfo=None)

    return ["first_play", "last_play"], [(local(min(times)), local(max(times)))]


ANSWERS: dict[str, Callable[[reference.Star], Answer]] = {
    f.__name__: f
    for f in (
        top_free_users,
        plays_per_month,
        matched_by_level,
        longest_sessions,
        last_week_plays,
        the_artists,
        weekday_hour,
        top_users_per_level,
        paid_percent_by_day,
        first_play_los_angeles,
    )
}
"""Every team query's answer, by query name (the file name in tests/team_queries/)."""


def expected_csvs(source: Path | str = DEFAULT_SOURCE) -> dict[str, str]:
    """NAME -> CSV text for every query in tests/team_queries/, from the reference on ``source``."""
    star = reference.build_cached(str(Path(source).resolve()))
    names = sorted(p.stem for p in QUERIES.glob("*.sql"))
    missing = [n for n in names if n not in ANSWERS]
    if missing:
        raise KeyError(f"no reference answer for team queries {missing}: add them to ANSWERS")
    return {name: to_csv(*ANSWERS[name](star)) for name in names}


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for name, text in expected_csvs(source).items():
        (out / f"{name}.csv").write_text(text, encoding="utf-8", newline="")
        print(out / f"{name}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
