"""Publishing a load, inside its one transaction: each kind's staging rows and ledger entries
replaced (:func:`_publish_kind`), the rejects and the run's accounting written, and the outcome of a
failed run recorded. Also the one-line errors for too many rejects and a full spool folder.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from sparkify import interrupts, ledger
from sparkify.errors import (
    Interrupted,
    LocalIOError,
)
from sparkify.pipeline.incremental import _capture_changes
from sparkify.pipeline.plan import KINDS, STAGING_OF, StageReport, _now
from sparkify.quoting import literal
from sparkify.schema import (
    LOAD_ERRORS,
    LOAD_FILES,
    TABLES,
    Table,
)
from sparkify.staging.framing import RAW_TEXT_LIMIT
from sparkify.staging.results import Reject
from sparkify.staging.spool import DUCKDB_TYPE
from sparkify.warehouse.base import Warehouse, quote
from sparkify.warehouse.duckdb import parser_errors
from sparkify.wording import one_line, plural

SHOWN_REJECTS = 10
"""How many rejected records an error message lists."""


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
        # Only a file loaded before has staging rows and a ledger entry: a new file (a first load's
        # every file, a day's new one) has nothing to remove, and no statement is sent for it.
        replaced = [n for n in [f.name for f in plan.to_read] + plan.removed if n in plan.ledger_rows]
        if capture:
            _capture_changes(wh, kind, replaced)
        wh.delete_where_in(staging, "source_file", replaced)
        ledger.forget_files(wh, replaced)
    if result.staged:
        # into an empty table, the secondary indexes are built once over the loaded rows (PostgreSQL)
        before, after = wh.load_into_empty_sql(staging) if plan.starts_empty else ([], [])
        for statement in before:
            wh.execute(statement)
        wh.insert_from_reader(staging, reader_con, result.table)
        for statement in after:
            wh.execute(statement)
        if capture:
            _capture_changes(wh, kind, [f.name for f in plan.to_read])
    now = _now()
    recorded = list(plan.to_read)
    if plan.prune:  # a held file pruned now (only whitespace, every record rejected) and still there:
        # its entry says what it holds now, so the next run finds it loaded, not new (tester finding)
        gone, read = set(plan.removed), {f.name for f in plan.to_read}
        recorded += [
            f for f in plan.listed if f.name in gone and f.name in result.files and f.name not in read
        ]
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
            "rules": plan.rules,
        }
        for f in recorded
    ]
    _insert_many(wh, reader_con, spool, LOAD_FILES, files)
    _insert_many(wh, reader_con, spool, LOAD_ERRORS, _error_rows(report, kind))


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
    with parser_errors(wh.duckdb_config):
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
        "files_removed": sum(len(p.removed) for p in report.plans.values()),
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
    # the whole message on one line (the rejected records it lists included), at most 1000 characters
    message = one_line(str(exc))[:1000] or type(exc).__name__
    if isinstance(exc, Interrupted):
        message = f"{exc.name} received"
    row = dict(run_row)
    row.update(_accounting(report), status=status, finished_at=_now(), message=message)
    # Rolled back: nothing it read stayed. What it read and rejected is kept (why it failed).
    row.update(files_loaded=0, files_removed=0, **{f"{kind}_staged": 0 for kind in KINDS})
    with interrupts.deferred():
        for attempt in range(2):
            try:
                if ledger.run_status(wh, load_id) is not None:
                    if isinstance(exc, Interrupted):
                        exc.committed = load_id
                    interrupts.note_done(committed_note(load_id, run_row["command"]))
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
    more = (
        f"\n  ... and {len(rejects) - SHOWN_REJECTS} more (--json lists every one)"
        if len(rejects) > SHOWN_REJECTS
        else ""
    )
    allowed = "no rejected records are allowed" if max_errors == 0 else f"at most {max_errors} allowed"
    return (
        f"{plural(len(rejects), 'input record')} could not be loaded ({allowed}); nothing was changed:\n"
        f"{shown}{more}\n"
        f"Fix the input, or pass --max-errors {len(rejects)} (or more) to load the rest and record these "
        "as rejected."
    )


def committed_note(load_id: str, command: str) -> str:
    """What stands once a load committed, for the line a later signal ends the command with
    (:func:`sparkify.interrupts.note_done`): ``load <id> was committed``, and for ``run``, whose checks
    come next, that they did not run."""
    checks = "; the checks did not run (`sparkify check` runs them)" if command == "run" else ""
    return f"load {load_id} was committed{checks}"
