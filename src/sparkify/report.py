"""The analytics report: one self-contained HTML page built from a warehouse.

The page shows the load's summary (tables, row counts, rejects, checks, when and from which source),
a chart for each analytics question that a chart answers better than a table, the table behind
every chart, and the data-quality results.

The charts are inline SVG drawn here. The page loads nothing: it has no script, web font, external
stylesheet or image, and its Content-Security-Policy blocks any that get in. It opens offline in
any browser and prints on A4 or Letter. Every value from the data goes through :func:`esc`, because
song titles contain ``<``, ``&`` and quotes.

This module uses only the warehouse interface, through the analytics catalog and
:func:`sparkify.pipeline.check`, so it works on every engine. It prints nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkify import __version__, analytics, pipeline
from sparkify.analytics import Query, Result
from sparkify.errors import MissingTableError, SparkifyError
from sparkify.files import write_atomically
from sparkify.schema import FILE_KINDS, STAGING_TABLES, STAR_TABLES
from sparkify.values import normalize
from sparkify.warehouse.base import Warehouse, quote

LOAD_RUNS_TABLE = "load_runs"
"""The optional table of past loads. If it exists, the report shows its latest rows."""

SHOWN_REJECTS = 20
"""How many rejected records the report lists. The total is always shown."""

SHOWN_LOAD_RUNS = 10
"""How many of the latest ``load_runs`` rows the report lists."""

ENGINE_NAMES = {"duckdb": "DuckDB", "postgres": "PostgreSQL", "redshift": "Amazon Redshift"}

# Okabe-Ito colours: they stay distinct for colour-blind readers and in greyscale print.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
GREY = "#B8B8B8"
PAID, FREE = BLUE, ORANGE


# -- escaping and formatting ----------------------------------------------------------------------


def esc(value: Any) -> str:
    """Escape text for HTML content and attribute values. Inline SVG uses the same rules."""
    return html.escape("" if value is None else str(value), quote=True)


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


def _percent(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "–"


# Glyph widths in em of DejaVu Sans, the default sans-serif on Linux and one of the widest. Arial,
# Helvetica, Segoe UI and San Francisco are narrower, so a label cut to fit these widths fits in
# any of them. The browser test checks that no label overlaps a bar.
_GLYPH_EM = {
    ch: width
    for chars, width in (
        ("ijlIJ'", 0.30),
        (" ,./:;|\\", 0.32),
        ("-", 0.37),
        ("frt()[]!", 0.40),
        ('"', 0.46),
        ("*_`", 0.50),
        ("sz?", 0.54),
        ("c", 0.55),
        ("kFL", 0.58),
        ("vxyTPY", 0.62),
        ("aeo", 0.62),
        ("0123456789bdghnpqu$}{ES", 0.64),
        ("K", 0.66),
        ("ABCRVXZ", 0.71),
        ("U", 0.74),
        ("HN", 0.76),
        ("DGOQ&", 0.79),
        ("w", 0.82),
        ("#+<=>^~", 0.84),
        ("M", 0.87),
        ("%", 0.96),
        ("m", 0.98),
        ("W@…", 1.0),
    )
    for ch in chars
}


def text_width(text: str, size: float) -> float:
    """Estimated rendered width of ``text`` at font ``size`` (same unit as size), erring wide."""
    total = 0.0
    for ch in text:
        if ch in _GLYPH_EM:
            total += _GLYPH_EM[ch]
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1.0
        else:
            total += 0.72  # accented letters and other scripts: as wide as a capital
    return total * size


def truncate(text: str, max_width: float, size: float) -> str:
    """``text`` cut with an ellipsis to fit ``max_width`` at font ``size``. Cuts raw text, never
    an escaped entity: escape the result."""
    if text_width(text, size) <= max_width:
        return text
    cut = text
    while cut and text_width(cut + "…", size) > max_width:
        cut = cut[:-1]
    return cut.rstrip() + "…"


# -- charts: inline SVG ---------------------------------------------------------------------------


TICK_SIZE = 12
"""Font size of tick labels and bar values, in chart units (about px on a laptop screen)."""
LABEL_SIZE = 13
"""Font size of bar labels, axis titles and legends."""
SUBLABEL_SIZE = 11.5
"""Font size of the grey second line under a bar label."""


@dataclass
class Series:
    name: str
    values: list[float]
    color: str


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _ticks(vmax: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``vmax``: steps of 1, 2 or 5 times a power of ten."""
    if vmax <= 0:
        return [0, 1]
    raw = vmax / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1)
    top = math.ceil(vmax / step) * step
    return [i * step for i in range(round(top / step) + 1)]


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(label)}" preserveAspectRatio="xMinYMin meet">'
    )


def column_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    tooltips: Sequence[str] | None = None,
    value_labels: bool = True,
    width: int = 760,
    height: int = 320,
) -> str:
    """Vertical bars, stacked when there are several series. There is one tick label per bar, or
    every k-th label when they would collide. Totals are printed above the bars when
    ``value_labels`` is set and they fit."""
    n = len(labels)
    legend_h = 22 if len(series) > 1 else 0
    left, right, top, bottom = 62, 12, 22 + legend_h, 50
    pw, ph = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    ticks = _ticks(max(totals, default=0))
    ymax = ticks[-1]

    def y(v: float) -> float:
        return top + ph - (v / ymax) * ph

    slot = pw / max(n, 1)
    bar_w = max(slot * 0.72, 1.0)
    out = [_svg_open(width, height, title), f"<title>{esc(title)}</title>"]
    # gridlines and y ticks
    for t in ticks:
        ty = y(t)
        out.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{_num(ty)}" y2="{_num(ty)}"/>')
        out.append(_text("tick", left - 6, ty + 4, f"{t:,.0f}", TICK_SIZE, "end"))
    out.append(
        f'<text class="axis-label" transform="translate(16 {_num(top + ph / 2)}) rotate(-90)" '
        f'text-anchor="middle" font-size="{LABEL_SIZE}">{esc(y_label)}</text>'
    )
    # bars
    max_tick = max((text_width(lb, TICK_SIZE) for lb in labels), default=0)
    every = max(1, math.ceil((max_tick + 8) / slot)) if slot else 1
    show_values = value_labels and all(text_width(f"{t:,.0f}", TICK_SIZE) <= slot - 2 for t in totals)
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        base = 0.0
        tip = tooltips[i] if tooltips else f"{label}: {totals[i]:,.0f}"
        for s in series:
            v = s.values[i]
            y0, y1 = y(base + v), y(base)
            out.append(
                f'<rect class="bar" x="{_num(x)}" y="{_num(y0)}" width="{_num(bar_w)}" height="{_num(y1 - y0)}" '
                f'fill="{s.color}" data-series="{esc(s.name)}" data-label="{esc(label)}" data-value="{v:g}">'
                f"<title>{esc(tip)}</title></rect>"
            )
            base += v
        cx = x + bar_w / 2
        if show_values and totals[i] > 0:
            out.append(_text("value", cx, y(totals[i]) - 5, f"{totals[i]:,.0f}", TICK_SIZE, "middle"))
        if i % every == 0:
            out.append(_text("tick x-tick", cx, top + ph + 18, label, TICK_SIZE, "middle"))
    out.append(f'<line class="axis" x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}"/>')
    out.append(_text("axis-label", left + pw / 2, height - 8, x_label, LABEL_SIZE, "middle"))
    if len(series) > 1:
        out.append(_legend([(s.name, s.color) for s in series], left, 14))
    out.append("</svg>")
    return "".join(out)


def _text(
    cls: str, x: float, y: float, text: str, size: float, anchor: str = "start", tip: str | None = None
) -> str:
    """One SVG text element; ``text`` (and the ``tip`` tooltip) escaped here."""
    tooltip = f"<title>{esc(tip)}</title>" if tip is not None else ""
    return (
        f'<text class="{cls}" x="{_num(x)}" y="{_num(y)}" font-size="{size:g}" text-anchor="{anchor}">'
        f"{tooltip}{esc(text)}</text>"
    )


def _legend(items: list[tuple[str, str]], x: float, y: float) -> str:
    out = []
    for name, color in items:
        out.append(
            f'<rect class="swatch" x="{_num(x)}" y="{_num(y - 10)}" width="12" height="12" fill="{color}"/>'
        )
        out.append(_text("legend", x + 17, y, name, LABEL_SIZE))
        x += 17 + text_width(name, LABEL_SIZE) + 20
    return "".join(out)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str,
    sublabels: Sequence[str] | None = None,
    tooltips: Sequence[str] | None = None,
    color: str = BLUE,
    width: int = 760,
    label_width: int = 300,
) -> str:
    """Horizontal bars, one row per label, with the value at the end of each bar. Long labels are
    cut with an ellipsis to fit the label column. The full text is in the bar's tooltip. An optional
    grey second line (``sublabels``) goes under each label."""
    n = len(labels)
    row = 42 if sublabels else 30
    left, right, top, bottom = label_width, 56, 6, 46
    pw = width - left - right
    height = top + n * row + bottom
    ticks = _ticks(max(values, default=0))
    xmax = ticks[-1]

    def xs(v: float) -> float:
        return left + (v / xmax) * pw

    out = [_svg_open(width, height, title), f"<title>{esc(title)}</title>"]
    for t in ticks:
        tx = xs(t)
        out.append(f'<line class="grid" x1="{_num(tx)}" x2="{_num(tx)}" y1="{top}" y2="{top + n * row}"/>')
        out.append(_text("tick", tx, top + n * row + 17, f"{t:,.0f}", TICK_SIZE, "middle"))
    text_room = label_width - 14
    for i, (label, v) in enumerate(zip(labels, values)):
        cy = top + i * row + row / 2
        bar_h = row * (0.5 if sublabels else 0.66)
        tip = tooltips[i] if tooltips else f"{label}: {v:,.0f}"
        out.append(
            f'<rect class="bar" x="{left}" y="{_num(cy - bar_h / 2)}" width="{_num(xs(v) - left)}" '
            f'height="{_num(bar_h)}" fill="{color}" data-label="{esc(label)}" data-value="{v:g}">'
            f"<title>{esc(tip)}</title></rect>"
        )
        out.append(_text("value", xs(v) + 5, cy + 4, f"{v:,.0f}", TICK_SIZE))
        ly = cy - 2 if sublabels else cy + 4.5
        out.append(
            _text(
                "label", left - 10, ly, truncate(label, text_room, LABEL_SIZE), LABEL_SIZE, "end", tip=label
            )
        )
        if sublabels:
            sub = truncate(sublabels[i], text_room, SUBLABEL_SIZE)
            out.append(_text("sublabel", left - 10, cy + 13, sub, SUBLABEL_SIZE, "end", tip=sublabels[i]))
    out.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + n * row}"/>')
    out.append(_text("axis-label", left + pw / 2, height - 6, x_label, LABEL_SIZE, "middle"))
    out.append("</svg>")
    return "".join(out)


def share_chart(parts: Sequence[tuple[str, float, str]], *, title: str, unit: str, width: int = 760) -> str:
    """One bar split into the shares of ``parts`` (name, value, colour), with a legend row per
    part that gives its value and percentage."""
    total = sum(v for _, v, _ in parts)
    bar_y, bar_h = 6, 36
    height = bar_y + bar_h + 18 + 22 * len(parts)
    out = [_svg_open(width, height, title), f"<title>{esc(title)}</title>"]
    x = 0.0
    for name, v, color in parts:
        w = (v / total) * width if total else 0
        pct = _percent(v, total)
        out.append(
            f'<rect class="bar" x="{_num(x)}" y="{bar_y}" width="{_num(w)}" height="{bar_h}" fill="{color}" '
            f'data-label="{esc(name)}" data-value="{v:g}">'
            f"<title>{esc(f'{name}: {v:,.0f} {unit} ({pct})')}</title></rect>"
        )
        if w >= text_width(pct, LABEL_SIZE) + 12:
            out.append(_text("in-bar", x + w / 2, bar_y + bar_h / 2 + 5, pct, LABEL_SIZE, "middle"))
        x += w
    ly = bar_y + bar_h + 26
    for name, v, color in parts:
        out.append(f'<rect class="swatch" x="0" y="{ly - 10}" width="12" height="12" fill="{color}"/>')
        out.append(
            f'<text class="legend" x="18" y="{ly}" font-size="{LABEL_SIZE}">{esc(name)}: '
            f'<tspan class="strong">{v:,.0f}</tspan> {esc(unit)} ({_percent(v, total)})</text>'
        )
        ly += 22
    out.append("</svg>")
    return "".join(out)


# -- one figure per analytics question ------------------------------------------------------------


@dataclass
class Figure:
    """What the report shows for one query: a chart (SVG), its one-line takeaway, both optional."""

    svg: str | None = None
    takeaway: str | None = None


def _rows(result: Result, *names: str) -> list[tuple]:
    """The result's rows projected on ``names``. KeyError if a column is missing."""
    idx = [result.columns.index(n) if n in result.columns else _missing(result, n) for n in names]
    return [tuple(r[i] for i in idx) for r in result.rows]


def _missing(result: Result, name: str) -> int:
    raise KeyError(f"column {name!r} (the query returns {', '.join(result.columns)})")


def _hours(result: Result) -> Figure | None:
    plays = {int(h): p for h, p in _rows(result, "hour", "plays")}
    if not plays:
        return None
    values = [plays.get(h, 0) for h in range(24)]
    peak = max(range(24), key=lambda h: values[h])
    svg = column_chart(
        [str(h) for h in range(24)],
        [Series("plays", values, BLUE)],
        title="Plays by hour of day (UTC)",
        x_label="hour of day (UTC)",
        y_label="plays",
        tooltips=[f"{h:02d}:00–{h:02d}:59 UTC: {values[h]:,} plays" for h in range(24)],
    )
    return Figure(svg, f"Busiest hour: {peak:02d}:00–{peak:02d}:59 UTC, with {values[peak]:,} plays.")


WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _weekdays(result: Result) -> Figure | None:
    plays = {int(d): p for d, _, p in _rows(result, "weekday", "weekday_name", "plays")}
    if not plays:
        return None
    values = [plays.get(d, 0) for d in range(7)]
    peak = max(range(7), key=lambda d: values[d])
    svg = column_chart(
        [name[:3] for name in WEEKDAYS],
        [Series("plays", values, BLUE)],
        title="Plays by day of the week",
        x_label="day of the week (UTC)",
        y_label="plays",
        tooltips=[f"{WEEKDAYS[d]}: {values[d]:,} plays" for d in range(7)],
    )
    return Figure(svg, f"Busiest day of the week: {WEEKDAYS[peak]}, with {values[peak]:,} plays.")


def _days(result: Result) -> Figure | None:
    rows = _rows(result, "day", "free_plays", "paid_plays")
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
        f"Paid plays: {sum(paid):,} of {sum(paid) + sum(free):,} ({_percent(sum(paid), sum(paid) + sum(free))}).",
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
    rows = _rows(result, "level", "plays", "users")
    if not rows:
        return None
    colors = {"paid": PAID, "free": FREE}
    parts = [(str(level), plays, colors.get(str(level), GREY)) for level, plays, _ in rows]
    return Figure(share_chart(parts, title="Share of plays by level", unit="plays"))


def _matched(result: Result) -> Figure | None:
    ((plays, matched),) = _rows(result, "plays", "matched_plays")
    if not plays:
        return None
    svg = share_chart(
        [("matched to a known song", matched, GREEN), ("no known song", plays - matched, GREY)],
        title="Share of plays matched to a known song",
        unit="plays",
    )
    return Figure(
        svg, f"{matched:,} of {plays:,} plays ({_percent(matched, plays)}) matched a song in the catalog."
    )


def _top_songs(result: Result) -> Figure | None:
    rows = _rows(result, "title", "artist_name", "plays")
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
    rows = _rows(result, "artist_id", "artist_name", "plays")
    if not rows:
        return None
    names = [str(n) if n is not None else str(i) for i, n, _ in rows]
    return Figure(bar_chart(names, [p for _, _, p in rows], title="Most played artists", x_label="plays"))


def _users(result: Result) -> Figure | None:
    rows = _rows(result, "user_id", "first_name", "last_name", "level", "plays")
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
    rows = _rows(result, "location", "plays")
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


# -- what the report knows about the load ---------------------------------------------------------


@dataclass
class LoadInfo:
    """Where the load's facts come from (``origin``) and what they are."""

    origin: str
    """'run' (this run's RunReport), 'load_runs' (that table) or 'warehouse' (only what the tables say)."""
    facts: list[tuple[str, str]] = field(default_factory=list)
    """(label, text) pairs: source, when, duration..."""
    inputs: list[list[Any]] = field(default_factory=list)
    """Rows of [input, files, records read, staged, rejected] (from a RunReport)."""
    rejected: int | None = None
    """Records rejected, None when unknown."""
    rejects: list[str] = field(default_factory=list)
    history: Result | None = None
    """The latest rows of ``load_runs``."""


HISTORY_COLUMNS = (
    "started_at",
    "command",
    "status",
    "source",
    "files_loaded",
    "songs_read",
    "songs_staged",
    "songs_rejected",
    "events_read",
    "events_staged",
    "events_rejected",
    "checks_failed",
)
"""The columns of ``load_runs`` (see schema.LOAD_RUNS) the report shows, newest run first."""


def _load_runs(wh: Warehouse) -> list[dict] | None:
    """The latest rows of ``load_runs`` as dicts, newest first, or None when there is no such table."""
    if not wh.table_exists(LOAD_RUNS_TABLE):
        return None
    cols = ", ".join(quote(c) for c in ("load_id", *HISTORY_COLUMNS, "finished_at"))
    columns, rows = wh.query(
        f"select {cols} from {wh.qualified(LOAD_RUNS_TABLE)} order by started_at desc limit {SHOWN_LOAD_RUNS}"
    )
    return [dict(zip(columns, (normalize(v) for v in r))) for r in rows]


def _history_table(runs: list[dict]) -> Result:
    """The load history as the report shows it: one line per run, kinds of file added up."""
    return Result(
        ["started", "command", "status", "read", "staged", "rejected", "checks failed"],
        [
            (
                r["started_at"].strftime("%Y-%m-%d %H:%M") if r["started_at"] else None,
                r["command"],
                r["status"],
                (r["songs_read"] or 0) + (r["events_read"] or 0),
                (r["songs_staged"] or 0) + (r["events_staged"] or 0),
                (r["songs_rejected"] or 0) + (r["events_rejected"] or 0),
                r["checks_failed"],
            )
            for r in runs
        ],
    )


def _first(row: dict[str, Any], names: Sequence[str]) -> Any:
    return next((row[n] for n in names if row.get(n) is not None), None)


def _load_info(wh: Warehouse, run_report: pipeline.RunReport | None, generated_at: dt.datetime) -> LoadInfo:
    runs = _load_runs(wh)
    history = _history_table(runs) if runs else None
    stamp = _stamp(generated_at)
    if run_report is not None:
        info = LoadInfo("run", history=history)
        info.facts = [
            ("Source", run_report.source),
            ("Loaded", f"{stamp}, in {run_report.seconds:.1f} s"),
        ]
        stage = run_report.stage
        if stage is not None:
            for kind, result in stage.results.items():
                info.inputs.append([kind, len(result.files), result.read, result.staged, result.rejected])
            info.rejected = stage.rejected
            info.rejects = [str(r) for r in stage.rejects[:SHOWN_REJECTS]]
        return info
    if runs:
        latest = next((r for r in runs if r["status"] == "succeeded"), runs[0])
        info = LoadInfo("load_runs", history=history)
        when = latest["finished_at"] or latest["started_at"]
        info.facts = [
            ("Source", format_value("source", latest["source"]) if latest["source"] else "not recorded"),
            ("Loaded", f"{format_value('when', when)} ({latest['command']}, {latest['status']})"),
        ]
        for kind in FILE_KINDS:
            info.inputs.append(
                [kind, "", latest[f"{kind}_read"], latest[f"{kind}_staged"], latest[f"{kind}_rejected"]]
            )
        info.rejected = int((latest["songs_rejected"] or 0) + (latest["events_rejected"] or 0))
        if info.rejected and wh.table_exists("load_errors"):
            _, errs = wh.query(
                f"select source, line, field, reason from {wh.qualified('load_errors')} "
                f"where load_id = {wh.param} order by source, line limit {SHOWN_REJECTS}",
                [latest["load_id"]],
            )
            info.rejects = [
                f"{src}:{line}: " + (f"field {fld!r}: " if fld else "") + reason
                for src, line, fld, reason in errs
            ]
        return info
    info = LoadInfo("warehouse")
    info.facts = [
        ("Source", "not recorded: this warehouse keeps no load history"),
        ("Loaded", "not recorded (the report was generated " + stamp + ")"),
    ]
    for table in STAGING_TABLES:
        if wh.table_exists(table.name):
            _, rows = wh.query(f"select count(*) from {wh.qualified(table.name)}")
            info.inputs.append([table.name, None, None, int(rows[0][0]), None])
    return info


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- the page -------------------------------------------------------------------------------------


def build(
    wh: Warehouse,
    *,
    run_report: pipeline.RunReport | None = None,
    generated_at: dt.datetime | None = None,
) -> str:
    """The report for the star schema in ``wh`` as one HTML document (a str).

    Runs every catalog query and the quality checks through ``wh``. Pass the ``run_report`` of the
    load that just finished to show its source, inputs and rejects, and to reuse its check results.
    Without it, the report shows the newest rows of a ``load_runs`` table if one exists, or else only
    what the tables say. Raises :class:`MissingTableError` if the star tables do not exist yet.
    """
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    missing = [t.name for t in STAR_TABLES if not wh.table_exists(t.name)]
    if missing:
        raise MissingTableError(
            f"Table {', '.join(missing)} does not exist in {wh.display_url}. "
            "Run `sparkify run` first to load data, then build the report."
        )
    catalog = analytics.catalog()
    results = {name: analytics.run_query(wh, q) for name, q in catalog.items()}
    checks = run_report.checks if run_report is not None and run_report.checks else pipeline.check(wh)
    load = _load_info(wh, run_report, generated_at)
    return _page(wh, catalog, results, checks, load, generated_at)


def write(
    wh: Warehouse,
    path: str | Path,
    *,
    run_report: pipeline.RunReport | None = None,
) -> Path:
    """Build the report and write it to ``path``, creating missing folders; return the path.

    The file is replaced in one step, so a reader never sees half a report.
    """
    text = build(wh, run_report=run_report)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, text)
    except OSError as exc:
        raise SparkifyError(f"Cannot write the report to {target}: {exc.strerror or exc}.") from exc
    return target


def _page(wh, catalog, results, checks, load: LoadInfo, generated_at: dt.datetime) -> str:
    engine = ENGINE_NAMES.get(wh.name, wh.name)
    failed = [c for c in checks if not c.passed]
    sections: list[str] = []
    toc: list[tuple[str, str]] = [("summary", "Summary")]

    sections.append(_summary(catalog, results, checks, load))
    shown = {"row_counts"}  # the summary's table
    for question in QUESTIONS:
        if question.query not in catalog:
            continue
        shown.add(question.query)
        toc.append((f"q-{question.query}", question.title))
        sections.append(_question(catalog[question.query], results[question.query], question))
    for name, query in catalog.items():
        if name not in shown:
            toc.append((f"q-{name}", name))
            sections.append(_question(query, results[name], Question(name, query.description)))
    toc.append(("quality", "Data quality"))
    sections.append(_quality(checks))

    status = (
        '<span class="badge ok">all checks passed</span>'
        if not failed
        else f'<span class="badge fail">{len(failed)} of {len(checks)} checks failed</span>'
    )
    nav = "".join(f'<li><a href="#{esc(anchor)}">{esc(label)}</a></li>' for anchor, label in toc)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="sparkify {esc(__version__)}">
<link rel="icon" href="data:,">
<title>Sparkify analytics report – {esc(_stamp(generated_at))}</title>
<style>{CSS}</style>
</head>
<body>
<header class="page-header">
<h1>Sparkify analytics report</h1>
<p class="meta">Generated {esc(_stamp(generated_at))} from <code>{esc(wh.display_url)}</code> ({esc(engine)}) {status}</p>
</header>
<nav aria-label="Contents"><ul>{nav}</ul></nav>
<main>
{"".join(sections)}
</main>
<footer>Generated by sparkify {esc(__version__)}. All times are UTC. This file is self-contained: it loads
nothing from the network and prints as it shows.</footer>
</body>
</html>
"""


def _card(label: str, value: str, note: str = "", cls: str = "") -> str:
    note_html = f'<div class="note">{esc(note)}</div>' if note else ""
    return (
        f'<div class="card {cls}"><div class="label">{esc(label)}</div>'
        f'<div class="figure">{esc(value)}</div>{note_html}</div>'
    )


def _summary(catalog, results, checks, load: LoadInfo) -> str:
    counts = {}
    if "row_counts" in results:
        counts = dict(_rows(results["row_counts"], "table_name", "row_count"))
    failed = [c for c in checks if not c.passed]
    cards = [
        _card(name, f"{counts[name]:,}", "rows")
        for name in ("songplays", "users", "songs", "artists")
        if name in counts
    ]
    if "matched_share" in results:
        plays, matched = _rows(results["matched_share"], "plays", "matched_plays")[0]
        cards.append(_card("matched plays", _percent(matched, plays), f"{matched:,} of {plays:,} plays"))
    cards.append(
        _card(
            "checks",
            f"{len(checks) - len(failed)} / {len(checks)}",
            "passed" if not failed else f"{len(failed)} FAILED",
            "ok" if not failed else "fail",
        )
    )
    if load.rejected is None:
        cards.append(_card("rejected records", "–", "not recorded"))
    else:
        cards.append(
            _card(
                "rejected records",
                f"{load.rejected:,}",
                "input records not loaded",
                "fail" if load.rejected else "",
            )
        )

    origin = {
        "run": "From the run that just finished.",
        "load_runs": f"From the newest row of table <code>{LOAD_RUNS_TABLE}</code>.",
        "warehouse": f"This warehouse has no <code>{LOAD_RUNS_TABLE}</code> table, so only what its tables hold is "
        "known. <code>sparkify run --report PATH</code> writes a report that includes the load's source, "
        "inputs and rejects.",
    }[load.origin]
    facts = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in load.facts)
    parts = [
        '<section id="summary"><h2>Summary</h2>',
        f'<div class="cards">{"".join(cards)}</div>',
        '<div class="cols">',
        f'<div><h3>Load</h3><p class="note">{origin}</p><table class="facts">{facts}</table>',
    ]
    if load.inputs:
        cols = ["input", "files", "records read", "staged", "rejected"]
        if load.origin == "warehouse":
            cols = ["staging table", "files", "records read", "rows", "rejected"]
        keep = [i for i in range(len(cols)) if any(r[i] is not None for r in load.inputs)]
        parts.append(
            _data_table(
                Result([cols[i] for i in keep], [tuple(r[i] for i in keep) for r in load.inputs]), "inputs"
            )
        )
    if load.rejects:
        more = (load.rejected or 0) - len(load.rejects)
        items = "".join(f"<li><code>{esc(r)}</code></li>" for r in load.rejects)
        extra = f"<li>… and {more:,} more</li>" if more > 0 else ""
        parts.append(f'<h4>Rejected records</h4><ul class="rejects">{items}{extra}</ul>')
    parts.append("</div>")
    if "row_counts" in results:
        parts.append(
            f'<div id="q-row_counts"><h3>Tables</h3><p class="note">{esc(describe(catalog["row_counts"]))} '
            f'<span class="qname">query <code>row_counts</code></span></p>'
            f"{_data_table(results['row_counts'], 'row_counts')}</div>"
        )
    parts.append("</div>")
    if load.history is not None:
        parts.append(
            f'<h3>Latest loads</h3><p class="note">The newest rows of table <code>{LOAD_RUNS_TABLE}</code>.</p>'
            + _data_table(load.history, LOAD_RUNS_TABLE)
        )
    parts.append("</section>")
    return "".join(parts)


def _question(query: Query, result: Result, question: Question) -> str:
    figure: Figure | None = None
    note = ""
    if question.figure is not None:
        try:
            figure = question.figure(result)
        except (KeyError, ValueError, TypeError) as exc:
            # A query whose columns changed keeps its table; the chart says why it is missing.
            note = f'<p class="note warn">No chart: the chart expects {esc(exc)}.</p>'
    if figure is None and question.figure is not None and not note and not result.rows:
        note = '<p class="note">No rows: nothing to chart.</p>'
    takeaway = f'<p class="takeaway">{esc(figure.takeaway)}</p>' if figure and figure.takeaway else ""
    chart = ""
    if figure and figure.svg:
        chart = f'<figure class="chart-box" data-query="{esc(query.name)}">{figure.svg}</figure>'
    table = _data_table(result, query.name)
    layout = "table-only" if not chart else "figure-stack" if question.is_wide else "figure-grid"
    return (
        f'<section id="q-{esc(query.name)}" class="question" data-query="{esc(query.name)}">'
        f'<div class="q-head"><h2>{esc(question.title)}</h2>'
        f'<p class="note">{esc(describe(query))} <span class="qname">query <code>{esc(query.name)}</code></span></p>'
        f"{takeaway}{note}</div>"
        f'<div class="{layout}">{chart}<div class="table-box">{table}</div></div>'
        "</section>"
    )


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


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _data_table(result: Result, name: str) -> str:
    """The result as an HTML table: numbers right-aligned, numbers, dates and ids kept on one line."""
    kinds = []
    for i, column in enumerate(result.columns):
        values = [r[i] for r in result.rows if r[i] is not None]
        if values and all(_is_number(v) for v in values):
            kinds.append("num")
        elif (values and all(isinstance(v, dt.date) for v in values)) or column.endswith("_id"):
            kinds.append("nowrap")
        else:
            kinds.append("")
    head = "".join(f'<th scope="col" class="{kinds[i]}">{esc(c)}</th>' for i, c in enumerate(result.columns))
    body = []
    for row in result.rows:
        cells = []
        for i, (c, v) in enumerate(zip(result.columns, row)):
            cls = kinds[i] + (" null" if v is None else "")
            exact = f' title="{esc(repr(v))}"' if isinstance(v, float) else ""
            cells.append(f'<td class="{cls.strip()}"{exact}>{esc(format_value(c, v))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(result.columns)}" class="null">no rows</td></tr>')
    return (
        f'<table class="data" data-query="{esc(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _breakable(name: str) -> str:
    """A check name that may wrap after ``:`` and ``->`` but nowhere else (not inside ``->``)."""
    parts = re.split(r"(?<=:)|(?<=->)", name)
    return "<wbr>".join(f'<span class="nowrap">{esc(p)}</span>' for p in parts if p)


def _quality(checks) -> str:
    failed = [c for c in checks if not c.passed]
    headline = (
        f"All {len(checks)} checks passed."
        if not failed
        else f"{len(failed)} of {len(checks)} checks FAILED: {', '.join(c.check.name for c in failed)}."
    )
    rows = []
    for r in checks:
        badge = '<span class="badge ok">pass</span>' if r.passed else '<span class="badge fail">FAIL</span>'
        rows.append(
            f'<tr class="{"ok" if r.passed else "fail"}" data-check="{esc(r.check.name)}">'
            f"<td>{badge}</td><td>{esc(r.check.description)}</td><td>{esc(r.check.kind)}</td>"
            f'<td><code>{_breakable(r.check.name)}</code></td><td class="num">{r.failures:,}</td></tr>'
        )
    return (
        '<section id="quality"><h2>Data quality</h2>'
        f'<p class="takeaway {"" if not failed else "warn"}">{esc(headline)}</p>'
        '<p class="note">Each check is one query that counts offending rows; zero passes. '
        "They cover not-null columns, unique keys, relationships between tables, and the "
        "reconciliation of songplays with the staged events.</p>"
        '<table class="data checks" data-query="checks"><thead><tr><th scope="col">result</th>'
        '<th scope="col">rule</th><th scope="col">kind</th><th scope="col">check</th>'
        f'<th scope="col" class="num">offending rows</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</section>"
    )


CSS = """
:root { --ink: #1b1f24; --muted: #5b6470; --line: #d9dde3; --soft: #f4f6f8; --ok: #1a7f37; --fail: #b42318;
  --accent: #0072B2; color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Liberation Sans", sans-serif; color: var(--ink); background: #fff; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: .88em; }
.page-header, nav, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 28px; }
.page-header { padding-top: 24px; }
h1 { font-size: 1.75rem; margin: 0 0 4px; letter-spacing: -.01em; }
h2 { font-size: 1.3rem; margin: 0 0 4px; }
h3 { font-size: 1.05rem; margin: 18px 0 6px; }
h4 { font-size: .95rem; margin: 14px 0 6px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.meta code { overflow-wrap: anywhere; }
nav { position: sticky; top: 0; background: rgba(255,255,255,.96); border-bottom: 1px solid var(--line); z-index: 1; }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 2px 16px; margin: 0; padding: 8px 0; font-size: .88rem; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { padding: 22px 0 18px; border-bottom: 1px solid var(--line); scroll-margin-top: 48px; }
.note { color: var(--muted); font-size: .88rem; margin: 0 0 8px; }
.note.warn, .takeaway.warn { color: var(--fail); }
.note code { white-space: nowrap; }
.qname { white-space: nowrap; }
.takeaway { margin: 4px 0 10px; font-weight: 500; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; margin: 12px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--soft); }
.card .label { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
.card .figure { font-size: 1.55rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .note { margin: 0; font-size: .8rem; }
.card.ok .figure { color: var(--ok); }
.card.fail .figure { color: var(--fail); }
.cols { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 32px; align-items: start; }
.figure-grid { display: grid; grid-template-columns: minmax(0, 760px) auto; justify-content: start; gap: 32px;
  align-items: start; }
.chart-box { margin: 0; }
svg.chart { display: block; width: 100%; height: auto; max-width: 760px; font-family: inherit; }
svg.chart text { fill: var(--ink); }
svg.chart .tick, svg.chart .axis-label, svg.chart .sublabel { fill: var(--muted); }
svg.chart .tick, svg.chart .value { font-variant-numeric: tabular-nums; }
svg.chart .strong { font-weight: 650; }
svg.chart .in-bar { fill: #fff; font-weight: 650; }
svg.chart .grid { stroke: #e8ebef; stroke-width: 1; }
svg.chart .axis { stroke: #8a939e; stroke-width: 1; }
svg.chart rect.bar:hover { opacity: .8; }
.table-box { max-height: 400px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.figure-grid .table-box { min-width: 220px; }
.table-only .table-box, .figure-stack .table-box { max-height: none; display: inline-block; max-width: 100%; }
.figure-stack .chart-box { margin-bottom: 14px; }
table { border-collapse: collapse; font-size: .86rem; }
table.data { width: 100%; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 4px 10px; text-align: left; border-bottom: 1px solid #eceff2; vertical-align: top; }
table.data thead th { position: sticky; top: 0; background: var(--soft); font-weight: 600; border-bottom: 1px solid var(--line); }
table.data .num { text-align: right; white-space: nowrap; }
table.data .nowrap { white-space: nowrap; }
.nowrap { white-space: nowrap; }
table.data td.null { color: #9aa3ad; }
table.data tbody tr:last-child td { border-bottom: 0; }
table.facts th { text-align: left; color: var(--muted); font-weight: 500; padding: 2px 16px 2px 0; vertical-align: top; }
table.facts td { padding: 2px 0; overflow-wrap: anywhere; }
.cols .table-box, .cols table.data { margin-top: 6px; }
table.checks tr.fail td { background: #fdecea; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: .78rem; font-weight: 600; line-height: 1.6; }
.badge.ok { background: #dafbe1; color: var(--ok); }
.badge.fail { background: #fdecea; color: var(--fail); }
.rejects { font-size: .82rem; padding-left: 18px; }
.rejects code { overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: .8rem; padding-top: 14px; padding-bottom: 28px; }
@media (max-width: 1000px) {
  .figure-grid, .cols { grid-template-columns: minmax(0, 1fr); }
}
@media print {
  @page { margin: 14mm 12mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 10.5pt; }
  nav { display: none; }
  .page-header, main, footer { max-width: none; padding: 0; }
  section { break-inside: auto; padding: 12px 0; }
  h2, h3, h4, .q-head { break-after: avoid; }
  .q-head, .chart-box, .cards, tr { break-inside: avoid; }
  .chart-box { break-before: avoid; margin-bottom: 8px; }
  .figure-grid, .figure-stack { display: block; }
  .cols { grid-template-columns: minmax(0, 1fr); gap: 10px; }
  table.data th, table.data td { padding: 2px 8px; }
  svg.chart { max-width: 17cm; }
  .table-box { max-height: none; overflow: visible; border: 0; }
  table.data thead th { position: static; }
  a { color: inherit; text-decoration: none; }
}
"""
