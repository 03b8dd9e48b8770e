"""The bookkeeping tables -- ``load_runs``, ``load_files``, ``load_errors`` -- read and written here.

Every query on them that is not part of staging's bulk work lives in this module.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sparkify.schema import LOAD_RUNS
from sparkify.warehouse.base import Warehouse, quote

RUN_COLUMNS = (
    "load_id", "command", "status", "started_at", "finished_at", "source", "files_loaded",
    "songs_staged", "events_staged", "songs_rejected", "events_rejected", "checks_failed", "message",
)
"""The columns of ``load_runs`` that :func:`recent_runs` returns, in order."""


def recent_runs(wh: Warehouse, limit: int = 10) -> list[dict[str, Any]]:
    """The newest ``limit`` rows of ``load_runs``, newest first, as dicts of :data:`RUN_COLUMNS`
    plus ``seconds`` (finished - started, None while running). Raises MissingTableError when the
    table does not exist."""
    cols = ", ".join(quote(c) for c in RUN_COLUMNS)
    _, rows = wh.query(
        f"select {cols} from {wh.qualified(LOAD_RUNS.name)} order by {quote('started_at')} desc, "
        f"{quote('finished_at')} desc limit {int(limit)}"
    )
    out = []
    for row in rows:
        run = dict(zip(RUN_COLUMNS, row))
        started, finished = run["started_at"], run["finished_at"]
        run["seconds"] = (
            round((finished - started).total_seconds(), 1)
            if isinstance(started, dt.datetime) and isinstance(finished, dt.datetime)
            else None
        )
        out.append(run)
    return out


def run_status(wh: Warehouse, load_id: str) -> str | None:
    """The status ``load_runs`` holds for ``load_id`` (``succeeded``, ``failed``, ``interrupted``),
    or None when no row for it was committed -- how a run whose connection dropped, or that a signal
    stopped, at commit time finds out whether its transaction committed."""
    _, rows = wh.query(
        f"select {quote('status')} from {wh.qualified(LOAD_RUNS.name)} where {quote('load_id')} = {wh.param}",
        [load_id],
    )
    return str(rows[0][0]) if rows else None


def record_run(wh: Warehouse, row: dict[str, Any]) -> None:
    """Insert one ``load_runs`` row in its own transaction."""
    with wh.transaction():
        wh.insert_row(LOAD_RUNS, row)


def set_checks_failed(wh: Warehouse, load_id: str, failed: int) -> None:
    """Note how many checks failed after the run ``load_id``."""
    wh.execute(
        f"update {wh.qualified(LOAD_RUNS.name)} set {quote('checks_failed')} = {wh.param} "
        f"where {quote('load_id')} = {wh.param}",
        [failed, load_id],
    )
