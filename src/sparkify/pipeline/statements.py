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
from sparkify.pipeline.plan import KINDS, STAGING_OF
from sparkify.schema import (
    FILE_KINDS,
    META_TABLES,
    STAGING_TABLES,
    STAR_TABLES,
    TABLES,
)
from sparkify.sources import Source
from sparkify.warehouse.base import Warehouse, quote

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
    """The statements ``step`` (one of :data:`STEPS`) runs on ``wh``'s engine, in order, as they
    are sent -- for review (``sparkify sql``). ``wh`` may be offline: nothing is executed.

    ``begin``/``commit`` mark the step's transaction. ``source`` only shapes the stage step of
    engines that load from S3 (a placeholder prefix is shown without one). Bookkeeping statements
    (ledger, accounting) are left out.
    """
    if step == "create-tables":
        schema_sql = wh.create_schema_sql()
        return (
            ([schema_sql] if schema_sql else [])
            + [wh.create_table_sql(t) for t in (*STAGING_TABLES, *STAR_TABLES, *META_TABLES)]
            + [s for t in (*STAGING_TABLES, *STAR_TABLES, *META_TABLES) for s in wh.index_sql(t)]
        )
    if step == "stage":
        out = ["begin"]
        for kind in KINDS:
            table = TABLES[STAGING_OF[kind]]
            relation = f"sparkify_read_{kind}"
            first, *rest = wh.insert_from_reader_sql(table, relation)
            how = (
                "checked here, then staged on S3 and COPYed: see the Redshift engine"
                if wh.copies_from_s3
                else f"table {relation}"
            )
            note = (
                f"-- {table.name}: the rows of files new or changed since the last run (and, with --prune, "
                f"of files gone from the source) leave staging, then the new rows of {FILE_KINDS[kind].folder}/, parsed by "
                f"DuckDB on this machine ({how}), come in:\n"
            )
            # a placeholder per file; Redshift's rendering must parse as it is (tests/test_redshift_sql.py)
            marks = f"{wh.param}" if wh.copies_from_s3 else f"{wh.param}, ..."
            out += [
                f"delete from {wh.qualified(table.name)} where {quote('source_file')} in ({marks})",
                note + first,
                *rest,
            ]
        return [*out, "commit"]
    if step == "transform":
        return ["begin"] + [s for _, group in transform_steps(wh) for s in group] + ["commit"]
    if step == "check":
        return [  # one comment line, then the query exactly as `sparkify check` sends it
            f"-- {answered[0].name}: {answered[0].description}\n{sql}"
            if len(answered) == 1
            else f"-- {', '.join(c.name for c in answered)}: not null (one scan)\n{sql}"
            for sql, answered in quality.queries(quality.checks(wh))
        ]
    raise ConfigError(f"Unknown step {step!r}. Steps: {', '.join(STEPS)}.")


def _count_star(wh: Warehouse) -> dict[str, int]:
    rows = {}
    for table in STAR_TABLES:
        _, result = wh.query(f"select count(*) from {wh.qualified(table.name)}")
        rows[table.name] = int(result[0][0])
    return rows
