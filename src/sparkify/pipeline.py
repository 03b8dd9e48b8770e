"""The steps in order -- create tables, stage, transform, check -- and their transactions.

This module imports no database driver and prints nothing: it talks to a :class:`Warehouse` and
reports through return values and an optional progress callback.

Staging is incremental: the load ledger (``load_files``) records every file whose records are in
staging, with its version (mtime or ETag). A run reads only files that are new or changed, replaces
the rows of changed files. ``run`` then updates the star tables in place from the rows that changed
(incremental transform, :func:`_transform_incremental`) when the star tables are known to match
staging (the last successful load was a ``run``); otherwise, and on a full refresh, it rebuilds them
from all of staging. Both give the same tables.

History is never lost by accident: a file loaded earlier and no longer in the source (a scheduler
pointing at today's folder, a day archived away) keeps its rows and its ledger entry, and the plan
counts it (:attr:`FilePlan.absent`). So does a file loaded earlier that is still there but holds no
record now -- zero bytes, or only whitespace (:attr:`FilePlan.emptied`): an export that failed is the
same accident. Only ``prune=True`` removes such files' rows. ``full_refresh=True``
reloads every file in the source; files absent from it keep their rows then too, unless ``prune``.
So the star schema equals what a full refresh of (the source + the kept files) would build.

Atomicity: files are read and checked before anything is written; then staging, the ledger, the
rejects, the star tables and the run's accounting change in one transaction. A failure anywhere
(bad input, a killed process, a lost connection) leaves every table as the last successful run left it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from sparkify import interrupts, ledger, quality
from sparkify.errors import (
    BadInputError,
    ChecksNotRun,
    ConfigError,
    Interrupted,
    LocalIOError,
    MissingTableError,
    TransientWarehouseError,
)
from sparkify.quoting import literal
from sparkify.schema import (
    FILE_KINDS,
    LOAD_ERRORS,
    LOAD_FILES,
    LOAD_SCHEMA,
    META_TABLES,
    STAGING_TABLES,
    STAR_TABLES,
    TABLES,
    Table,
)
from sparkify.sources import Kind, Source, SourceFile, open_source
from sparkify.sql import INCREMENTAL_SCOPE
from sparkify.staging.framing import RAW_TEXT_LIMIT
from sparkify.staging.reader import JsonReader
from sparkify.staging.results import ReadResult, Reject, drop_result
from sparkify.staging.rules import DEFAULT_RULES, RecordRules
from sparkify.staging.spool import DUCKDB_TYPE
from sparkify.warehouse.base import Warehouse, quote
from sparkify.wording import agree, plural

SHOWN_REJECTS = 10
"""How many rejected records an error message lists."""

RETRIES = 3
"""How many times a transaction that failed transiently (lost connection, serialization failure) is
tried again, after 0.5 s, 1 s, 2 s. Terminal errors are never retried."""

RETRY_DELAY = 0.5

KINDS = cast("tuple[Kind, ...]", tuple(FILE_KINDS))
STAGING_OF = {name: kind.staging.name for name, kind in FILE_KINDS.items()}

STEPS = ("create-tables", "stage", "transform", "check")
"""The steps of a run, in order; ``sparkify sql STEP`` prints the statements of each."""


class Progress(Protocol):
    """Where the pipeline reports progress on long work. The CLI draws bars or plain lines."""

    def start(self, task: str, total: int | None) -> None: ...

    def advance(self, task: str, amount: int = 1, nbytes: int = 0) -> None: ...

    def finish(self, task: str) -> None: ...


class NoProgress:
    def start(self, task: str, total: int | None) -> None:
        pass

    def advance(self, task: str, amount: int = 1, nbytes: int = 0) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


@dataclass
class FilePlan:
    """What staging does with one kind of file on this run."""

    kind: str
    listed: list[SourceFile]
    """The files in the source (a :class:`~sparkify.sources.Listing`: it also counts what it passed over)."""
    to_read: list[SourceFile]
    new: int = 0
    changed: int = 0
    absent: list[str] = field(default_factory=list)
    """Files in the ledger (loaded by an earlier run) that are no longer in the source."""
    absent_rows: int = 0
    """Staging rows of the :attr:`absent` files, as the ledger counts them."""
    emptied: list[str] = field(default_factory=list)
    """The :attr:`absent` files that are still in the source but hold no record now: zero bytes, or
    only whitespace (an export that failed). Kept or pruned like a file gone from the source."""
    emptied_rows: int = 0
    """Staging rows of the :attr:`emptied` files, as the ledger counts them."""
    ledger_rows: dict[str, int] = field(default_factory=dict, repr=False)
    """File -> the staging rows its ledger entry counts (files loaded earlier)."""
    prune: bool = False
    """True: the absent files' rows leave staging. False: they stay."""
    full_refresh: bool = False
    hashes: dict[str, str] = field(default_factory=dict)
    """With --verify-content: file -> ``sha256:<hex>`` of its bytes, recorded in the ledger."""
    repair: bool = False
    """True when staging did not hold the rows the ledger says (rows deleted by hand, an UNLOGGED table
    emptied by a crash): every file in the source is reloaded, as with ``full_refresh``."""

    @property
    def unchanged(self) -> int:
        held = set(self.emptied).intersection(f.name for f in self.listed) if self.emptied else ()
        return len(self.listed) - len(self.to_read) - len(held)

    def hold_emptied(self, result: ReadResult) -> None:
        """After reading: a file loaded earlier (with staged rows) that now holds no record -- only
        whitespace -- is the same accident as a zero-byte file. It leaves :attr:`to_read` and joins
        :attr:`absent` and :attr:`emptied`: its rows and ledger entry stay unless ``prune``."""
        held = [
            f
            for f in self.to_read
            if self.ledger_rows.get(f.name, 0) > 0
            and f.name in result.files
            and result.files[f.name].read == 0
        ]
        if not held:
            return
        names = {f.name for f in held}
        self.to_read = [f for f in self.to_read if f.name not in names]
        rows = sum(self.ledger_rows[n] for n in names)
        self.absent = sorted({*self.absent, *names})
        self.emptied = sorted({*self.emptied, *names})
        self.absent_rows += rows
        self.emptied_rows += rows
        if self.full_refresh:
            self.new -= len(held)
        else:
            self.changed -= len(held)

    def history_summary(self) -> str | None:
        """What happens to the files loaded earlier and no longer in the source or now empty, one line
        each; None if there are none. ``events: 1 file loaded earlier is now empty: its 15 records are
        kept (pass --prune to remove them)``; ``events: --prune removed 1 file no longer in the source,
        and its 15 records``."""
        lines = []
        gone, gone_rows = len(self.absent) - len(self.emptied), self.absent_rows - self.emptied_rows
        for n, rows, what in (
            (gone, gone_rows, "no longer in the source"),
            (len(self.emptied), self.emptied_rows, "now empty"),
        ):
            if not n:
                continue
            its, records = ("its" if n == 1 else "their"), plural(rows, "record")
            if self.prune:
                lines.append(f"{self.kind}: --prune removed {plural(n, 'file')} {what}, and {its} {records}")
            else:
                lines.append(
                    f"{self.kind}: {plural(n, 'file')} loaded earlier {agree(n, 'is', 'are')} {what}: "
                    f"{its} {records} {agree(rows, 'is', 'are')} kept "
                    f"(pass --prune to remove {agree(rows, 'it', 'them')})"
                )
        return "\n".join(lines) or None

    @property
    def removed(self) -> list[str]:
        """The absent files whose rows this run removes (only with ``prune``)."""
        return self.absent if self.prune else []

    @property
    def kept(self) -> list[str]:
        """The absent files whose rows stay in staging (without ``prune``)."""
        return [] if self.prune else self.absent

    @property
    def bytes_to_read(self) -> int:
        """Bytes of the files this run reads (as stored: compressed files count compressed)."""
        return sum(f.size for f in self.to_read)


@dataclass
class StageReport:
    """What staging read and loaded, per kind of file."""

    load_id: str = ""
    plans: dict[str, FilePlan] = field(default_factory=dict)
    results: dict[str, ReadResult] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows now in each staging table."""
    read_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds spent reading and checking each kind of file."""
    seconds: float = 0.0
    incremental: bool = False
    """True when the run's transform updated the star tables from the changed rows only."""

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

    @property
    def unknown_fields(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results.values():
            for k, n in r.unknown_fields.items():
                out[k] = out.get(k, 0) + n
        return out


@dataclass
class RunReport:
    source: str
    warehouse: str
    load_id: str = ""
    created: list[str] = field(default_factory=list)
    stage: StageReport | None = None
    rows: dict[str, int] = field(default_factory=dict)
    """Rows in each star table after the transform."""
    checks: list[quality.CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    schema: str | None = None
    """The database schema the tables are in (PostgreSQL, Redshift); None for DuckDB."""

    @property
    def checks_failed(self) -> list[quality.CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def destination(self) -> str:
        """Where the run loaded, for people: ``postgresql://me@host/db (schema sparkify)``."""
        return f"{self.warehouse} (schema {self.schema})" if self.schema else self.warehouse


# -- steps ----------------------------------------------------------------------------------------


def create_tables(wh: Warehouse) -> list[str]:
    """Create the schema and every missing staging, star and bookkeeping table; return the table
    names created. Safe to run twice."""
    wh.create_schema()
    created = []
    for table in (*STAGING_TABLES, *STAR_TABLES, *META_TABLES):
        if not wh.table_exists(table.name):
            wh.execute(wh.create_table_sql(table))
            created.append(table.name)
    if LOAD_FILES.name in created:
        ledger.mark_current(wh)  # a new ledger is written in today's layout
    else:
        ledger.upgrade(wh)  # one made by an earlier sparkify is upgraded in place
    return [name for name in created if name != LOAD_SCHEMA.name or LOAD_FILES.name in created]


def stage(
    wh: Warehouse,
    source: str | Path | Source,
    *,
    max_errors: int = 0,
    full_refresh: bool = False,
    prune: bool = False,
    progress: Progress | None = None,
    verify_content: bool = False,
    rules: RecordRules = DEFAULT_RULES,
) -> StageReport:
    """Load the source's new and changed files into the staging tables, in one transaction.

    Every record is either staged or rejected by the record rules (``rules``: see
    :mod:`sparkify.staging.rules`). When more than ``max_errors`` records are rejected, raises
    :class:`BadInputError` naming up to ten of them, and no table changes. Files loaded earlier and
    gone from the source keep their rows unless ``prune``. Raises SourceError naming the place,
    changing nothing, when a kind has no file in the source.
    """
    return _load(
        wh,
        source,
        max_errors=max_errors,
        full_refresh=full_refresh,
        prune=prune,
        progress=progress,
        command="stage",
        rules=rules,
        verify_content=verify_content,
    )[1]


def transform(wh: Warehouse, *, progress: Progress | None = None) -> dict[str, int]:
    """Rebuild every star table from the staging tables, in one transaction. Returns row counts.

    Running it twice on the same staging rows leaves every table identical.
    """
    _require_tables(wh, [t.name for t in (*STAGING_TABLES, *STAR_TABLES)])

    def rebuild() -> None:
        with wh.transaction():
            _transform(wh, progress or NoProgress())

    with_retries(wh, rebuild)
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
    return quality.run_checks(wh, scoped=True) if scoped else quality.run_checks(wh)


def run(
    wh: Warehouse,
    source: str | Path | Source,
    *,
    max_errors: int = 0,
    full_refresh: bool = False,
    prune: bool = False,
    progress: Progress | None = None,
    verify_content: bool = False,
    rules: RecordRules = DEFAULT_RULES,
) -> RunReport:
    """Create missing tables, stage what is new, rebuild the star schema, check it.

    Staging and the star tables are published together in one transaction; the checks run on the
    published tables. Raises on bad input or a source with no song or no log file (nothing changes);
    returns the check results. ``prune`` and ``full_refresh`` are as in :func:`stage`.
    """
    started = time.perf_counter()
    # checked before anything is created
    src: str | Source = (
        (_open(source) if hasattr(source, "list") else s3_prefix(wh, source))
        if wh.copies_from_s3
        else _open(source)
    )
    created = create_tables(wh)
    load_id, stage_report, rows = _load(
        wh,
        src,
        max_errors=max_errors,
        full_refresh=full_refresh,
        prune=prune,
        progress=progress,
        command="run",
        transform=True,
        rules=rules,
        verify_content=verify_content,
        incremental=not created,
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
        report.checks = check(wh, scoped=stage_report.incremental and _scope_left(wh))
        ledger.set_checks_failed(wh, load_id, len(report.checks_failed))
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


def _open(source: str | Path | Source) -> Source:
    """``source`` itself when it lists files already (a Source), else the source its location names."""
    return cast(Source, source) if hasattr(source, "list") else open_source(source)


RUN_FIRST = "Run `sparkify run` first."
"""The next step when a warehouse holds no loaded tables: `run` creates *and* loads them
(`create-tables` alone would leave them empty)."""


def _require_tables(wh: Warehouse, names, *, next_step: str = RUN_FIRST) -> None:
    """Raise :class:`MissingTableError` naming the missing tables and what to do: pass ``--schema``
    when the tables exist in another schema, else ``next_step``."""
    missing = [n for n in names if not wh.table_exists(n)]
    if missing:
        raise MissingTableError(
            f"Table {', '.join(missing)} does not exist in {wh.display_url}"
            f"{f' (schema {wh.schema})' if wh.schema else ''}. {elsewhere_hint(wh, missing) or next_step}"
        )


require_tables = _require_tables


def require_star(wh: Warehouse) -> None:
    """Raise :class:`MissingTableError` (saying what to do) unless every star table exists and
    something was ever loaded into them: for commands that only read them (check, analytics,
    report). Tables made by ``create-tables`` alone are empty, and their checks would pass."""
    _require_tables(wh, [t.name for t in STAR_TABLES])
    succeeded = ledger.succeeded_runs(wh)
    if succeeded is None or succeeded:
        return  # made by other means (nothing to tell), or loaded
    if all(int(wh.query(f"select count(*) from {wh.qualified(t.name)}")[1][0][0]) == 0 for t in STAR_TABLES):
        raise MissingTableError(
            f"The tables in {wh.display_url}{f' (schema {wh.schema})' if wh.schema else ''} are empty: nothing was "
            f"ever loaded into them. {RUN_FIRST}"
        )


def elsewhere_hint(wh: Warehouse, missing: list[str]) -> str | None:
    """``Found the tables in schema 'sparkify': pass --schema sparkify.`` when another schema holds
    every missing table, else None."""
    schemas = [s for s in wh.schemas_holding(missing) if s != wh.schema]
    if not schemas:
        return None
    if len(schemas) == 1:
        return f"Found the tables in schema {schemas[0]!r}: pass --schema {schemas[0]}."
    shown = ", ".join(repr(s) for s in schemas[:5]) + (
        f" and {len(schemas) - 5} more" if len(schemas) > 5 else ""
    )
    return f"Found the tables in schemas {shown}: pass --schema with the one you mean."


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _plan(
    wh: Warehouse,
    src: Source,
    kind: Kind,
    full_refresh: bool,
    prune: bool = False,
    verify_content: bool = False,
) -> FilePlan:
    """Which files of ``kind`` this run reads, and what it does with files gone from the source.

    A file is read when it is new or changed: another version (mtime, ETag) or size than its ledger
    entry, or with ``verify_content`` another checksum (:func:`is_changed`)."""
    listed = src.list(kind)
    entries = ledger.entries(wh, kind)
    known_files = {
        e.file: (e.version, e.size, e.content_hash) for e in entries
    }  # file -> (version, size, hash)
    known_rows = {e.file: int(e.records_staged or 0) for e in entries}
    names = {f.name for f in listed}
    absent = sorted(n for n in known_files if n not in names)
    absent_rows = sum(known_rows[n] for n in absent)
    zero_bytes = set(getattr(listed, "empty", ()))
    emptied = [n for n in absent if n in zero_bytes]  # still there, but zero bytes now
    emptied_rows = sum(known_rows[n] for n in emptied)
    repair = False
    if not full_refresh:
        # Staging must hold exactly the rows the ledger says it does; if not (rows deleted by hand,
        # an UNLOGGED table emptied by a server crash), trust nothing and reload every file.
        _, staged = wh.query(f"select count(*) from {wh.qualified(STAGING_OF[kind])}")
        expected = sum(e.records_staged for e in entries)
        if int(staged[0][0]) != expected:
            full_refresh = repair = True
    hashes = {f.name: content_hash(f) for f in listed if f.path is not None} if verify_content else {}
    if full_refresh:
        return FilePlan(
            kind,
            listed,
            list(listed),
            new=len(listed),
            absent=absent,
            absent_rows=absent_rows,
            prune=prune,
            full_refresh=True,
            repair=repair,
            hashes=hashes,
            emptied=emptied,
            emptied_rows=emptied_rows,
            ledger_rows=known_rows,
        )
    plan = FilePlan(kind, listed, [], absent=absent, absent_rows=absent_rows, prune=prune, hashes=hashes)
    plan.emptied, plan.emptied_rows, plan.ledger_rows = emptied, emptied_rows, known_rows
    for f in listed:
        known = known_files.get(f.name)
        if known is None:
            plan.new += 1
            plan.to_read.append(f)
        elif is_changed(known, f, hashes.get(f.name)):
            plan.changed += 1
            plan.to_read.append(f)
    return plan


def is_changed(known: tuple, f: SourceFile, digest: str | None) -> bool:
    """Whether a file differs from its ledger entry ``(version, size, content_hash)``: another
    version (mtime, ETag) or another size -- a corrected file copied with its timestamp kept
    (``cp -p``, ``rsync -t``, ``tar x``) mostly changes size -- or, with ``--verify-content``
    (``digest`` given), another checksum or none recorded yet."""
    version, size, recorded = known
    if version != f.version or (size is not None and int(size) != f.size):
        return True
    return digest is not None and digest != recorded


def content_hash(f: SourceFile) -> str:
    """``sha256:<hex>`` of a local file's bytes as stored (``--verify-content``)."""
    import hashlib

    digest = hashlib.sha256()
    assert f.path is not None  # only local files are hashed
    with open(f.path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _load(
    wh: Warehouse,
    source: str | Path | Source,
    *,
    max_errors: int,
    full_refresh: bool,
    progress: Progress | None,
    command: str,
    transform: bool = False,
    prune: bool = False,
    verify_content: bool = False,
    rules: RecordRules = DEFAULT_RULES,
    incremental: bool = False,
) -> tuple[str, StageReport, dict[str, int]]:
    """Stage (and with ``transform``, transform) in one transaction. ``incremental``: the transform
    may update the star tables from the changed rows, when nothing says they are out of step."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    if wh.copies_from_s3 and not hasattr(source, "list"):
        source = s3_prefix(wh, source)  # Redshift: the staged rows go through S3, beside the source
    src = _open(source)
    wh.prepare_load(src)
    ledger.upgrade(wh)  # bookkeeping made by an earlier sparkify: in place, before anything is read
    _require_tables(
        wh,
        [t.name for t in (*STAGING_TABLES, *META_TABLES)],
        next_step="Run `sparkify create-tables` first (or `sparkify run`, which also loads).",
    )
    report = StageReport(load_id=uuid.uuid4().hex)
    run_row = {
        "load_id": report.load_id,
        "command": command,
        "status": "running",
        "started_at": _now(),
        "source": src.description,
        "full_refresh": full_refresh,
    }
    reader_con = wh.reader_connection()
    rows: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="sparkify-spool-") as spool:
            # 1. list every place first (a wrong place fails before anything is read), then read
            #    and check everything before writing anything
            for kind in KINDS:
                report.plans[kind] = _plan(wh, src, kind, full_refresh, prune, verify_content)
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
                with spool_errors(Path(spool)):
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
                    if transform:
                        _transform(wh, progress, report.incremental)
                    run_row.update(_accounting(report), status="succeeded", finished_at=_now())
                    ledger.insert_run(wh, run_row)

            with_retries(wh, publish, committed=lambda: ledger.run_status(wh, report.load_id) is not None)
    except BaseException as exc:
        # DuckDB turns a signal into its own error (RuntimeError: Query interrupted): it is an interrupt
        interrupted = None if isinstance(exc, KeyboardInterrupt) else interrupts.pending()
        _record_outcome(wh, run_row, report, interrupted or exc)
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


@contextlib.contextmanager
def spool_errors(spool: Path):
    """Turn a failed write into the spool folder (a full disk, a quota) into one line naming the
    folder and the fix, :class:`LocalIOError` (exit 74). Errors that name another file pass."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None and not str(exc.filename).startswith(str(spool)):
            raise
        raise LocalIOError(
            f"Cannot write the spool folder {spool}: {exc.strerror or exc}. Set TMPDIR to a folder on a disk "
            "with room for about the size of the input, then run again; nothing was changed."
        ) from exc


def _publish_kind(
    wh: Warehouse, reader_con, spool: Path, report: StageReport, kind: str, *, capture: bool = False
) -> None:
    """Replace the staging rows and ledger entries of the files this run read (and, with prune, of
    the files gone from the source). Files gone from the source keep their rows otherwise.

    ``capture``: note the key columns of the rows removed and added in ``sparkify_changed_<kind>``
    (see :func:`_start_changes`) for the incremental transform. Only for a plan without full refresh."""
    plan, result = report.plans[kind], report.results[kind]
    staging = TABLES[STAGING_OF[kind]]
    if plan.full_refresh and plan.kept:
        # Everything but the kept files' rows goes (rows of no ledger entry too), then their ledger
        # entries are made to count what staging really holds: after a repair, some may be gone.
        wh.delete_where_not_in(staging, "source_file", plan.kept)
        ledger.keep_only(wh, kind, plan.kept)
        _recount_kept(wh, staging, kind)
    elif plan.full_refresh:
        wh.execute(f"delete from {wh.qualified(staging.name)}")
        ledger.forget_kind(wh, kind)
    else:
        replaced = [f.name for f in plan.to_read] + plan.removed
        if capture:
            _capture_changes(wh, kind, replaced)
        wh.delete_where_in(staging, "source_file", replaced)
        ledger.forget_files(wh, replaced)
    if result.staged:
        wh.insert_from_reader(staging, reader_con, result.table)
        if capture:
            _capture_changes(wh, kind, [f.name for f in plan.to_read])
    now = _now()
    files = [
        {
            "file": f.name,
            "kind": kind,
            "size": f.size,
            "version": f.version,
            "records_read": result.files[f.name].read,
            "records_staged": result.files[f.name].staged,
            "records_rejected": result.files[f.name].rejected,
            "load_id": report.load_id,
            "loaded_at": now,
            "content_hash": plan.hashes.get(f.name),
        }
        for f in plan.to_read
    ]
    _insert_many(wh, reader_con, spool, LOAD_FILES, files)
    _insert_many(wh, reader_con, spool, LOAD_ERRORS, _error_rows(report, kind))


CHANGED_COLUMNS = {
    "events": ("user_id", "session_id", "item_in_session", "ts", "page"),
    "songs": ("song_id", "artist_id", "title", "artist_name", "duration"),
}
"""The staging columns the incremental transform needs of each changed row: what a star row is keyed
or matched on (see sql/default/scope_*.sql)."""

SCOPES = ("since", "users", "songs", "artists", "songplays", "time")
"""The temp tables ``sparkify_scope_<name>`` an incremental transform fills (``scope_<name>.sql``)."""


def _star_matches_staging(wh: Warehouse) -> bool:
    """True when the star tables were last built from staging as it is now: the last successful load
    was a ``run`` (a ``stage`` alone changes staging and leaves the star tables behind)."""
    return ledger.last_succeeded_command(wh) == "run"


def _start_changes(wh: Warehouse) -> None:
    """Create the empty temp tables ``sparkify_changed_events`` and ``sparkify_changed_songs`` (the
    :data:`CHANGED_COLUMNS` of staging). Created inside the run's transaction: a rollback drops them."""
    for kind in KINDS:
        name = f"sparkify_changed_{kind}"
        wh.execute(f"drop table if exists {name}")
        cols = ", ".join(quote(c) for c in CHANGED_COLUMNS[kind])
        wh.execute(
            f"create temp table {name} as select {cols} from {wh.qualified(STAGING_OF[kind])} where 1 = 0"
        )


def _capture_changes(wh: Warehouse, kind: str, files: list[str]) -> None:
    """Copy the :data:`CHANGED_COLUMNS` of the staging rows of ``files`` into ``sparkify_changed_<kind>``."""
    cols = ", ".join(quote(c) for c in CHANGED_COLUMNS[kind])
    for i in range(0, len(files), 500):
        chunk = files[i : i + 500]
        marks = ", ".join([wh.param] * len(chunk))
        wh.execute(
            f"insert into sparkify_changed_{kind} select {cols} from {wh.qualified(STAGING_OF[kind])} "
            f"where {quote('source_file')} in ({marks})",
            chunk,
        )


def _transform_incremental(wh: Warehouse, progress: Progress) -> None:
    """Update the star tables in place from the staging rows this run added or removed (noted by
    :func:`_capture_changes`); the result equals :func:`_transform`'s rebuild.

    Each table deletes the rows a change can reach and inserts them again with its own
    ``insert_<table>.sql``, read over the scope temp tables instead of all of staging: users, songs
    and artists by key; songplays and time from the earliest instant a change can reach, ids numbered
    after the plays kept. Cost follows the changed rows plus one scan of staging_events."""
    progress.start("transform", len(STAR_TABLES))
    for kind in KINDS:
        _analyze_temp(wh, f"sparkify_changed_{kind}")
    _fill_scope(wh, "since")
    for table in STAR_TABLES:
        _fill_scope(wh, table.name)
        wh.execute(wh.statement(f"delete_{table.name}"))
        scope = dict(INCREMENTAL_SCOPE)
        if table.name == "songplays":
            _, kept = wh.query(f"select count(*) from {wh.qualified(table.name)}")
            scope["id_offset"] = str(int(kept[0][0]))
        wh.execute(wh.statement(f"insert_{table.name}", scope))
        progress.advance("transform")
    for name in SCOPES:  # what the scoped checks read stays until they ran (quality.SCOPE_TABLES)
        if f"sparkify_scope_{name}" not in quality.SCOPE_TABLES:
            wh.execute(f"drop table if exists sparkify_scope_{name}")
    for statement in (s for s in (wh.analyze_sql(t.name) for t in STAR_TABLES) if s):
        wh.execute(statement)
    progress.finish("transform")


def _scope_left(wh: Warehouse) -> bool:
    """True when this connection still holds the temp tables an incremental transform left for
    the scoped checks."""
    try:
        for table in quality.SCOPE_TABLES:
            wh.query(f"select count(*) from {table}")
    except MissingTableError:
        return False
    return True


def _fill_scope(wh: Warehouse, name: str) -> None:
    """(Re)create the temp table ``sparkify_scope_<name>`` with ``scope_<name>.sql``."""
    wh.execute(f"drop table if exists sparkify_scope_{name}")
    wh.execute(wh.statement(f"scope_{name}"))
    _analyze_temp(wh, f"sparkify_scope_{name}")


def _analyze_temp(wh: Warehouse, name: str) -> None:
    """Give the planner the row count of a fresh temp table (engines that analyze): without it
    PostgreSQL guesses, and a wrong guess turns a hash join into a nested loop."""
    if wh.analyze_sql(name):
        wh.execute(f"analyze {name}")


def _recount_kept(wh: Warehouse, staging: Table, kind: str) -> None:
    """Make the ledger entries of the kept files count the staging rows they still have (dropping
    those with none), so the staging-vs-ledger check holds after a repair. Staging holds only the
    kept files' rows when this runs."""
    _, rows = wh.query(
        f"select {quote('source_file')}, count(*) from {wh.qualified(staging.name)} group by 1"
    )
    ledger.recount(wh, kind, {file: int(n) for file, n in rows})


def _error_rows(report: StageReport, kind: str) -> list[dict]:
    """The load_errors rows of the run's rejected records of one kind."""
    return [
        {
            "load_id": report.load_id,
            "source": r.source,
            "line": r.line,
            "field": r.field,
            "reason": r.reason,
            "raw_text": r.raw[:RAW_TEXT_LIMIT],
        }
        for r in report.results[kind].rejects
    ]


def _insert_many(wh: Warehouse, reader_con, spool: Path, table: Table, rows: list[dict]) -> None:
    """Insert many rows through the reader's DuckDB (one bulk load, whatever the engine)."""
    if not rows:
        return
    path = spool / f"{table.name}.ndjson"
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    columns = ", ".join(f"{literal(c.name)}: '{DUCKDB_TYPE[c.type]}'" for c in table.columns)
    relation = f"sparkify_rows_{table.name}"
    reader_con.execute(
        f"create or replace temp table {relation} as select * from read_json("
        f"{literal(str(path))}, columns = {{{columns}}}, format = 'newline_delimited')"
    )
    try:
        wh.insert_from_reader(table, reader_con, relation)
    finally:
        reader_con.execute(f"drop table if exists {relation}")


def _accounting(report: StageReport) -> dict:
    out: dict = {
        "files_listed": sum(len(p.listed) for p in report.plans.values()),
        "files_loaded": sum(len(p.to_read) for p in report.plans.values()),
        "unknown_fields": json.dumps(report.unknown_fields, sort_keys=True)
        if report.unknown_fields
        else None,
    }
    for kind in KINDS:
        r = report.results.get(kind)
        out[f"{kind}_read"] = r.read if r else 0
        out[f"{kind}_staged"] = r.staged if r else 0
        out[f"{kind}_rejected"] = r.rejected if r else 0
    return out


def _record_outcome(wh: Warehouse, run_row: dict, report: StageReport, exc: BaseException) -> None:
    """Note in load_runs how the run ended -- ``interrupted`` (a signal) or ``failed`` -- unless its
    transaction committed after all (a signal or a lost connection during the commit): then the
    committed ``succeeded`` row is the one truthful outcome, and an :class:`Interrupted` learns the
    load id it committed. Best effort (the warehouse may be unreachable); never masks ``exc``."""
    load_id = run_row["load_id"]
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    message = (str(exc).splitlines() or [type(exc).__name__])[0][:1000]
    if isinstance(exc, Interrupted):
        message = f"{exc.name} received"
    row = dict(run_row)
    row.update(_accounting(report), status=status, finished_at=_now(), message=message)
    with interrupts.deferred():
        for attempt in range(2):
            try:
                if ledger.run_status(wh, load_id) is not None:
                    if isinstance(exc, Interrupted):
                        exc.committed = load_id
                    return
                ledger.record_run(wh, row)
                return
            except BaseException:
                # word for the signal already being handled: once more on a fresh one; the caller
                # re-raises the error that matters (exc)
                if attempt:
                    return
                try:
                    wh.reconnect()
                except BaseException:
                    return


def _rejects_message(rejects: list[Reject], max_errors: int) -> str:
    shown = "\n".join(f"  {r}" for r in rejects[:SHOWN_REJECTS])
    more = f"\n  ... and {len(rejects) - SHOWN_REJECTS} more" if len(rejects) > SHOWN_REJECTS else ""
    allowed = "no rejected records are allowed" if max_errors == 0 else f"at most {max_errors} allowed"
    return (
        f"{len(rejects)} input records could not be loaded ({allowed}); nothing was changed:\n"
        f"{shown}{more}\n"
        f"Fix the input, or pass --max-errors N to load the rest and record these as rejected."
    )


def _transform(wh: Warehouse, progress: Progress, incremental: bool = False) -> None:
    """Rebuild the star tables from all of staging, or with ``incremental`` update them from the rows
    this run changed (:func:`_transform_incremental`). Inside the caller's transaction."""
    if incremental:
        _transform_incremental(wh, progress)
        return
    progress.start("transform", len(STAR_TABLES))
    for name, group in transform_steps(wh):
        for statement in group:
            wh.execute(statement)
        if name in TABLES:
            progress.advance("transform")
    progress.finish("transform")


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
        return ([schema_sql] if schema_sql else []) + [
            wh.create_table_sql(t) for t in (*STAGING_TABLES, *STAR_TABLES, *META_TABLES)
        ]
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
