"""Redshift staging: the rows the record rules accepted on this machine, COPYed from S3.

The reader (:class:`~sparkify.staging.reader.JsonReader`) has already framed, checked and typed every
record, exactly as for the other engines; what reaches this module is a DuckDB relation with the
staging table's columns, lineage (``source_file``) included. :func:`copy_staged` sends it:

1. DuckDB writes the rows as JSON lines, gzipped, keys = column names, into parts of at most
   :data:`PART_BYTES` (compressed) in a temporary folder. DuckDB's JSON writer gives every double
   back bit for bit (shortest round-trip text) and escapes what JSON must escape.
2. The parts go to ``<staging prefix>/<id>-<table>/part_N.json.gz``, and a manifest naming them
   (``mandatory``, with ``content_length``) to ``<staging prefix>/<id>-<table>.manifest``.
3. ``COPY <table> (<every column>) FROM '<manifest>' IAM_ROLE ... FORMAT AS JSON 'auto' MANIFEST
   GZIP`` -- no MAXERROR: a value the rules accepted and Redshift refuses is a fault to report, not
   a record to drop.
4. The rows loaded are cross-checked: ``pg_last_copy_count()`` against the rows written, and the
   lines COPY scanned per part -- ``STL_LOAD_COMMITS`` on provisioned clusters, ``SYS_LOAD_DETAIL`` on
   Serverless (which keeps no STL views) -- against the lines of each part.
5. The parts and the manifest are deleted, whether the COPY succeeded or not.

https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html
https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_DETAIL.html
"""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from sparkify.errors import WarehouseError
from sparkify.files import scratch_dir
from sparkify.quoting import literal
from sparkify.schema import Table
from sparkify.warehouse.base import quote

if TYPE_CHECKING:
    from sparkify.warehouse.redshift import RedshiftWarehouse

PART_BYTES = 128 << 20
"""The largest staged part (gzipped bytes). AWS advises files of 1 MB to 1 GB after compression,
several per COPY so that every slice loads one: https://docs.aws.amazon.com/redshift/latest/dg/t_splitting-data-files.html"""

SHOWN_LOAD_ERRORS = 10
"""How many rows of the load-error view a failed COPY reports."""

ROLE_PLACEHOLDER = "<--iam-role ARN>"
"""Stands for the IAM role in statements rendered without one (``sparkify sql``)."""

NAME_CHARS = 256
"""How much of a file name STL_LOAD_COMMITS and SYS_LOAD_DETAIL keep (CHAR(256))."""

PLACEHOLDER_ROOT = "s3://<staging prefix>"
"""Stands for the staging prefix in statements rendered for review (``sparkify sql``) when neither
``manifest_prefix`` nor an ``s3://`` source tells it."""

RANDOM_ID = "<random id>"
"""Stands for the random hex id that starts a run's manifest name, in statements rendered for review."""


def default_root(bucket: str, prefix: str) -> str:
    """The staging prefix of a source at ``s3://bucket/prefix`` when no ``manifest_prefix`` is set."""
    return f"s3://{bucket}/{prefix}".rstrip("/") + "/_sparkify/manifests"


def staging_root(wh: RedshiftWarehouse, source) -> str:
    """Where staged parts and manifests go: ``manifest_prefix``, else ``<source>/_sparkify/manifests``."""
    return wh.manifest_prefix or default_root(source.bucket, source.prefix)


def shown_manifest(wh: RedshiftWarehouse, table: Table) -> str:
    """``table``'s manifest as ``sparkify sql`` shows it (named as :func:`copy_staged` names it):
    under ``manifest_prefix``, or the staging prefix of the source it was told
    (:attr:`RedshiftWarehouse.shown_root`), else a placeholder."""
    root = wh.manifest_prefix or wh.shown_root or PLACEHOLDER_ROOT
    return f"{root}/{RANDOM_ID}-{table.name}.manifest"


def copy_sql(wh: RedshiftWarehouse, table: Table, manifest: str) -> str:
    """The ``COPY`` of the staged parts that ``manifest`` names into staging ``table``: every column,
    the lineage column included, matched by name (``'auto'``)."""
    cols = ", ".join(quote(c) for c in table.column_names)
    lines = [
        f"-- {table.name}: the rows the record rules accepted on this machine, typed and with their lineage, "
        "staged as gzipped JSON lines",
        f"copy {wh.qualified(table.name)} ({cols})",
        f"from {literal(manifest)}",
        f"iam_role {literal(wh.iam_role or ROLE_PLACEHOLDER)}",
    ]
    if wh.region:
        lines.append(f"region {literal(wh.region)}")
    # the staging tables are refilled on every run: no compression analysis, no statistics update
    lines += ["format as json 'auto'", "manifest", "gzip", "compupdate off statupdate off"]
    return "\n".join(lines)


def write_parts(reader_con, table: Table, relation: str, folder: Path) -> list[tuple[Path, int]]:
    """Write DuckDB ``relation`` (``table``'s columns) as gzipped JSON lines into ``folder``, in parts of
    at most :data:`PART_BYTES`; return each part's path and number of lines (= rows), in name order."""
    cols = ", ".join(quote(c) for c in table.column_names)
    target = str(folder).replace("'", "''")
    reader_con.execute(
        f"copy (select {cols} from {relation}) to '{target}' (format json, compression gzip, "
        f"file_size_bytes {PART_BYTES}, filename_pattern 'part_{{i}}', file_extension 'json.gz')"
    )
    parts = []
    for path in sorted(folder.glob("part_*.json.gz")):
        lines = 0
        with gzip.open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                lines += block.count(b"\n")
        parts.append((path, lines))
    return parts


def copy_staged(wh: RedshiftWarehouse, source, table: Table, reader_con, relation: str) -> int:
    """Append DuckDB ``relation`` to staging ``table`` through S3 and one COPY (see the module
    docstring); return the rows loaded. Raises WarehouseError when the COPY fails or its counts
    disagree with the rows written; SourceError when S3 refuses a write."""
    from sparkify.sources.s3 import delete_object, write_object

    base = f"{staging_root(wh, source)}/{uuid.uuid4().hex}-{table.name}"
    manifest = base + ".manifest"
    written: list[str] = []
    try:
        with scratch_dir("redshift") as tmp:
            parts = write_parts(reader_con, table, relation, Path(tmp) / "parts")
            lines = {}
            entries = []
            for path, n in parts:
                uri = f"{base}/{path.name}"
                body = path.read_bytes()
                write_object(source, uri, body)
                written.append(uri)
                lines[uri] = n
                entries.append({"url": uri, "mandatory": True, "meta": {"content_length": len(body)}})
        write_object(source, manifest, json.dumps({"entries": entries}, indent=1).encode())
        written.append(manifest)
        loaded = wh.copy_from_s3(table, manifest)
        check_counts(wh, table, lines, loaded)
        return loaded
    finally:
        for uri in written:
            delete_object(source, uri)


def run_copy(wh: RedshiftWarehouse, table: Table, manifest: str) -> int:
    """Run the COPY of ``manifest`` into ``table``; return ``pg_last_copy_count()``."""
    statement = copy_sql(wh, table, manifest)
    if wh.tracer:
        wh.tracer(statement)
    try:
        with wh._cursor() as cur:
            cur.execute(statement)
    except wh._driver_errors() as exc:
        wh._rollback()  # an aborted transaction answers no query, not even STL_LOAD_ERRORS
        raise copy_failed(wh, table, exc) from exc
    _, rows = wh.query("select pg_last_copy_count()")
    return int(rows[0][0])


def counts_sql(serverless: bool) -> str:
    """Lines scanned per object by this session's last COPY: (object URI, lines)."""
    if serverless:
        return (
            "select trim(file_name), sum(lines_scanned) from sys_load_detail "
            "where query_id = pg_last_copy_id() group by 1"
        )
    return (
        "select trim(filename), sum(lines_scanned) from stl_load_commits "
        "where query = pg_last_copy_id() group by 1"
    )


def check_counts(wh: RedshiftWarehouse, table: Table, lines: dict[str, int], loaded: int) -> None:
    """WarehouseError unless the COPY loaded every row written, part by part."""
    written = sum(lines.values())
    _, rows = wh.query(counts_sql(wh.is_serverless))
    # the views keep a file name in CHAR(256): a long staging prefix's part URIs come back cut, so
    # both sides are keyed by their first 256 characters (parts cut alike are counted together)
    by_key: dict[str, int] = {}
    for uri, n in lines.items():
        by_key[uri[:NAME_CHARS]] = by_key.get(uri[:NAME_CHARS], 0) + n
    scanned: dict[str, int] = {}
    for name, n in rows:
        key = str(name)[:NAME_CHARS]
        scanned[key] = scanned.get(key, 0) + int(n)
    view = "SYS_LOAD_DETAIL" if wh.is_serverless else "STL_LOAD_COMMITS"
    if loaded != written or scanned != by_key:
        differ = sorted(u for u in set(by_key) | set(scanned) if by_key.get(u) != scanned.get(u))
        shown = ", ".join(f"{u}: {by_key.get(u, 0)} written, {scanned.get(u, 0)} scanned" for u in differ[:3])
        what = (
            f"Redshift loaded {loaded} rows into {table.name} of the {written} sparkify staged"
            if loaded != written
            else f"Redshift's per-file counts of the COPY into {table.name} differ from what sparkify staged"
        )
        raise WarehouseError(what + (f" ({view}: {shown})" if shown else "") + "; nothing was changed.")


def load_errors_sql(serverless: bool, *, latest_failed: bool) -> str:
    """The query that lists the load errors of this session's last COPY: file, line, column, reason.

    Provisioned clusters keep them in STL_LOAD_ERRORS, Serverless in SYS_LOAD_ERROR_DETAIL. After a
    failed COPY the errors of this session's latest load are read (the COPY did not complete, so
    pg_last_copy_id() may not name it)."""
    if serverless:
        latest = "(select max(query_id) from sys_load_error_detail where session_id = pg_backend_pid())"
        return (
            "select trim(file_name), line_number, trim(column_name), trim(error_message) "
            f"from sys_load_error_detail where query_id = {latest} "
            "order by file_name, line_number"
        )
    query = (
        "(select max(query) from stl_load_errors where session = pg_backend_pid())"
        if latest_failed
        else "pg_last_copy_id()"
    )
    return (
        "select trim(filename), line_number, trim(colname), trim(err_reason) "
        f"from stl_load_errors where query = {query} order by filename, line_number"
    )


def copy_failed(wh: RedshiftWarehouse, table: Table, exc: BaseException) -> Exception:
    """The error for a failed COPY: the driver's (S3 access, a missing object, ...), or, when
    Redshift refused rows, its load errors -- a fault, since every row was checked first."""
    _, message = wh.error_details(exc)
    if "load_error" not in message.lower():
        # a refused row is "Load into table '...' failed. Check 'stl_load_errors' system table ..."
        return wh.error_for(exc)
    try:
        _, rows = wh.query(load_errors_sql(wh.is_serverless, latest_failed=True))
    except WarehouseError:
        rows = []
    if not rows:
        return wh.error_for(exc)
    shown = "\n".join(
        f"  {f}:{line}: " + (f"column {col}: " if col else "") + str(reason)
        for f, line, col, reason in rows[:SHOWN_LOAD_ERRORS]
    )
    more = f"\n  ... and {len(rows) - SHOWN_LOAD_ERRORS} more" if len(rows) > SHOWN_LOAD_ERRORS else ""
    view = "sys_load_error_detail" if wh.is_serverless else "stl_load_errors"
    return WarehouseError(
        f"Redshift refused rows of {table.name} that sparkify had checked; nothing was changed:\n"
        f"{shown}{more}\n(details: {view}; the staged objects are deleted). Please report this as a sparkify bug."
    )
