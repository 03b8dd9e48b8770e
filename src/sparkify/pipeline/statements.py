"""The statements of each step as data: the transform's statements in the order they run
(:func:`transform_steps`), and :func:`statements`, which renders a step for review (``sparkify sql``)
on an engine that may be offline.
"""

from __future__ import annotations

from pathlib import Path

from sparkify import quality
from sparkify.errors import (
    ConfigError,
)
from sparkify.schema import (
    STAR_TABLES,
)
from sparkify.sources import Source
from sparkify.warehouse.base import Warehouse

STEPS = ("create-tables", "stage", "transform", "check")
"""The steps of a run, in order; ``sparkify sql STEP`` prints the statements of each."""


def transform_steps(wh: Warehouse) -> list[tuple[str, list[str]]]:
    """The transform's statements, grouped by what they build, in the order they run (one
    transaction). Star tables load in order: users, songs, artists, songplays, time.

    Engines that rebuild (DuckDB, PostgreSQL) first empty every star table
    (:meth:`Warehouse.clear_star_sql`), then fill each (:meth:`Warehouse.rebuild_table_sql`); engines
    that merge (:attr:`Warehouse.merges_star_rows`: Redshift) merge each table in place.
    """
    analyze = [s for s in (wh.analyze_sql(t.name) for t in STAR_TABLES) if s]  # for the checks that follow
    if wh.merges_star_rows:
        steps = [(t.name, wh.merge_statements(t, wh.statement(f"insert_{t.name}"))) for t in STAR_TABLES]
    else:
        steps = [("clear", wh.clear_star_sql(STAR_TABLES))] + [
            (t.name, wh.rebuild_table_sql(t, wh.statement(f"insert_{t.name}"))) for t in STAR_TABLES
        ]
    return steps + ([("analyze", analyze)] if analyze else [])


def s3_prefix(wh: Warehouse, source: str | Path | Source) -> str:
    """The ``s3://bucket/prefix`` a server-side load reads (no trailing slash), or a ConfigError."""
    text = str(getattr(source, "description", source)).rstrip("/")
    if not text.startswith("s3://") or len(text) <= len("s3://"):
        raise ConfigError(
            f"{wh.name.capitalize()} loads from S3: pass --source s3://bucket/prefix (the prefix that holds "
            f"song_data/ and log_data/), not {text!r}."
        )
    return text


def statements(wh: Warehouse, step: str, *, source: str | None = None, max_errors: int = 0) -> list[str]:
    """The statements ``step`` (one of :data:`STEPS`) sends to ``wh``'s engine, in order -- for
    review (``sparkify sql``). ``wh`` may be offline: nothing is executed. They are found by running
    the step's own function on a recording copy of ``wh`` (:func:`sparkify.pipeline.trace.trace`);
    the stage step reads a stand-in source of one placeholder record per kind of file.

    Shown: every statement that changes something (``begin``/``commit`` mark the transaction), and
    the check step's queries, each after a comment naming the checks it answers. Left out: the reads
    a step makes to plan its work (row counts, the ledger), the statements every connection starts
    with (:meth:`Warehouse.setup_statements`) and bookkeeping on ``load_runs``, ``load_files``,
    ``load_errors`` and ``load_schema``. Values are the driver's placeholders. ``source``: where
    an engine that stages through the source's storage shows the staged rows (Redshift: the
    staging prefix under an ``s3://`` source, unless ``manifest_prefix`` names one); otherwise a
    placeholder location.
    """
    from sparkify.pipeline.trace import is_bookkeeping, trace

    if step not in STEPS:
        raise ConfigError(f"Unknown step {step!r}. Steps: {', '.join(STEPS)}.")
    if source is not None:
        wh.note_shown_source(str(source))
    setup = set(wh.setup_statements())
    sent = [
        s.statement
        for s in trace(wh, step, max_errors=max_errors)
        if s.statement not in setup
        and not is_bookkeeping(wh, s.statement)
        and (s.kind == "execute") != (step == "check")
    ]
    if step != "check":
        return sent
    labels = {  # one comment line, then the query exactly as `sparkify check` sends it
        sql: f"-- {answered[0].name}: {answered[0].description}"
        if len(answered) == 1
        else f"-- {', '.join(c.name for c in answered)}: "
        + (
            "not null (one scan)"
            if answered[0].kind == "not_null"
            else "; ".join(c.description for c in answered)
        )
        for sql, answered in quality.queries(quality.checks(wh))
    }
    # its catalog reads (is every table still the one sparkify made?) plan the work: left out
    return [f"{labels[sql]}\n{sql}" for sql in sent if sql in labels]


def _count_star(wh: Warehouse) -> dict[str, int]:
    rows = {}
    for table in STAR_TABLES:
        _, result = wh.query(f"select count(*) from {wh.qualified(table.name)}")
        rows[table.name] = int(result[0][0])
    return rows
