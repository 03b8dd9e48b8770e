"""The bookkeeping tables -- ``load_runs``, ``load_files``, ``load_errors`` -- read and written here.

Every query on them lives in this module; the pipeline and the report call it. The one exception is
staging's bulk insert of a run's ``load_files`` and ``load_errors`` rows through the reader's DuckDB
(``pipeline.publish._insert_many``), which is a bulk load, not a query.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkify.schema import LOAD_ERRORS, LOAD_FILES, LOAD_RUNS, LOAD_SCHEMA, Column, Table
from sparkify.warehouse.base import Warehouse, quote

RUN_COLUMNS = (
    "load_id",
    "command",
    "status",
    "started_at",
    "finished_at",
    "source",
    "full_refresh",
    "prune",
    "files_listed",
    "files_loaded",
    "files_removed",
    "songs_read",
    "events_read",
    "songs_staged",
    "events_staged",
    "songs_rejected",
    "events_rejected",
    "unknown_fields",
    "checks_failed",
    "message",
)
"""The columns of ``load_runs`` that :func:`recent_runs` returns, in order (``sparkify runs --json``:
each run's ``*_read == *_staged + *_rejected`` when it succeeded; a failed run staged nothing)."""


def recent_runs(
    wh: Warehouse, limit: int = 10, *, fields: Sequence[str] = RUN_COLUMNS
) -> list[dict[str, Any]]:
    """The newest ``limit`` rows of ``load_runs``, newest first, as dicts of ``fields`` (default
    :data:`RUN_COLUMNS`; ``started_at`` and ``finished_at`` among them) plus ``seconds`` (finished -
    started, None while running); ``unknown_fields`` as a dict (record key -> records holding it).
    A column the table does not have yet (made by an earlier sparkify, not upgraded until its next
    load) is None. Raises MissingTableError when the table
    does not exist."""
    have = set(columns(wh, LOAD_RUNS.name))
    present = [c for c in fields if c in have]
    cols = ", ".join(quote(c) for c in present)
    _, rows = wh.query(
        f"select {cols} from {wh.qualified(LOAD_RUNS.name)} order by {quote('started_at')} desc, "
        f"{quote('finished_at')} desc limit {int(limit)}"
    )
    out = []
    for row in rows:
        run = dict.fromkeys(fields) | dict(zip(present, row))
        unknown = run.get("unknown_fields")
        if isinstance(unknown, str):  # kept as JSON text: {key: records holding it}
            run["unknown_fields"] = json.loads(unknown)
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
        insert_run(wh, row)


def insert_run(wh: Warehouse, row: dict[str, Any]) -> None:
    """Insert one ``load_runs`` row (columns of schema.LOAD_RUNS) in the open transaction."""
    wh.insert_row(LOAD_RUNS, row)


def succeeded_runs(wh: Warehouse) -> int | None:
    """How many runs ``load_runs`` records as succeeded; None when there is no such table (tables
    made by other means than sparkify)."""
    if not wh.table_exists(LOAD_RUNS.name):
        return None
    _, rows = wh.query(
        f"select count(*) from {wh.qualified(LOAD_RUNS.name)} where {quote('status')} = {wh.param}",
        ["succeeded"],
    )
    return int(rows[0][0])


def last_succeeded_command(wh: Warehouse) -> str | None:
    """The command (``run``, ``stage``, ...) of the newest succeeded run, or None when none succeeded."""
    _, rows = wh.query(
        f"select {quote('command')} from {wh.qualified(LOAD_RUNS.name)} where {quote('status')} = 'succeeded' "
        f"order by {quote('started_at')} desc limit 1"
    )
    return str(rows[0][0]) if rows else None


def files_of_load(wh: Warehouse, load_id: str) -> dict[str, int]:
    """Kind -> how many ledger entries run ``load_id`` wrote (the files it read that no later run
    read again); empty when there is no ``load_files`` table."""
    if not wh.table_exists(LOAD_FILES.name):
        return {}
    _, rows = wh.query(
        f"select {quote('kind')}, count(*) from {wh.qualified(LOAD_FILES.name)} "
        f"where {quote('load_id')} = {wh.param} group by 1",
        [load_id],
    )
    return {str(kind): int(n) for kind, n in rows}


def rejects(wh: Warehouse, load_id: str, limit: int) -> list[tuple[str, int | None, str | None, str]]:
    """The first ``limit`` records run ``load_id`` rejected, as (source file, line, field or None,
    reason), by file and line; empty when there is no ``load_errors`` table."""
    if not wh.table_exists(LOAD_ERRORS.name):
        return []
    _, rows = wh.query(
        f"select {quote('source')}, {quote('line')}, {quote('field')}, {quote('reason')} "
        f"from {wh.qualified(LOAD_ERRORS.name)} where {quote('load_id')} = {wh.param} "
        f"order by {quote('source')}, {quote('line')} limit {int(limit)}",
        [load_id],
    )
    return [(str(src), line, fld, str(reason)) for src, line, fld, reason in rows]


def record_error(wh: Warehouse, row: dict[str, Any]) -> None:
    """Insert one ``load_errors`` row (columns of schema.LOAD_ERRORS) in the open transaction."""
    wh.insert_row(LOAD_ERRORS, row)


# -- load_files: which file version is in staging, with how many rows --------------------------------


@dataclass(frozen=True)
class FileEntry:
    """One ``load_files`` row: a file whose records are in staging."""

    file: str
    """Its canonical name (see :func:`canonical`)."""
    version: str
    """mtime (local) or ETag (S3) when it was loaded."""
    records_staged: int
    """How many staging rows it has."""
    size: int
    """Bytes, when it was loaded."""
    content_hash: str | None
    """``sha256:<hex>`` with ``--verify-content``, else None."""
    rules: str | None = None
    """The settings its records were typed under (:meth:`RecordRules.applied`); None for a file of a
    kind no setting applies to, or loaded before layout 5 (then: the default settings)."""


def entries(wh: Warehouse, kind: str) -> list[FileEntry]:
    """The ledger's files of ``kind`` (``songs``/``events``), in no particular order."""
    _, rows = wh.query(
        f"select {quote('file')}, {quote('version')}, {quote('records_staged')}, {quote('size')}, "
        f"{quote('content_hash')}, {quote('rules')} from {wh.qualified(LOAD_FILES.name)} "
        f"where {quote('kind')} = {wh.param}",
        [kind],
    )
    return [FileEntry(f, v, int(n or 0), size, h, r) for f, v, n, size, h, r in rows]


def record_file(wh: Warehouse, row: dict[str, Any]) -> None:
    """Insert one ``load_files`` row (columns of schema.LOAD_FILES) in the open transaction."""
    wh.insert_row(LOAD_FILES, row)


def forget_kind(wh: Warehouse, kind: str) -> None:
    """Delete every ledger entry of ``kind`` (a full refresh reloads them all)."""
    wh.execute(f"delete from {wh.qualified(LOAD_FILES.name)} where {quote('kind')} = {wh.param}", [kind])


def forget_files(wh: Warehouse, files: list[str]) -> None:
    """Delete the ledger entries of ``files`` (about to be reloaded, or gone from the source)."""
    wh.delete_where_in(LOAD_FILES, "file", files)


def keep_only(wh: Warehouse, kind: str, kept: list[str]) -> None:
    """Delete every entry of ``kind`` but those of ``kept`` (not empty): a repair keeps these."""
    wh.delete_where_not_in(LOAD_FILES, "file", kept, kind=kind)


def recount(wh: Warehouse, kind: str, staged: dict[str, int]) -> None:
    """Make the entries of ``kind`` count the staging rows ``staged`` says each file has (file ->
    rows); an entry whose file has none is deleted."""
    for entry in entries(wh, kind):
        now = staged.get(entry.file, 0)
        if now == 0:
            wh.execute(
                f"delete from {wh.qualified(LOAD_FILES.name)} where {quote('kind')} = {wh.param} "
                f"and {quote('file')} = {wh.param}",
                [kind, entry.file],
            )
        elif now != entry.records_staged:
            wh.execute(
                f"update {wh.qualified(LOAD_FILES.name)} set {quote('records_staged')} = {wh.param} "
                f"where {quote('kind')} = {wh.param} and {quote('file')} = {wh.param}",
                [now, kind, entry.file],
            )


def set_checks_failed(wh: Warehouse, load_id: str, failed: int) -> None:
    """Note how many checks failed after the run ``load_id``."""
    wh.execute(
        f"update {wh.qualified(LOAD_RUNS.name)} set {quote('checks_failed')} = {wh.param} "
        f"where {quote('load_id')} = {wh.param}",
        [failed, load_id],
    )


# -- the layout's version, and upgrades in place -----------------------------------------------------

SCHEMA_VERSION = 5
"""The layout of the bookkeeping tables this code writes.

1. (no ``load_schema`` table) ``load_files`` keyed by the path as typed.
2. ``load_files.file`` is the canonical location (resolved absolute path, ``s3://bucket/key``), as are
   ``staging_*.source_file`` and ``load_errors.source``; ``load_files.content_hash`` (``--verify-content``).
3. As 2, and a file reached through a symbolic link is keyed by its resolved path too (2 kept the
   link's path for a file under a linked folder): the upgrade canonicalises the keys again.
4. As 3, and ``load_runs`` says whether a run pruned (``prune``) and how many files' rows it removed
   (``files_removed``).
5. As 4, and ``load_files.rules`` records the settings a file's records were typed under (``ts_min``,
   ``ts_max``), so a file loaded under others is read again; empty in rows from before (taken as the
   default settings, which is what nearly every earlier run used).
"""


def canonical(location: str, cwd: Path | None = None) -> str:
    """The one name of a file however it was spelled: ``s3://`` URIs as they are; local paths with
    ``~`` expanded, made absolute (against ``cwd``, default the working directory) and resolved
    (symbolic links, ``..``)."""
    if location.startswith("s3://"):
        return location
    path = Path(os.path.expanduser(location))
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    return os.path.realpath(path)


def version(wh: Warehouse) -> int | None:
    """The layout version of ``wh``'s bookkeeping tables; None when there are none yet."""
    if not wh.table_exists(LOAD_FILES.name):
        return None
    if not wh.table_exists(LOAD_SCHEMA.name):
        return 1
    _, rows = wh.query(f"select max({quote('version')}) from {wh.qualified(LOAD_SCHEMA.name)}")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 1


def upgrade(wh: Warehouse, *, cwd: Path | None = None) -> list[str]:
    """Bring bookkeeping tables made by an earlier sparkify to :data:`SCHEMA_VERSION`, in place and
    in one transaction; return what was done (empty when nothing was needed). Never reloads,
    duplicates or drops a loaded file: ledger keys are canonicalised together with the
    ``source_file`` of their staged rows, so the next run finds them already loaded.

    Relative ledger keys are resolved against ``cwd`` (default: the working directory); one that
    names no file there is left as it is (the file is then seen as new, and its old rows leave with
    its old key). Raises ConfigError when the tables were made by a newer sparkify.
    """
    from sparkify.errors import ConfigError

    found = version(wh)
    if found is None or found == SCHEMA_VERSION:
        return []
    if found > SCHEMA_VERSION:
        raise ConfigError(
            f"The bookkeeping tables of {wh.display_url} have layout version {found}, made by a newer sparkify "
            f"(this one writes {SCHEMA_VERSION}). Upgrade sparkify: pip install -U sparkify."
        )
    done: list[str] = []
    with wh.transaction():
        for table in (LOAD_FILES, LOAD_RUNS):  # columns added since version 1, empty in old rows
            have = columns(wh, table.name)
            for column in table.columns:
                if column.name not in have:
                    wh.execute(
                        f"alter table {wh.qualified(table.name)} add column {quote(column.name)} "
                        f"{wh.type_map[column.type]}"
                    )
                    done.append(f"{table.name}.{column.name} added")
        renamed, dropped = _canonicalise_keys(wh, cwd)
        if renamed:
            done.append(f"{renamed} ledger keys canonicalised")
        if dropped:
            done.append(f"{dropped} duplicate ledger entries removed")
        if not wh.table_exists(LOAD_SCHEMA.name):
            wh.execute(wh.create_table_sql(LOAD_SCHEMA))
        wh.insert_row(LOAD_SCHEMA, {"version": SCHEMA_VERSION, "upgraded_at": _now()})
    return done


def mark_current(wh: Warehouse) -> None:
    """Record :data:`SCHEMA_VERSION` in freshly created bookkeeping tables (nothing to upgrade)."""
    _, rows = wh.query(f"select count(*) from {wh.qualified(LOAD_SCHEMA.name)}")
    if not int(rows[0][0]):
        wh.insert_row(LOAD_SCHEMA, {"version": SCHEMA_VERSION, "upgraded_at": _now()})


def columns(wh: Warehouse, table: str) -> list[str]:
    """The column names of ``table``."""
    cols, _ = wh.query(f"select * from {wh.qualified(table)} limit 0")
    return cols


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _canonicalise_keys(wh: Warehouse, cwd: Path | None) -> tuple[int, int]:
    """Rename every ledger key (and the staged rows' ``source_file``) to its canonical form; where two
    keys name one file, keep the newer load. Returns (keys renamed, duplicates removed)."""
    from sparkify.schema import STAGING_TABLES

    _, rows = wh.query(
        f"select {quote('file')}, {quote('loaded_at')} from {wh.qualified(LOAD_FILES.name)} "
        f"order by {quote('loaded_at')} desc, {quote('file')}"
    )
    target: dict[str, str] = {}  # canonical key -> the ledger key kept for it (the newest load)
    stale: list[str] = []
    mapping: list[tuple[str, str]] = []
    for file, _ in rows:
        key = canonical(file, cwd)
        if not key.startswith("s3://") and not os.path.exists(key):
            key = file  # nothing there to name it by: leave it
        if key in target:
            stale.append(file)
            continue
        target[key] = file
        if key != file:
            mapping.append((file, key))
    staging = [t for t in STAGING_TABLES]
    if stale:
        for table in staging:
            wh.delete_where_in(table, "source_file", stale)
        wh.delete_where_in(LOAD_FILES, "file", stale)
    if mapping:
        keymap = Table(
            "load_key_map", (Column("old", "text", True), Column("new", "text", True)), kind="meta"
        )
        wh.execute(wh.create_table_sql(keymap))
        for old, new in mapping:
            wh.insert_row(keymap, {"old": old, "new": new})
        m = wh.qualified(keymap.name)
        renames = [(t.name, "source_file") for t in staging]
        renames += [(LOAD_FILES.name, "file"), (LOAD_ERRORS.name, "source")]
        for name, column in renames:
            wh.execute(
                f"update {wh.qualified(name)} set {quote(column)} = {m}.{quote('new')} from {m} "
                f"where {wh.qualified(name)}.{quote(column)} = {m}.{quote('old')}"
            )
        wh.execute(f"drop table {m}")
    return len(mapping), len(stale)
