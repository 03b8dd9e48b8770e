"""One figure per analytics question: which chart answers it and its one-line takeaway.

Each figure function takes the query's :class:`~sparkify.analytics.Result` and returns a
:class:`Figure` (None when there is nothing to draw). A query whose columns are not the ones a figure
expects raises KeyError, and the page shows its table with a note instead of the chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sparkify.analytics import Result
from sparkify.report.charts import BLUE, FREE, GREEN, GREY, PAID, Series, bar_chart, column_chart, share_chart
from sparkify.report.formatting import percent


@dataclass
class Figure:
    """What the report shows for one query: a chart (SVG), its one-line takeaway, both optional."""

    svg: str | None = None
    takeaway: str | None = None


def rows_of(result: Result, *names: str) -> list[tuple]:
    """The result's rows projected on ``names``. KeyError if a column is missing."""
    idx = [result.columns.index(n) if n in result.columns else _missing(result, n) for n in names]
    return [tuple(r[i] for i in idx) for r in result.rows]


def _missing(result: Result, name: str) -> int:
    raise KeyError(f"column {name!r} (the query returns {', '.join(result.columns)})")


def _hours(result: Result) -> Figure | None:
    plays = {int(h): p for h, p in rows_of(result, "hour", "plays")}
    return _plays_chart(
        plays,
        [str(h) for h in range(24)],
        [f"{h:02d}:00–{h:02d}:59 UTC" for h in range(24)],
        title="Plays by hour of day (UTC)",
        x_label="hour of day (UTC)",
        busiest="Busiest hour",
    )


WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _weekdays(result: Result) -> Figure | None:
    plays = {int(d): p for d, _, p in rows_of(result, "weekday", "weekday_name", "plays")}
    return _plays_chart(
        plays,
        [name[:3] for name in WEEKDAYS],
        list(WEEKDAYS),
        title="Plays by day of the week",
        x_label="day of the week (UTC)",
        busiest="Busiest day of the week",
    )


def _plays_chart(
    plays: dict[int, float], labels: list[str], names: list[str], *, title: str, x_label: str, busiest: str
) -> Figure | None:
    """A column chart of the plays in each slot 0, 1, ... (an hour, a weekday; a slot without
    plays shows 0), ``labels`` under the columns, ``names`` in the tooltips and in the caption that
    names the ``busiest`` slot. None without plays."""
    if not plays:
        return None
    values: list[float] = [plays.get(i, 0) for i in range(len(labels))]
    peak = max(range(len(values)), key=lambda i: values[i])
    svg = column_chart(
        labels,
        [Series("plays", values, BLUE)],
        title=title,
        x_label=x_label,
        y_label="plays",
        tooltips=[f"{name}: {value:,} plays" for name, value in zip(names, values, strict=True)],
    )
    return Figure(svg, f"{busiest}: {names[peak]}, with {values[peak]:,} plays.")


def _days(result: Result) -> Figure | None:
    rows = rows_of(result, "day", "free_plays", "paid_plays")
    if not rows:
        return None
    by_day = {_as_date(d): (f, p) for d, f, p in rows}
    first, last = min(by_day), max(by_day)
    days = [
        first + dt.timedelta(days=i) for i in range((last - first).days + 1)
    ]  # days without plays show as 0
    free = [by_day.get(d, (0, 0))[0] for d in days]
    paid = [by_day.get(d, (0, 0))[1] for d in days]
    labels = [_day(d) if i == 0 or d.day == 1 else str(d.day) for i, d in enumerate(days)]
    svg = column_chart(
        labels,
        [Series("paid", paid, PAID), Series("free", free, FREE)],
        title="Plays per day, paid and free",
        x_label=f"day (UTC), {_day(first, year=True)} to {_day(last, year=True)}",
        y_label="plays per day",
        tooltips=[
            f"{d:%a} {_day(d, year=True)}: {p + f:,} plays ({p:,} paid, {f:,} free)"
            for d, f, p in zip(days, free, paid)
        ],
        value_labels=False,
    )
    peak = max(range(len(days)), key=lambda i: free[i] + paid[i])
    return Figure(
        svg,
        f"{len(rows)} days with plays; busiest {days[peak]:%a} {_day(days[peak], year=True)} "
        f"with {free[peak] + paid[peak]:,} plays. "
        f"Paid plays: {sum(paid):,} of {sum(paid) + sum(free):,} ({percent(sum(paid), sum(paid) + sum(free))}).",
    )


def _day(d: dt.date, *, year: bool = False) -> str:
    """``Nov 1`` or ``Nov 1 2018`` (strftime's ``%-d`` is not portable)."""
    return f"{d:%b} {d.day}" + (f" {d.year}" if year else "")


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _levels(result: Result) -> Figure | None:
    rows = rows_of(result, "level", "plays", "users")
    if not rows:
        return None
    colors = {"paid": PAID, "free": FREE}
    parts = [(str(level), plays, colors.get(str(level), GREY)) for level, plays, _ in rows]
    return Figure(share_chart(parts, title="Share of plays by level", unit="plays"))


def _matched(result: Result) -> Figure | None:
    ((plays, matched),) = rows_of(result, "plays", "matched_plays")
    if not plays:
        return None
    svg = share_chart(
        [("matched to a known song", matched, GREEN), ("no known song", plays - matched, GREY)],
        title="Share of plays matched to a known song",
        unit="plays",
    )
    return Figure(
        svg, f"{matched:,} of {plays:,} plays ({percent(matched, plays)}) matched a song in the catalog."
    )


def _top_songs(result: Result) -> Figure | None:
    rows = rows_of(result, "title", "artist_name", "plays")
    if not rows:
        return None
    svg = bar_chart(
        [str(t) if t is not None else "(untitled)" for t, _, _ in rows],
        [p for _, _, p in rows],
        sublabels=[str(a) if a is not None else "(unknown artist)" for _, a, _ in rows],
        tooltips=[f"{t} by {a}: {p:,} plays" for t, a, p in rows],
        title="Most played songs",
        x_label="plays",
    )
    return Figure(svg)


def _top_artists(result: Result) -> Figure | None:
    rows = rows_of(result, "artist_id", "artist_name", "plays")
    if not rows:
        return None
    names = [str(n) if n is not None else str(i) for i, n, _ in rows]
    return Figure(bar_chart(names, [p for _, _, p in rows], title="Most played artists", x_label="plays"))


def _users(result: Result) -> Figure | None:
    rows = rows_of(result, "user_id", "first_name", "last_name", "level", "plays")
    if not rows:
        return None
    names = [" ".join(str(x) for x in (f, la) if x is not None) or f"user {u}" for u, f, la, _, _ in rows]
    return Figure(
        bar_chart(
            names,
            [p for *_, p in rows],
            sublabels=[f"user {u} · {lv or 'level unknown'}" for u, _, _, lv, _ in rows],
            title="Most active users",
            x_label="plays",
        )
    )


def _locations(result: Result) -> Figure | None:
    rows = rows_of(result, "location", "plays")
    if not rows:
        return None
    return Figure(
        bar_chart([str(loc) for loc, _ in rows], [p for _, p in rows], title="Top locations", x_label="plays")
    )


@dataclass(frozen=True)
class Question:
    query: str
    title: str
    figure: Callable[[Result], Figure | None] | None = None
    is_wide: bool = False
    """True when the table is too wide to sit beside the chart: it goes below it."""


QUESTIONS = (
    Question("plays_per_day", "Plays per day, paid and free", _days),
    Question("plays_by_hour", "Plays by hour of day", _hours),
    Question("plays_by_weekday", "Plays by day of the week", _weekdays),
    Question("level_split", "Free and paid plays", _levels),
    Question("matched_share", "Plays matched to a known song", _matched),
    Question("top_songs", "Most played songs", _top_songs, is_wide=True),
    Question("top_artists", "Most played artists", _top_artists, is_wide=True),
    Question("most_active_users", "Most active users", _users, is_wide=True),
    Question("top_locations", "Top locations", _locations),
)
"""The analytics sections in reading order, each with its chart. Any catalog query not listed here
(and not ``row_counts``, which the summary shows) follows them as a table."""
