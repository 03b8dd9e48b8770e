"""The numbers that shape a generated data set: when it starts, the shares of each quirk, and the
plans (how many days, lines per day, second deliveries, when users join)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

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

# -- plans: days, lines per day, second deliveries, when users join -------------------------------


def day_count(events: int) -> int:
    """How many daily log files ``events`` lines are spread over."""
    return max(1, min(MAX_DAYS, round(math.sqrt(events / 10))))


def lines_per_day(events: int, days: int, rng: random.Random) -> list[int]:
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


def second_deliveries(per_day: list[int], events: int, users: int) -> list[int]:
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


def plan_joins(fresh: list[int], users: int, events: int) -> list[int]:
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
