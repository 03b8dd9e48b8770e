"""The steps in order -- create tables, stage, transform, check -- and their transactions.

This module imports no database driver and prints nothing: it talks to a :class:`Warehouse` and
reports through return values and an optional progress callback.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sparkify import quality
from sparkify.errors import BadInputError, MissingTableError
from sparkify.reader import JsonReader, ReadResult, Reject
from sparkify.schema import STAGING_TABLES, STAR_TABLES, TABLES
from sparkify.sources import Source, open_source
from sparkify.warehouse.base import Warehouse

SHOWN_REJECTS = 10
"""How many rejected records an error message lists."""


class Progress(Protocol):
    """Where the pipeline reports progress on long work. The CLI draws bars or plain lines."""

    def start(self, task: str, total: int | None) -> None: ...

    def advance(self, task: str, amount: int = 1) -> None: ...

    def finish(self, task: str) -> None: ...


class NoProgress:
    def start(self, task: str, total: int | None) -> None:
        pass

    def advance(self, task: str, amount: int = 1) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


@dataclass
class StageReport:
    """What staging read and loaded, per kind of file."""

    results: dict[str, ReadResult] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows now in each staging table."""
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return sum(r.read for r in self.results.values())

    @property
    def staged(self) -> int:
        return sum(r.staged for r in self.results.values())

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.results.values())

    @property
    def rejects(self) -> list[Reject]:
        return [rej for r in self.results.values() for rej in r.rejects]


@dataclass
class RunReport:
    source: str
    warehouse: str
    created: list[str] = field(default_factory=list)
    stage: StageReport | None = None
    rows: dict[str, int] = field(default_factory=dict)
    """Rows in each star table after the transform."""
    checks: list[quality.CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def checks_failed(self) -> list[quality.CheckResult]:
        return [c for c in self.checks if not c.passed]


STAGING_OF = {"events": "staging_events", "songs": "staging_songs"}


def create_tables(wh: Warehouse) -> list[str]:
    """Create every missing staging and star table; return the names created. Safe to run twice."""
    created = []
    for table in (*STAGING_TABLES, *STAR_TABLES):
        if not wh.table_exists(table.name):
            wh.execute(wh.create_table_sql(table))
            created.append(table.name)
    return created


def _require_tables(wh: Warehouse, names) -> None:
    missing = [n for n in names if not wh.table_exists(n)]
    if missing:
        raise MissingTableError(
            f"Table {', '.join(missing)} does not exist in {wh.display_url}. Run `sparkify create-tables` first."
        )


def stage(
    wh: Warehouse,
    source: str | Path | Source,
    *,
    max_errors: int = 0,
    progress: Progress | None = None,
) -> StageReport:
    """Read every song and log file of ``source`` into the staging tables (replacing their rows).

    Every record is either staged or rejected. When more than ``max_errors`` records are rejected,
    raises :class:`BadInputError` naming up to ten of them, and the staging tables are left unchanged.
    """
    started = time.perf_counter()
    progress = progress or NoProgress()
    src = source if hasattr(source, "list") else open_source(source)
    _require_tables(wh, STAGING_OF.values())
    report = StageReport()
    reader_con = wh.reader_connection()
    with tempfile.TemporaryDirectory(prefix="sparkify-spool-") as spool:
        for kind in ("songs", "events"):
            files = src.list(kind)
            task = f"stage {kind}"
            progress.start(task, len(files))
            reader = JsonReader(reader_con, Path(spool) / kind, progress=lambda n, t=task: progress.advance(t, n))
            report.results[kind] = reader.read(kind, src, files, f"sparkify_read_{kind}")
            progress.finish(task)
        rejects = report.rejects
        if len(rejects) > max_errors:
            for kind in report.results:
                reader_con.execute(f"drop table if exists sparkify_read_{kind}")
            raise BadInputError(_rejects_message(rejects, max_errors))
        with wh.transaction():
            for kind, result in report.results.items():
                table = TABLES[STAGING_OF[kind]]
                report.rows[table.name] = wh.load_staging(table, reader_con, result.table)
        for kind in report.results:
            reader_con.execute(f"drop table if exists sparkify_read_{kind}")
    report.seconds = time.perf_counter() - started
    return report


def _rejects_message(rejects: list[Reject], max_errors: int) -> str:
    shown = "\n".join(f"  {r}" for r in rejects[:SHOWN_REJECTS])
    more = f"\n  ... and {len(rejects) - SHOWN_REJECTS} more" if len(rejects) > SHOWN_REJECTS else ""
    allowed = "no rejected records are allowed" if max_errors == 0 else f"at most {max_errors} allowed"
    return (
        f"{len(rejects)} input records could not be loaded ({allowed}); nothing was changed:\n"
        f"{shown}{more}\n"
        f"Fix the input, or pass --max-errors N to load the rest and record these as rejected."
    )


def transform(wh: Warehouse, *, progress: Progress | None = None) -> dict[str, int]:
    """Rebuild every star table from the staging tables, in one transaction. Returns row counts.

    Running it twice on the same staging rows leaves every table identical.
    """
    progress = progress or NoProgress()
    _require_tables(wh, [t.name for t in (*STAGING_TABLES, *STAR_TABLES)])
    rows: dict[str, int] = {}
    progress.start("transform", len(STAR_TABLES))
    with wh.transaction():
        for table in reversed(STAR_TABLES):  # the fact table first: it refers to the dimensions
            wh.execute(f"delete from {wh.qualified(table.name)}")
        for table in STAR_TABLES:
            wh.execute(wh.statement(f"insert_{table.name}"))
            progress.advance("transform")
    progress.finish("transform")
    for table in STAR_TABLES:
        _, result = wh.query(f"select count(*) from {wh.qualified(table.name)}")
        rows[table.name] = int(result[0][0])
    return rows


def check(wh: Warehouse) -> list[quality.CheckResult]:
    """Run every quality check; return the results."""
    _require_tables(wh, [t.name for t in (*STAGING_TABLES, *STAR_TABLES)])
    return quality.run_checks(wh)


def run(
    wh: Warehouse,
    source: str | Path | Source,
    *,
    max_errors: int = 0,
    progress: Progress | None = None,
) -> RunReport:
    """create tables, stage, transform, check. Raises on bad input; returns check results."""
    started = time.perf_counter()
    src = source if hasattr(source, "list") else open_source(source)
    report = RunReport(source=src.description, warehouse=wh.display_url)
    report.created = create_tables(wh)
    report.stage = stage(wh, src, max_errors=max_errors, progress=progress)
    report.rows = transform(wh, progress=progress)
    report.checks = check(wh)
    report.seconds = time.perf_counter() - started
    return report
