"""The steps in order -- create tables, stage, transform, check -- and their transactions.

This package imports no database driver and prints nothing: it talks to a :class:`Warehouse` and
reports through return values and an optional progress callback (:mod:`sparkify.progress`). Here are
the entry points (``create_tables``, ``stage``, ``transform``, ``check``, ``run``), the load's one
transaction and its retries; beside them: ``plan`` (which files a run reads, the reports),
``publish`` (staging rows, ledger and accounting written), ``incremental`` (the in-place star
update), ``statements`` and ``trace`` (each step's SQL as a run sends it, for ``sparkify sql``) and
``tables`` (what a step needs).

Staging is incremental: the load ledger (``load_files``) records every file whose records are in
staging, with its version (mtime or ETag). A run reads only files that are new or changed, replaces
the rows of changed files. ``run`` then updates the star tables in place from the rows that changed
(incremental transform, :func:`_transform_incremental`) when the star tables are known to match
staging (the last successful load was a ``run``); otherwise, and on a full refresh, it rebuilds them
from all of staging. Both give the same tables.

History is never lost by accident: a file loaded earlier and no longer in the source (a scheduler
pointing at today's folder, a day archived away) keeps its rows and its ledger entry, and the plan
counts it (:attr:`FilePlan.absent`). So does a file loaded earlier that is still there but holds no
record now -- zero bytes, only whitespace (:attr:`FilePlan.emptied`), or only records that are
rejected (:attr:`FilePlan.rejected_only`, with ``max_errors``): an export that failed is the same
accident. Only ``prune=True`` removes such files' rows. ``full_refresh=True``
reloads every file in the source; files absent from it keep their rows then too, unless ``prune``.
So the star schema equals what a full refresh of (the source + the kept files) would build.

Atomicity: files are read and checked before anything is written; then staging, the ledger, the
rejects, the star tables and the run's accounting change in one transaction. A failure anywhere
(bad input, a killed process, a lost connection) leaves every table as the last successful run left it.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict, Unpack

from sparkify import interrupts, ledger, quality
from sparkify.errors import (
    BadInputError,
    ChecksNotRun,
    ConfigError,
    Interrupted,
    TransientWarehouseError,
)
from sparkify.files import scratch_dir
from sparkify.pipeline.incremental import (
    _scope_left,
    _star_matches_staging,
    _start_changes,
    _transform_incremental,
)
from sparkify.pipeline.plan import KINDS, STAGING_OF, FilePlan, RunReport, StageReport, _now, _plan
from sparkify.pipeline.publish import (
    _accounting,
    _publish_kind,
    _record_outcome,
    _rejects_message,
    committed_note,
    spool_errors,
)
from sparkify.pipeline.statements import STEPS, _count_star, s3_prefix, statements, transform_steps
from sparkify.pipeline.tables import (
    CREATE_FIRST,
    _open,
    _require_tables,
    refuse_foreign_tables,
    require_star,
    require_tables,
)
from sparkify.progress import NoProgress, Progress
from sparkify.schema import LOAD_FILES, LOAD_SCHEMA, META_TABLES, STAGING_TABLES, STAR_TABLES, TABLES
from sparkify.sources import Source, check_source
from sparkify.staging.reader import JsonReader
from sparkify.staging.results import drop_result
from sparkify.staging.rules import DEFAULT_RULES, RecordRules
from sparkify.warehouse.base import Warehouse
from sparkify.warehouse.duckdb import parser_errors
from sparkify.wording import plural

__all__ = [
    "STEPS",
    "FilePlan",
    "LoadOptions",
    "NoProgress",
    "Progress",
    "RunReport",
    "StageReport",
    "check",
    "create_tables",
    "refuse_foreign_tables",
    "require_star",
    "require_tables",
    "run",
    "stage",
    "statements",
    "transform",
    "with_retries",
]
"""The public names: the steps, their reports, the progress interface and what the CLI uses."""

RETRIES = 3
"""How many times a transaction that failed transiently (lost connection, serialization failure) is
tried again, after 0.5 s, 1 s, 2 s. Terminal errors are never retried."""

RETRY_DELAY = 0.5


class LoadOptions(TypedDict, total=False):
    """The keyword arguments of :func:`stage` and :func:`run` (each optional)."""

    max_errors: int
    """Rejected records tolerated (default 0): above it, :class:`BadInputError` and nothing changes."""
    full_refresh: bool
    """Reload every file in the source, not only the new and changed ones."""
    prune: bool
    """Remove the rows of files loaded earlier and gone from the source (kept otherwise)."""
    progress: Progress | None
    """Told how reading and the transform advance (default: nothing is told)."""
    verify_content: bool
    """Compare each local file's checksum with the ledger's too, not only its mtime and size."""
    rules: RecordRules
    """The record rules (default :data:`DEFAULT_RULES`: see :mod:`sparkify.staging.rules`)."""


# -- steps ----------------------------------------------------------------------------------------


def create_tables(wh: Warehouse) -> list[str]:
    """Create the schema and every missing staging, star and bookkeeping table; return the table
    names created. Safe to run twice. Bookkeeping tables made by an earlier sparkify are upgraded
    in place (:func:`sparkify.ledger.upgrade`)."""
    return _create_tables(wh)[0]


def _create_tables(wh: Warehouse) -> tuple[list[str], list[str]]:
    """:func:`create_tables`, and what upgrading the bookkeeping tables did (empty: nothing to do)."""
    refuse_foreign_tables(wh)  # another application's `users` is never adopted, nor emptied
    wh.create_schema()
    created = []
    for table in (*STAGING_TABLES, *STAR_TABLES, *META_TABLES):
        if not wh.table_exists(table.name):
            wh.execute(wh.create_table_sql(table))
            created.append(table.name)
    wh.ensure_indexes((*STAGING_TABLES, *STAR_TABLES, *META_TABLES))  # also on tables made before an index
    upgraded: list[str] = []
    if LOAD_FILES.name in created:
        ledger.mark_current(wh)  # a new ledger is written in today's layout
    else:
        upgraded = ledger.upgrade(wh)  # one made by an earlier sparkify is upgraded in place
    return [name for name in created if name != LOAD_SCHEMA.name or LOAD_FILES.name in created], upgraded


def stage(wh: Warehouse, source: str | Path | Source, **options: Unpack[LoadOptions]) -> StageReport:
    """Load the source's new and changed files into the staging tables, in one transaction.

    Every record is either staged or rejected by the record rules (``rules``: see
    :mod:`sparkify.staging.rules`). When more than ``max_errors`` records are rejected, raises
    :class:`BadInputError` naming up to ten of them, and no table changes. Files loaded earlier and
    gone from the source keep their rows unless ``prune``. Raises SourceError naming the place,
    changing nothing, when a kind has no file in the source.
    """
    with interrupts.watching():
        return _load(wh, source, command="stage", **options)[1]


def transform(wh: Warehouse, *, progress: Progress | None = None) -> dict[str, int]:
    """Rebuild every star table from the staging tables, in one transaction. Returns row counts.

    Running it twice on the same staging rows leaves every table identical.
    """
    _require_tables(wh, [t.name for t in (*STAGING_TABLES, *STAR_TABLES)])
    refuse_foreign_tables(wh)

    def rebuild() -> None:
        with wh.transaction():
            _transform(wh, progress or NoProgress())

    with interrupts.watching():
        with_retries(wh, rebuild)
    interrupts.note_done("the star tables were rebuilt")
    return _count_star(wh)


def with_retries(
    wh: Warehouse,
    transaction,
    *,
    retries: int = RETRIES,
    delay: float = RETRY_DELAY,
    committed: Callable[[], bool] | None = None,
):
    """Run ``transaction`` (a function that does one whole transaction); when it fails with a
    :class:`TransientWarehouseError`, reconnect and run it again, up to ``retries`` more times with
    exponential backoff. Any other error propagates at once.

    ``committed`` (asked after reconnecting) says whether the failed attempt did commit after all --
    a connection lost just after the server committed: then it is not run again, and None returns.
    """
    for attempt in range(retries + 1):
        try:
            return transaction()
        except TransientWarehouseError:
            if attempt == retries:
                raise
            time.sleep(delay * 2**attempt)
            wh.reconnect()
            if committed is not None and committed():
                return None


def check(wh: Warehouse, *, scoped: bool = False) -> list[quality.CheckResult]:
    """Run every quality check; return the results. ``scoped``: confined to the rows of the
    incremental run this connection just made (see :func:`sparkify.quality.checks`)."""
    _require_tables(wh, [t.name for t in (*STAGING_TABLES, *STAR_TABLES)])
    if not scoped:  # a run's own checks follow its own validation of the tables
        refuse_foreign_tables(wh)  # a table altered by hand: named, not "33 of 33 passed" or a raw error
    return _run_checks(wh, scoped)


def _run_checks(wh: Warehouse, scoped: bool) -> list[quality.CheckResult]:
    """The quality checks on tables already known to be there and sparkify's (:func:`check`)."""
    with interrupts.watching():
        return quality.run_checks(wh, scoped=True) if scoped else quality.run_checks(wh)


def run(wh: Warehouse, source: str | Path | Source, **options: Unpack[LoadOptions]) -> RunReport:
    """Create missing tables, stage what is new, rebuild the star schema, check it.

    Staging and the star tables are published together in one transaction; the checks run on the
    published tables. Raises on bad input or a source with no song or no log file (nothing changes);
    returns the check results. ``prune`` and ``full_refresh`` are as in :func:`stage`.
    """
    started = time.perf_counter()
    # checked before anything is created
    wh.refuse_source(source)  # Redshift and a local folder: a ConfigError before anything is made
    src: str | Source = (
        (_open(source) if hasattr(source, "list") else s3_prefix(wh, source))
        if wh.copies_from_s3
        else _open(source)
    )
    if not isinstance(src, str):
        check_source(src)  # a missing folder creates no table and records no run
    created, upgraded = _create_tables(wh)
    with interrupts.watching():
        load_id, stage_report, rows = _load(
            wh, src, command="run", transform=True, incremental=not created, upgraded=upgraded, **options
        )
    description = src if isinstance(src, str) else src.description
    report = RunReport(
        source=description, warehouse=wh.display_url, load_id=load_id, created=created, schema=wh.schema
    )
    report.stage = stage_report
    report.rows = rows
    try:
        # after an incremental run, the checks of the rows it made; its temp tables are gone
        # after a reconnect (a retried publish), and then every row is checked
        report.checks_scoped = bool(stage_report.incremental and _scope_left(wh))
        report.checks = _run_checks(wh, report.checks_scoped)  # the load validated the tables
        ledger.set_checks_failed(wh, load_id, len(report.checks_failed))
        interrupts.note_done(f"load {load_id} was committed and checked")
    except Interrupted as exc:
        exc.committed = load_id  # the load stands; only the checks were cut short
        raise
    except TransientWarehouseError as exc:
        raise ChecksNotRun(
            f"Loaded (load id {load_id}); the checks did not run: {str(exc).rstrip('.')}. "
            "Run `sparkify check` to run them."
        ) from exc
    report.seconds = time.perf_counter() - started
    return report


# -- internals ------------------------------------------------------------------------------------


def _load(
    wh: Warehouse,
    source: str | Path | Source,
    *,
    command: str,
    max_errors: int = 0,
    full_refresh: bool = False,
    progress: Progress | None = None,
    transform: bool = False,
    prune: bool = False,
    verify_content: bool = False,
    rules: RecordRules = DEFAULT_RULES,
    incremental: bool = False,
    upgraded: list[str] | None = None,
) -> tuple[str, StageReport, dict[str, int]]:
    """Stage (and with ``transform``, transform) in one transaction. ``incremental``: the transform
    may update the star tables from the changed rows, when nothing says they are out of step.
    ``upgraded``: what the caller's upgrade of the bookkeeping tables did, for the report."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    wh.refuse_source(source)
    if wh.copies_from_s3 and not hasattr(source, "list"):
        source = s3_prefix(wh, source)  # Redshift: the staged rows go through S3, beside the source
    src = _open(source)
    wh.prepare_load(src)
    # bookkeeping made by an earlier sparkify: in place, before anything is read
    upgraded = [*(upgraded or []), *ledger.upgrade(wh)]
    _require_tables(
        wh,
        [t.name for t in (*STAGING_TABLES, *META_TABLES)],
        next_step=CREATE_FIRST,
    )
    refuse_foreign_tables(wh, upgraded=True)
    wh.ensure_indexes(STAGING_TABLES)  # a warehouse made before an index gets it (PostgreSQL)
    report = StageReport(load_id=uuid.uuid4().hex, upgraded=upgraded)
    run_row = {
        "load_id": report.load_id,
        "command": command,
        "status": "running",
        "started_at": _now(),
        "source": src.description,
        "full_refresh": full_refresh,
        "prune": prune,
    }
    reader_con = wh.reader_connection()
    rows: dict[str, int] = {}
    try:
        with scratch_dir("spool") as spool:
            # 1. list every place first (a wrong place fails before anything is read), then read
            #    and check everything before writing anything
            for kind in KINDS:
                report.plans[kind] = _plan(wh, src, kind, full_refresh, prune, verify_content, rules)
            _refuse_implicit_source(src, report.plans)
            for kind in KINDS:
                plan = report.plans[kind]
                task = f"stage {kind}"
                progress.start(task, len(plan.to_read))
                reader = JsonReader(
                    reader_con,
                    Path(spool) / kind,
                    progress=functools.partial(progress.advance, task),
                    rules=rules,
                )
                began = time.perf_counter()
                with spool_errors(Path(spool)), parser_errors(wh.duckdb_config):
                    report.results[kind] = reader.read(kind, src, plan.to_read, f"sparkify_read_{kind}")
                plan.hold_emptied(report.results[kind])
                report.read_seconds[kind] = time.perf_counter() - began
                progress.finish(task)
            rejects = report.rejects
            if len(rejects) > max_errors:
                raise BadInputError(_rejects_message(rejects, max_errors))
            report.incremental = (
                transform
                and incremental
                and not wh.merges_star_rows
                and not any(p.full_refresh for p in report.plans.values())
                and _star_matches_staging(wh)
            )

            # 2. publish in one transaction
            def publish() -> None:
                with wh.transaction():
                    if report.incremental:
                        _start_changes(wh)
                    for kind in KINDS:
                        _publish_kind(wh, reader_con, Path(spool), report, kind, capture=report.incremental)
                    if transform:  # a full rebuild when it costs less than the increment
                        report.incremental = _transform(wh, progress, report.incremental)
                    run_row.update(_accounting(report), status="succeeded", finished_at=_now())
                    ledger.insert_run(wh, run_row)

            with_retries(wh, publish, committed=lambda: ledger.run_status(wh, report.load_id) is not None)
            # what stands if a signal comes now (the staging row counts below, the checks after)
            interrupts.note_done(committed_note(report.load_id, command))
    except BaseException as exc:
        # DuckDB turns a signal into its own error (RuntimeError: Query interrupted, INTERRUPT Error):
        # it is an interrupt, also a library caller's Ctrl-C that no sparkify handler saw
        interrupted = None if isinstance(exc, KeyboardInterrupt) else interrupts.driver_interrupt(exc)
        _record_outcome(wh, run_row, report, interrupted or exc)
        report.seconds = time.perf_counter() - started
        for failure in (exc, interrupted):  # what it read and rejected, for the caller's report
            if failure is not None and getattr(failure, "stage_report", None) is None:
                setattr(failure, "stage_report", report)  # noqa: B010 -- any exception, no such attribute declared
        if interrupted is not None:
            raise interrupted from exc
        raise
    finally:
        for kind in KINDS:
            with contextlib.suppress(Exception):
                drop_result(reader_con, f"sparkify_read_{kind}")
    for kind in KINDS:
        _, result = wh.query(f"select count(*) from {wh.qualified(STAGING_OF[kind])}")
        report.rows[STAGING_OF[kind]] = int(result[0][0])
    if transform:
        rows = _count_star(wh)
    report.seconds = time.perf_counter() - started
    return report.load_id, report, rows


def _refuse_implicit_source(src: Source, plans: dict[str, FilePlan]) -> None:
    """Raise ConfigError, before anything is read, when no setting named the source (the default:
    the shipped sample, ``src.implicit``) and the warehouse holds files loaded from elsewhere -- a
    scheduled job that lost its ``--source`` (a changed working folder, an unset SPARKIFY_SOURCE)
    would otherwise mix the demo data into it."""
    if not getattr(src, "implicit", False):
        return
    gone = [name for plan in plans.values() for name in plan.absent if name not in plan.emptied]
    if gone:
        raise ConfigError(
            f"No source was given, so the source is the shipped sample ({src.description}); but this "
            f"warehouse holds {plural(len(gone), 'file')} loaded from elsewhere (such as {gone[0]}). "
            "Nothing was changed. Pass --source (or set SPARKIFY_SOURCE) naming this warehouse's source."
        )


def _transform(wh: Warehouse, progress: Progress, incremental: bool = False) -> bool:
    """Rebuild the star tables from all of staging, or with ``incremental`` update them from the rows
    this run changed (:func:`_transform_incremental`) unless a rebuild costs less. Inside the caller's
    transaction. Returns True when the update was incremental."""
    if incremental and _transform_incremental(wh, progress):
        return True
    progress.start("transform", len(STAR_TABLES))
    for name, group in transform_steps(wh):
        for statement in group:
            wh.execute(statement)
        if name in TABLES:
            progress.advance("transform")
    progress.finish("transform")
    return False
