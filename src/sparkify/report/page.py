"""The report page: the data each part shows, rendered by ``templates/report.html.j2`` with
``report.css`` inlined. Jinja2 escapes every value (autoescape); only the inline SVG charts, escaped
where they are drawn (:mod:`sparkify.report.charts`), go in as markup."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from sparkify import __version__, analytics, pipeline
from sparkify.analytics import Query, Result
from sparkify.errors import LocalIOError, MissingTableError
from sparkify.files import write_atomically
from sparkify.report.figures import QUESTIONS, Figure, Question, rows_of
from sparkify.report.formatting import describe, format_value, percent, stamp
from sparkify.report.history import LOAD_RUNS_TABLE, LoadInfo, load_info
from sparkify.schema import STAR_TABLES
from sparkify.warehouse.base import Warehouse

ENGINE_NAMES = {"duckdb": "DuckDB", "postgres": "PostgreSQL", "redshift": "Amazon Redshift"}
"""How the page names each engine."""


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
    load = load_info(wh, run_report, generated_at)
    return render(wh, catalog, results, checks, load, generated_at)


def write(
    wh: Warehouse,
    path: str | Path,
    *,
    run_report: pipeline.RunReport | None = None,
) -> Path:
    """Build the report and write it to ``path``, creating missing folders; return the path.

    The file is replaced in one step, so a reader never sees half a report. Raises LocalIOError (exit 74)
    naming the path when it cannot be written.
    """
    text = build(wh, run_report=run_report)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, text)
    except OSError as exc:
        blocking = next((p for p in reversed(target.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocking} is a file, not a folder" if blocking is not None else exc.strerror or exc
        raise LocalIOError(f"Cannot write the report to {target}: {reason}.") from exc
    return target


# -- the page's parts, as the template reads them -----------------------------------------------------


def render(
    wh: Warehouse,
    catalog: dict[str, Query],
    results: dict[str, Result],
    checks: list,
    load: LoadInfo,
    generated_at: dt.datetime,
    questions: Sequence[Question] = QUESTIONS,
) -> str:
    """The page for these results (query name -> Result), check results and load facts; the
    catalog's queries in the order of ``questions`` (with their charts), then the others as tables."""
    failed = [c for c in checks if not c.passed]
    toc: list[tuple[str, str]] = [("summary", "Summary")]
    sections = []
    shown = {"row_counts"}  # the summary's table
    for question in questions:
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
    return _template().render(
        version=__version__,
        stamp=stamp(generated_at),
        url=wh.display_url,
        engine=ENGINE_NAMES.get(wh.name, wh.name),
        failed=len(failed),
        toc=toc,
        overview=_summary(catalog, results, checks, load),
        questions=sections,
        checks=_quality(checks),
        css=_css(),
    )


@dataclass
class Table:
    """A result as the page shows it: ``head`` (class, column) pairs, ``rows`` of (class, exact
    value for a tooltip or None, shown text) cells."""

    name: str
    head: list[tuple[str, str]]
    rows: list[list[tuple[str, str | None, str]]]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _table(result: Result, name: str) -> Table:
    """Numbers right-aligned; numbers, dates and ids kept on one line; floats' exact value in a tooltip."""
    kinds = []
    for i, column in enumerate(result.columns):
        values = [r[i] for r in result.rows if r[i] is not None]
        if values and all(_is_number(v) for v in values):
            kinds.append("num")
        elif (values and all(isinstance(v, dt.date) for v in values)) or column.endswith("_id"):
            kinds.append("nowrap")
        else:
            kinds.append("")
    rows = [
        [
            (
                (kinds[i] + (" null" if v is None else "")).strip(),
                repr(v) if isinstance(v, float) else None,
                format_value(c, v),
            )
            for i, (c, v) in enumerate(zip(result.columns, row))
        ]
        for row in result.rows
    ]
    return Table(name, list(zip(kinds, result.columns)), rows)


def _card(label: str, value: str, note: str = "", cls: str = "") -> dict[str, str]:
    return {"label": label, "value": value, "note": note, "cls": cls}


def _summary(catalog: dict[str, Query], results: dict[str, Result], checks: list, load: LoadInfo) -> dict:
    counts = (
        dict(rows_of(results["row_counts"], "table_name", "row_count")) if "row_counts" in results else {}
    )
    failed = [c for c in checks if not c.passed]
    cards = [
        _card(name, f"{counts[name]:,}", "rows")
        for name in ("songplays", "users", "songs", "artists")
        if name in counts
    ]
    if "matched_share" in results:
        plays, matched = rows_of(results["matched_share"], "plays", "matched_plays")[0]
        cards.append(_card("matched plays", percent(matched, plays), f"{matched:,} of {plays:,} plays"))
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
                # the count of one load, not of every load the warehouse kept
                "input records this run did not load"
                if load.origin == "run"
                else "input records the latest load did not load",
                "fail" if load.rejected else "",
            )
        )
    inputs = None
    if load.inputs:
        cols = ["input", "files", "records read", "staged", "rejected"]
        if load.origin == "warehouse":
            cols = ["staging table", "files", "records read", "rows", "rejected"]
        keep = [i for i in range(len(cols)) if any(r[i] is not None for r in load.inputs)]
        kept = Result([cols[i] for i in keep], [tuple(r[i] for i in keep) for r in load.inputs])
        inputs = _table(kept, "inputs")
    more = (load.rejected or 0) - len(load.rejects)
    return {
        "cards": cards,
        "origin": load.origin,
        "history_table": LOAD_RUNS_TABLE,
        "facts": load.facts,
        "inputs": inputs,
        "rejects": load.rejects,
        "more_rejects": f"{more:,}" if load.rejects and more > 0 else None,
        "row_counts": _table(results["row_counts"], "row_counts") if "row_counts" in results else None,
        "row_counts_description": describe(catalog["row_counts"]) if "row_counts" in catalog else "",
        "history": _table(load.history, LOAD_RUNS_TABLE) if load.history is not None else None,
    }


def _question(query: Query, result: Result, question: Question) -> dict:
    figure: Figure | None = None
    chart_error = None
    if question.figure is not None:
        try:
            figure = question.figure(result)
        except (KeyError, ValueError, TypeError) as exc:
            # A query whose columns changed keeps its table; the chart says why it is missing.
            chart_error = str(exc)
    svg = Markup(figure.svg) if figure and figure.svg else None  # escaped where it is drawn
    return {
        "name": query.name,
        "title": question.title,
        "description": describe(query),
        "takeaway": figure.takeaway if figure else None,
        "chart_error": chart_error,
        "is_empty": figure is None and question.figure is not None and not result.rows,
        "svg": svg,
        "layout": "table-only" if not svg else "figure-stack" if question.is_wide else "figure-grid",
        "table": _table(result, query.name),
    }


def _quality(checks: list) -> dict:
    failed = [c for c in checks if not c.passed]
    headline = (
        f"All {len(checks)} checks passed."
        if not failed
        else f"{len(failed)} of {len(checks)} checks FAILED: {', '.join(c.check.name for c in failed)}."
    )
    rows = [
        {
            "passed": r.passed,
            "name": r.check.name,
            # a check name may wrap after ``:`` and ``->`` but nowhere else (not inside ``->``)
            "name_parts": [p for p in re.split(r"(?<=:)|(?<=->)", r.check.name) if p],
            "description": r.check.description,
            "kind": r.check.kind,
            "failures": f"{r.failures:,}",
        }
        for r in checks
    ]
    return {"failed": bool(failed), "headline": headline, "rows": rows}


# -- the template -----------------------------------------------------------------------------------


def _escape(value: Any) -> Any:
    """Every value the template prints, escaped as :func:`html.escape` does (quotes as ``&quot;``
    and ``&#x27;``); None prints as nothing. Markup (the charts) goes in as it is."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sparkify.report", "templates"),
        autoescape=True,
        finalize=_escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2")


@cache
def _css() -> Markup:
    return Markup(resources.files("sparkify.report").joinpath("report.css").read_text(encoding="utf-8"))
