"""What the report knows about the load: this run's report, else the newest ``load_runs`` rows
(through :mod:`sparkify.ledger`), else only what the staging tables hold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sparkify import ledger, pipeline
from sparkify.analytics import Result
from sparkify.report.formatting import format_value, stamp
from sparkify.schema import FILE_KINDS, LOAD_RUNS, STAGING_TABLES
from sparkify.staging.results import Reject
from sparkify.values import normalize
from sparkify.warehouse.base import Warehouse

LOAD_RUNS_TABLE = LOAD_RUNS.name
"""The optional table of past loads. If it exists, the report shows its latest rows."""

SHOWN_REJECTS = 20
"""How many rejected records the report lists. The total is always shown."""

SHOWN_LOAD_RUNS = 10
"""How many of the latest ``load_runs`` rows the report lists."""


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


def load_runs(wh: Warehouse) -> list[dict] | None:
    """The latest rows of ``load_runs`` as dicts, newest first, or None when there is no such table."""
    if not wh.table_exists(LOAD_RUNS_TABLE):
        return None
    runs = ledger.recent_runs(wh, SHOWN_LOAD_RUNS, fields=("load_id", *HISTORY_COLUMNS, "finished_at"))
    return [{column: normalize(value) for column, value in run.items()} for run in runs]


def history_table(runs: list[dict]) -> Result:
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


def load_info(wh: Warehouse, run_report: pipeline.RunReport | None, generated_at: dt.datetime) -> LoadInfo:
    """What the report says about the load: from ``run_report`` when given (the run that just
    finished), else from the newest succeeded row of ``load_runs`` (its rejects from
    ``load_errors``), else the row counts of the staging tables."""
    runs = load_runs(wh)
    history = history_table(runs) if runs else None
    generated = stamp(generated_at)
    if run_report is not None:
        info = LoadInfo("run", history=history)
        info.facts = [
            ("Source", run_report.source),
            ("Loaded", f"{generated}, in {run_report.seconds:.1f} s"),
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
        loaded = (
            stamp(when.replace(tzinfo=dt.UTC))
            if isinstance(when, dt.datetime)
            else format_value("when", when)
        )
        info.facts = [
            ("Source", format_value("source", latest["source"]) if latest["source"] else "not recorded"),
            ("Loaded", f"{loaded} ({latest['command']}, {latest['status']})"),
        ]
        # as a run's own report says them (tester finding: the files column was empty, a file name's
        # control characters written raw, the time in microseconds and no zone)
        files = ledger.files_of_load(wh, latest["load_id"])
        for kind in FILE_KINDS:
            info.inputs.append(
                [
                    kind,
                    files.get(kind, 0),
                    latest[f"{kind}_read"],
                    latest[f"{kind}_staged"],
                    latest[f"{kind}_rejected"],
                ]
            )
        info.rejected = int((latest["songs_rejected"] or 0) + (latest["events_rejected"] or 0))
        if info.rejected:
            info.rejects = [
                str(Reject(src, line, fld, reason))
                for src, line, fld, reason in ledger.rejects(wh, latest["load_id"], SHOWN_REJECTS)
            ]
        return info
    info = LoadInfo("warehouse")
    info.facts = [
        ("Source", "not recorded: this warehouse keeps no load history"),
        ("Loaded", "not recorded (the report was generated " + generated + ")"),
    ]
    for table in STAGING_TABLES:
        if wh.table_exists(table.name):
            _, rows = wh.query(f"select count(*) from {wh.qualified(table.name)}")
            info.inputs.append([table.name, None, None, int(rows[0][0]), None])
    return info
