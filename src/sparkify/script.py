"""The statements a run sends to an engine, as one SQL script to review (``sparkify sql``).

Each step's statements come from :func:`sparkify.pipeline.statements`, which traces the step's own
function on a recording copy of the engine (:mod:`sparkify.pipeline.trace`); the script adds what
every connection runs first and a header per step. Nothing is executed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from sparkify.errors import ConfigError, did_you_mean
from sparkify.warehouse.base import Warehouse

STEP_NOTES = {
    "create-tables": "the schema and every missing table (each statement is skipped for a table that exists)",
    "stage": (
        "one transaction; per kind of file, the rows of the files this run reads (new or changed, one "
        "placeholder per file) leave staging, then the rows the record rules accepted on this machine come in. "
        "sparkify_read_songs and sparkify_read_events are those rows: the reader builds them with DuckDB on "
        "this machine (temporary, never sent to the warehouse, so not shown)"
    ),
    "transform": (
        "one transaction: every star table rebuilt from staging, as `sparkify transform`, a first run and "
        "`run --full-refresh` do. A later `run` that stages only new or changed files updates the star "
        "tables in place from those rows instead (temporary scope tables, deletes and inserts of the "
        "affected keys), in the same transaction as its stage step"
    ),
    "check": "one query per check (or per table, for its not-null checks); each counts offending rows",
}
"""The comment under each step's header, saying what its statements do."""


def steps_named(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` checked against :data:`sparkify.pipeline.STEPS`, each once and in the order a run
    takes them (all of them when empty). Raises ConfigError for an unknown step, with the closest one."""
    from sparkify.pipeline import STEPS

    for step in names:
        if step not in STEPS:
            raise ConfigError(f"Unknown step {step!r}.{did_you_mean(step, STEPS)} Steps: {', '.join(STEPS)}.")
    return tuple(s for s in STEPS if s in names) or tuple(STEPS)  # once each, in the order a run takes them


def script(
    wh: Warehouse,
    steps: Sequence[str],
    *,
    source: str | None = None,
    max_errors: int = 0,
    shown_url: str | None = None,
) -> str:
    """The SQL ``steps`` (see :func:`steps_named`) run on ``wh``'s engine (``wh`` may be offline),
    as one script: a header naming the engine, ``shown_url`` (a warehouse URL with its password
    masked, when given) and the schema; the statements every connection starts with; then each
    step's statements, each ending with ``;``. ``source`` and ``max_errors`` shape the stage step
    of engines that load from S3."""
    from sparkify import pipeline

    lines = [f"-- sparkify sql: statements for the {wh.name} engine"]
    if shown_url is not None:
        lines.append(f"-- warehouse: {shown_url}")
    if wh.schema:
        lines.append(f"-- schema: {wh.schema}")
    # what every session runs first: unqualified names in the statements below resolve in the schema
    setup = wh.setup_statements()
    if setup:
        lines += ["", "-- every connection starts with (replaying in psql needs it too):"]
        lines += [s.rstrip(";") + ";" for s in setup]
    for step in steps_named(steps):
        lines += ["", f"-- == {step} " + "=" * (90 - len(step))]
        lines += [f"-- {line}" for line in textwrap.wrap(STEP_NOTES[step], 94)]
        for statement in pipeline.statements(wh, step, source=source, max_errors=max_errors):
            lines += ["", statement.rstrip().rstrip(";") + ";"]
    return "\n".join(lines)
