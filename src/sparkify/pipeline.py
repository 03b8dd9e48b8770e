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
from sparkify.errors import BadInputError, ConfigError, MissingTableError
from sparkify.reader import JsonReader, ReadResult, Reject
from sparkify.schema import STAGING_TABLES, STAR_TABLES, TABLES
from sparkify.sources import FOLDERS, Source, open_source
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


STEPS = ("create-tables", "stage", "transform", "check")
"""The steps of a run, in order; ``sparkify sql STEP`` prints the statements of each."""


def create_tables(wh: Warehouse) -> list[str]:
    """Create the schema and every staging and star table that is missing; return the table names
    created. Safe to run twice."""
    wh.create_schema()
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
    if wh.copies_from_s3:
        report = _stage_from_s3(wh, s3_prefix(wh, source), max_errors=max_errors, progress=progress)
        report.seconds = time.perf_counter() - started
        return report
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


def s3_prefix(wh: Warehouse, source: str | Path | Source) -> str:
    """The ``s3://bucket/prefix`` a server-side load reads (no trailing slash), or a ConfigError."""
    text = str(getattr(source, "description", source)).rstrip("/")
    if not text.startswith("s3://") or len(text) <= len("s3://"):
        raise ConfigError(
            f"{wh.name.capitalize()} loads from S3: pass --source s3://bucket/prefix (the prefix that holds "
            f"song_data/ and log_data/), not {text!r}."
        )
    return text


def _stage_from_s3(wh: Warehouse, prefix: str, *, max_errors: int, progress: Progress) -> StageReport:
    """Server-side staging: one COPY per staging table from ``prefix``, all in one transaction."""
    _require_tables(wh, STAGING_OF.values())
    report = StageReport()
    with wh.transaction():
        for kind in ("songs", "events"):
            table = TABLES[STAGING_OF[kind]]
            task = f"stage {kind}"
            progress.start(task, None)
            result = wh.copy_from_s3(table, f"{prefix}/{FOLDERS[kind]}/", max_errors=max_errors)
            result.kind = kind
            report.results[kind] = result
            report.rows[table.name] = result.staged
            progress.finish(task)
        rejects = report.rejects
        if len(rejects) > max_errors:  # each COPY allowed max_errors; together they may not
            raise BadInputError(_rejects_message(rejects, max_errors))
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
    steps = transform_steps(wh)
    progress.start("transform", len(STAR_TABLES))
    with wh.transaction():
        for name, statements in steps:
            for statement in statements:
                wh.execute(statement)
            if name in TABLES:
                progress.advance("transform")
    progress.finish("transform")
    for table in STAR_TABLES:
        _, result = wh.query(f"select count(*) from {wh.qualified(table.name)}")
        rows[table.name] = int(result[0][0])
    return rows


def transform_steps(wh: Warehouse) -> list[tuple[str, list[str]]]:
    """The transform's statements, grouped by what they build, in the order they run (one
    transaction). Star tables load in order: users, songs, artists, songplays, time.

    Engines that rebuild (DuckDB, PostgreSQL) first empty every star table, then insert; engines that
    merge (:attr:`Warehouse.merges_star_rows`: Redshift) merge each table in place.
    """
    analyze = [s for s in (wh.analyze_sql(t.name) for t in STAR_TABLES) if s]  # for the checks that follow
    if wh.merges_star_rows:
        steps = [(t.name, wh.merge_statements(t, wh.statement(f"insert_{t.name}"))) for t in STAR_TABLES]
    else:
        # DELETE, not TRUNCATE: readers keep seeing the last run's rows until this one commits
        clear = [f"delete from {wh.qualified(t.name)}" for t in reversed(STAR_TABLES)]  # the fact table first
        steps = [("clear", clear)] + [(t.name, [wh.statement(f"insert_{t.name}")]) for t in STAR_TABLES]
    return steps + ([("analyze", analyze)] if analyze else [])


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
    if wh.copies_from_s3:
        src = s3_prefix(wh, source)  # checked before anything is created
        report = RunReport(source=src, warehouse=wh.display_url)
    else:
        src = source if hasattr(source, "list") else open_source(source)
        report = RunReport(source=src.description, warehouse=wh.display_url)
    report.created = create_tables(wh)
    report.stage = stage(wh, src, max_errors=max_errors, progress=progress)
    report.rows = transform(wh, progress=progress)
    report.checks = check(wh)
    report.seconds = time.perf_counter() - started
    return report


def statements(wh: Warehouse, step: str, *, source: str | None = None, max_errors: int = 0) -> list[str]:
    """The statements ``step`` (one of :data:`STEPS`) runs on ``wh``'s engine, in order, as they
    are sent -- for review (``sparkify sql``). ``wh`` may be offline: nothing is executed.

    ``begin``/``commit`` mark the step's transaction. ``source`` only shapes the stage step of
    engines that load from S3 (a placeholder prefix is shown without one).
    """
    if step == "create-tables":
        schema_sql = wh.create_schema_sql()
        return ([schema_sql] if schema_sql else []) + [
            wh.create_table_sql(t) for t in (*STAGING_TABLES, *STAR_TABLES)
        ]
    if step == "stage":
        out = ["begin"]
        for kind in ("songs", "events"):
            table = TABLES[STAGING_OF[kind]]
            if wh.copies_from_s3:
                prefix = str(source).rstrip("/") if source and str(source).startswith("s3://") else "s3://bucket/prefix"
                out += wh.copy_from_s3_sql(table, f"{prefix}/{FOLDERS[kind]}/", max_errors=max_errors)
            else:
                relation = f"sparkify_read_{kind}"
                first, *rest = wh.load_staging_sql(table, relation)
                note = (
                    f"-- {table.name}: rows of {FOLDERS[kind]}/ parsed by DuckDB on this machine "
                    f"(table {relation}), then:\n"
                )
                out += [note + first, *rest]
        return out + ["commit"]
    if step == "transform":
        return ["begin"] + [s for _, group in transform_steps(wh) for s in group] + ["commit"]
    if step == "check":
        return [f"-- {c.name}: {c.description}\n{c.sql}" for c in quality.checks(wh)]
    raise ConfigError(f"Unknown step {step!r}. Steps: {', '.join(STEPS)}.")
