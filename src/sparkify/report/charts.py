"""The report's charts: inline SVG drawn here, so the page loads nothing.

Every text that goes into a chart (labels, tooltips, legends) passes through :func:`esc`, because
song titles contain ``<``, ``&`` and quotes; labels are cut to fit *before* escaping (an entity is
never split). The rest of the page is rendered by the Jinja2 template, which escapes on its own.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sparkify.report.formatting import percent

# Okabe-Ito colours: they stay distinct for colour-blind readers and in greyscale print.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
GREY = "#B8B8B8"
PAID, FREE = BLUE, ORANGE


def esc(value: Any) -> str:
    """Escape text for HTML content and attribute values. Inline SVG uses the same rules."""
    return html.escape("" if value is None else str(value), quote=True)


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


def round_ticks(vmax: float, count: int = 5) -> list[float]:
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
    ticks = round_ticks(max(totals, default=0))
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
    ticks = round_ticks(max(values, default=0))
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
        pct = percent(v, total)
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
            f'<tspan class="strong">{v:,.0f}</tspan> {esc(unit)} ({percent(v, total)})</text>'
        )
        ly += 22
    out.append("</svg>")
    return "".join(out)
