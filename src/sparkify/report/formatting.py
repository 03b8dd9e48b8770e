"""How the report words values: numbers, shares, dates, times and query descriptions. Plain text:
the template escapes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sparkify.analytics import Query

PLAIN_INT_COLUMNS = {"hour", "weekday", "day", "week", "month", "year"}
"""Integer columns shown without thousands separators, along with every ``*_id`` column."""


def format_value(column: str, value: Any) -> str:
    """How a result value is shown: thousands separators for counts, shares as percentages,
    ISO dates. Returns plain text. The caller escapes it."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        if column.endswith("_id") or column == "id" or column in PLAIN_INT_COLUMNS:
            return str(value)
        return f"{value:,}"
    if isinstance(value, float):
        if "share" in column or "ratio" in column:
            return f"{value:.1%}"
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def percent(part: float, whole: float) -> str:
    """``part`` as a percentage of ``whole`` (``12.3%``), or ``–`` when ``whole`` is zero."""
    return f"{part / whole:.1%}" if whole else "–"


def stamp(moment: dt.datetime) -> str:
    """``2018-11-01 10:00:00 UTC``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(query: Query) -> str:
    """What the query answers: its leading comment, all lines of it (the catalog keeps the first)."""
    lines = []
    for line in query.sql.splitlines():
        if not line.startswith("--"):
            break
        text = line[2:].strip()
        if text.lower().startswith("order:"):
            continue
        lines.append(text)
    return " ".join(lines) or query.description
