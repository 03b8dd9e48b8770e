"""Parse raw JSON files into typed staging rows, accounting for every record.

Parsing runs in DuckDB (its JSON reader, not row-by-row Python) for every warehouse engine: the DuckDB
engine keeps the rows, the server engines stream them out with COPY.

Two paths give the same rows:

* **fast path** -- DuckDB's ``read_json`` reads every file in one scan. Numeric fields are read as raw
  JSON so that a text ``ts`` or a fractional ``session_id`` is seen, not silently cast or rounded.
  Tens of thousands of tiny files (the song files) cost ``read_json`` a file open each, so files
  under :data:`SMALL_FILE` bytes are first concatenated into a few spool files.
* **precise path** -- when the fast path meets anything it does not accept (malformed JSON, a wrong
  type, a missing required field, invalid UTF-8, a huge line), each file is parsed line by line in
  Python, so every bad record is named by file, line, field and reason, and every good one is kept.

A record is one non-blank line of a file; a song file may instead hold one (pretty-printed) object.
For each file, ``read == staged + rejected``.
"""

from __future__ import annotations

import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from sparkify.schema import EVENT_REQUIRED, SONG_REQUIRED, STAGING_EVENTS, STAGING_SONGS, Table
from sparkify.interrupts import is_fatal, pending
from sparkify.sources import CorruptFileError, Kind, Source, SourceFile

SMALL_FILE = 1 << 20
"""Files smaller than this (bytes) are concatenated into spool files before DuckDB reads them."""

SPOOL_BATCH = 64 << 20
"""The size (bytes) at which a spool file is closed and another started."""

MAX_LINE_BYTES = 4 << 20
"""A record (line) longer than this is rejected rather than parsed."""

RAW_TEXT_LIMIT = 1000
"""How many characters of a rejected record's text are kept in the reject."""

INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}

DUCKDB_TYPE = {
    "text": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}
"""Logical column type (schema.py) -> the DuckDB type the reader parses into."""

DIGITS = re.compile(r"[0-9]{0,9}")
"""A userId is a string of digits (at most 9, so it fits an INTEGER) or empty (logged out)."""

TABLE_FOR: dict[str, Table] = {"events": STAGING_EVENTS, "songs": STAGING_SONGS}
REQUIRED: dict[str, tuple[str, ...]] = {"events": EVENT_REQUIRED, "songs": SONG_REQUIRED}


@dataclass(frozen=True)
class Reject:
    """One input record that could not be staged."""

    source: str
    line: int | None
    field: str | None
    reason: str
    raw: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        what = f"field {self.field!r}: " if self.field else ""
        return f"{where}: {what}{self.reason}"


@dataclass
class FileCount:
    read: int = 0
    staged: int = 0
    rejected: int = 0


@dataclass
class ReadResult:
    """What one read produced: a DuckDB table of typed rows and the accounting behind it."""

    kind: str
    table: str
    """The DuckDB table (in the reader's connection) holding the typed rows, staging columns."""
    files: dict[str, FileCount] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    unknown_fields: dict[str, int] = field(default_factory=dict)
    precise: bool = False
    """True when the precise (line by line) path was taken."""

    @property
    def read(self) -> int:
        return sum(c.read for c in self.files.values())

    @property
    def staged(self) -> int:
        return sum(c.staged for c in self.files.values())

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.files.values())


class JsonReader:
    """Reads one kind of file into a DuckDB table. ``con`` is any DuckDB connection."""

    def __init__(self, con, spool_dir: Path, progress: Callable[[int, int], None] | None = None):
        self.con = con
        self.spool_dir = Path(spool_dir)
        self._report = progress or (lambda files, nbytes: None)
        """Told (files, bytes) as files are read."""
        self._done = 0
        self._replay = 0

    def progress(self, files: list[SourceFile]) -> None:
        """Report ``files`` as read. When the precise path reads files again after the fast path
        gave up, the files already reported are not counted twice."""
        fresh = files
        if self._replay:
            skip = min(self._replay, len(files))
            self._replay -= skip
            fresh = files[skip:]
        if fresh:
            self._done += len(fresh)
            self._report(len(fresh), sum(f.size for f in fresh))

    # -- public -----------------------------------------------------------------------------------

    def read(self, kind: Kind, source: Source, files: list[SourceFile], table: str) -> ReadResult:
        """Read ``files`` into the DuckDB table ``table`` (replaced). Never drops a record."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._done = self._replay = 0
        result = self._fast(kind, source, files, table)
        if result is None:
            self._replay = self._done  # the precise path reads them again
            result = self._precise(kind, source, files, table)
        return result

    # -- fast path --------------------------------------------------------------------------------

    def _fast(self, kind, source, files, table) -> ReadResult | None:
        spec = TABLE_FOR[kind]
        direct = [f for f in files if _readable_in_place(f)]
        spooled = [f for f in files if not _readable_in_place(f)]
        counts: dict[str, FileCount] = {f.name: FileCount() for f in files}
        # path DuckDB reads -> (records Python counted in it or None if unknown, file it stands for)
        paths: dict[str, tuple[int | None, str | None]] = {str(f.path): (None, f.name) for f in direct}
        try:
            for path, members, whole in self._spool(kind, source, spooled):
                paths[str(path)] = (sum(n for _, n in members), whole)
                for name, n in members:
                    counts[name].read = n
        except CorruptFileError:
            return None
        if not paths:
            self._create_empty(spec, table)
            return ReadResult(kind, table, counts)

        # One scan parses every record and notes whether it has keys no column takes (schema
        # drift). Numeric fields stay raw JSON here so a text ts or a fractional id is seen, not
        # silently cast or rounded; they are checked and typed below.
        struct = json.dumps(
            {c.source: ("VARCHAR" if c.type == "text" else "JSON") for c in spec.record_columns} | {SOURCE_KEY: "VARCHAR"}
        )
        known = [c.source for c in spec.record_columns] + [SOURCE_KEY]
        raw = f"{table}__raw"
        drop_result(self.con, table)
        keep = False
        try:
            # Rows of concatenated tiny files carry their file in SOURCE_KEY; others are known by
            # the path DuckDB read.
            whole = [(p, name) for p, (_, name) in paths.items() if name is not None]
            mapping = " ".join(f"when {sql_string(p)} then {sql_string(n)}" for p, n in whole)
            source_expr = f'coalesce("{SOURCE_KEY}", case filename {mapping} end)' if whole else f'"{SOURCE_KEY}"'
            self.con.execute(
                f"create or replace temp table {raw} as "
                f"select *, coalesce({_fast_ok(kind)} and ({source_expr}) is not null, false) as {RECORD_OK} "
                f"from (select unnest(json_transform(json, {sql_string(struct)})), "
                f"list_has_all({_sql_list(known)}, json_keys(json)) as {KNOWN_KEYS}, "
                f"strlen(json) as {RECORD_BYTES}, filename "
                f"from read_json_objects({_sql_list(paths)}, format = 'newline_delimited', filename = true, "
                f"maximum_object_size = {MAX_LINE_BYTES}))"
            )
        except Exception as exc:  # a parse failure: the precise path names it  # noqa: BLE001
            if is_fatal(exc):  # an interrupt, no memory, an I/O error: not the input's fault
                raise pending() or exc
            return None
        try:
            bad = self.con.execute(f"select count(*) from {raw} where not {RECORD_OK}").fetchone()[0]
            if bad:
                return None
            per_file = dict(self.con.execute(f"select filename, count(*) from {raw} group by all").fetchall())
            for path, (expected, _) in paths.items():
                if expected is not None and per_file.get(path, 0) != expected:
                    return None  # a line held something other than one record: go line by line
            for f in direct:
                counts[f.name].read = per_file.get(str(f.path), 0)
            for c in counts.values():
                c.staged = c.read
            unknown = self._unknown_fields(kind, list(paths), raw)
            # A view, not a copy: the rows are typed once, on their way into the warehouse.
            select = ", ".join(_fast_cast(c) for c in spec.record_columns)
            self.con.execute(
                f"create or replace temp view {table} as select {select}, {source_expr} as source_file from {raw}"
            )
            keep = True
        finally:
            if not keep:
                self.con.execute(f"drop table if exists {raw}")
        self.progress(direct)
        return ReadResult(kind, table, counts, unknown_fields=unknown)

    def _unknown_fields(self, kind: str, paths: list[str], raw: str) -> dict[str, int]:
        """Keys of the records that no staging column takes: {key: records that have it}.
        The read noted which records have any; only when some do are the keys counted."""
        if not self.con.execute(f"select count(*) from {raw} where not {KNOWN_KEYS}").fetchone()[0]:
            return {}
        known = [c.source for c in TABLE_FOR[kind].record_columns] + [SOURCE_KEY]
        objects = f"read_json_objects({_sql_list(paths)}, format = 'newline_delimited', maximum_object_size = {MAX_LINE_BYTES})"
        rows = self.con.execute(
            f"select key, count(*) from (select unnest(json_keys(json)) as key from {objects}) "
            f"where not list_contains({_sql_list(known)}, key) group by key order by key"
        ).fetchall()
        return dict(rows)

    def _spool(self, kind, source, files: list[SourceFile]):
        """Write the files DuckDB cannot read in place into spool files.

        Yields (spool path, [(file name, records)], the one file it holds or None). Files under
        :data:`SMALL_FILE` bytes are concatenated, each record tagged with its file (see
        :func:`_tag`); a larger (remote or compressed) file gets a spool file of its own.
        """
        if not files:
            return
        batch_no = 0
        out = None
        size = 0
        members: list[tuple[str, int]] = []
        # Closing the reads (on an error here or in a read) cancels those still queued.
        with closing(_read_all(source, files)) as contents:
            for f, data in contents:
                if isinstance(data, CorruptFileError):
                    raise data
                if data and not data.endswith(b"\n"):
                    data += b"\n"
                if len(data) >= SMALL_FILE:
                    path = self.spool_dir / f"{kind}-{batch_no:05d}.ndjson"
                    batch_no += 1
                    path.write_bytes(data)
                    self.progress([f])
                    yield path, [(f.name, _count_records(data))], f.name
                    continue
                if out is None:
                    path = self.spool_dir / f"{kind}-{batch_no:05d}.ndjson"
                    out = open(path, "wb")
                    batch_no += 1
                records = _tag(data, f.name, out)
                members.append((f.name, records))
                size += len(data)
                self.progress([f])
                if size >= SPOOL_BATCH:
                    out.close()
                    yield out.name, members, None
                    out, size, members = None, 0, []
            if out is not None:
                out.close()
                yield out.name, members, None

    # -- precise path -----------------------------------------------------------------------------

    def _precise(self, kind, source, files, table) -> ReadResult:
        spec = TABLE_FOR[kind]
        result = ReadResult(kind, table, precise=True)
        known = {c.source for c in spec.record_columns}
        clean = self.spool_dir / f"{kind}-clean.ndjson"
        with open(clean, "w", encoding="utf-8") as out, closing(_read_all(source, files)) as contents:
            for f, data in contents:
                count = FileCount()
                result.files[f.name] = count
                if isinstance(data, CorruptFileError):
                    count.read = count.rejected = 1
                    result.rejects.append(Reject(f.name, None, None, f"cannot be read: {data}"))
                    self.progress([f])
                    continue
                for line_no, raw, record, problem in _records(kind, data):
                    count.read += 1
                    if problem is None:
                        row, problem = _type_record(spec, REQUIRED[kind], record)
                        for key in record:
                            if key not in known:
                                result.unknown_fields[key] = result.unknown_fields.get(key, 0) + 1
                    if problem is not None:
                        count.rejected += 1
                        fld, reason = problem
                        result.rejects.append(
                            Reject(f.name, line_no, fld, reason, _printable(raw)[:RAW_TEXT_LIMIT])
                        )
                        continue
                    count.staged += 1
                    row["source_file"] = f.name
                    out.write(json.dumps(row, ensure_ascii=False, allow_nan=False))
                    out.write("\n")
                self.progress([f])
        if result.staged == 0:
            self._create_empty(spec, table)
        else:
            drop_result(self.con, table)
            columns = ", ".join(f"{sql_string(c.name)}: '{DUCKDB_TYPE[c.type]}'" for c in spec.record_columns)
            columns += ", 'source_file': 'VARCHAR'"
            self.con.execute(
                f"create or replace temp table {table} as select * from read_json("
                f"{sql_string(str(clean))}, columns = {{{columns}}}, format = 'newline_delimited', "
                f"maximum_object_size = {MAX_LINE_BYTES * 2})"
            )
        return result

    def _create_empty(self, spec: Table, table: str) -> None:
        drop_result(self.con, table)
        cols = ", ".join(f"{c.name} {DUCKDB_TYPE[c.type]}" for c in spec.record_columns) + ", source_file VARCHAR"
        self.con.execute(f"create or replace temp table {table} ({cols})")


def drop_result(con, table: str) -> None:
    """Drop what a read left in ``con`` under the name ``table`` (a view over a raw table, or a table)."""
    kinds = dict(con.execute(
        "select table_name, table_type from information_schema.tables where table_name in (?, ?)",
        [table, f"{table}__raw"],
    ).fetchall())
    if kinds.get(table) == "VIEW":
        con.execute(f"drop view {table}")
    elif table in kinds:
        con.execute(f"drop table {table}")
    if f"{table}__raw" in kinds:
        con.execute(f"drop table {table}__raw")


# -- helpers ------------------------------------------------------------------------------------


def _read_all(source: Source, files: list[SourceFile]):
    """Yield ``(file, its bytes or the CorruptFileError reading it raised)`` in the order of ``files``.

    A source with ``max_concurrency`` > 1 (a remote one) is read that many files at once from a
    thread pool; local files are read one by one on this thread (threads only add GIL contention for
    tiny files). Any other error propagates; closing the generator cancels the reads still queued.
    """

    def read(f: SourceFile) -> bytes | CorruptFileError:
        try:
            return source.read_bytes(f)
        except CorruptFileError as exc:
            return exc

    workers = getattr(source, "max_concurrency", 1)
    if workers <= 1:
        for f in files:
            yield f, read(f)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sparkify-read")
    try:
        yield from zip(files, pool.map(read, files))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


GLOB_CHARS = frozenset("*?[]{}")


def _readable_in_place(f: SourceFile) -> bool:
    """Large local files are read by DuckDB where they are; a name with glob characters is not
    (DuckDB would expand it), so it goes through the spool like a small file."""
    return f.path is not None and f.size >= SMALL_FILE and not (GLOB_CHARS & set(str(f.path)))


def sql_string(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def _sql_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(sql_string(i) for i in items) + "]"


def _count_records(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


RECORD_BYTES = "__sparkify_record_bytes"
"""Raw column: the length of the record's JSON text in bytes."""

RECORD_OK = "__sparkify_record_ok"
"""Raw column: true when a record is exactly what the precise path would stage."""

KNOWN_KEYS = "__sparkify_known_keys"
"""Raw column: true when a record has no key outside the staging columns."""

SOURCE_KEY = "__sparkify_source"
"""The key under which a spooled record carries the name of its file."""


def _tag(data: bytes, name: str, out) -> int:
    """Write each record of ``data`` to ``out`` with ``SOURCE_KEY`` added as its first key, by
    splicing text (no parsing). Returns the number of records. A line that is not an object is
    written as it is: DuckDB then fails on it and the precise path takes over."""
    tag = b'{"' + SOURCE_KEY.encode() + b'":' + json.dumps(name).encode()
    records = 0
    for line in data.split(b"\n"):
        body = line.strip()
        if not body:
            continue
        records += 1
        if body[:1] == b"{":
            rest = body[1:]
            out.write(tag + (b"" if rest.lstrip()[:1] == b"}" else b",") + rest + b"\n")
        else:
            out.write(body + b"\n")
    return records


def _fast_ok(kind: str) -> str:
    """SQL that is true when a raw row is exactly what the precise path would stage."""
    spec = TABLE_FOR[kind]
    conds = []
    for c in spec.record_columns:
        col = f'"{c.source}"'
        if c.type in ("integer", "bigint"):
            conds.append(
                f"({col} is null or (json_type({col}) in ('BIGINT', 'UBIGINT') "
                f"and try_cast({col} as {DUCKDB_TYPE[c.type]}) is not null))"
            )
        elif c.type == "double":
            conds.append(f"({col} is null or json_type({col}) in ('BIGINT', 'UBIGINT', 'DOUBLE'))")
    for key in REQUIRED[kind]:
        conds.append(f'"{key}" is not null')
    # A record near the line-length limit is left to the precise path, which measures the line itself.
    conds.append(f"{RECORD_BYTES} < {MAX_LINE_BYTES - 4096}")
    if kind == "events":
        # digits only (ltrim of every digit leaves nothing), at most 9 of them: fits an INTEGER
        conds.append("(\"userId\" is null or (ltrim(\"userId\", '0123456789') = '' and length(\"userId\") <= 9))")
    return " and ".join(conds)


def _fast_cast(c) -> str:
    if c.type == "text":
        return f'"{c.source}" as {c.name}'
    return f'cast("{c.source}" as {DUCKDB_TYPE[c.type]}) as {c.name}'


def _printable(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="backslashreplace")
    return raw


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _records(kind: str, data: bytes):
    """Yield (line number, raw bytes, record or None, (field, reason) or None) for each record."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte order mark is not part of the first record
    if not data.strip():
        return
    lines = data.split(b"\n")
    if kind == "songs":
        # A song file holds one object, possibly pretty-printed over several lines.
        nonblank = [line for line in lines if line.strip()]
        if len(nonblank) > 1 and not nonblank[0].strip().endswith(b"}"):
            parsed = _parse(data)
            if isinstance(parsed, dict):
                first = next(i for i, line in enumerate(lines, 1) if line.strip())
                yield first, data, parsed, None
                return
    for line_no, line in enumerate(lines, 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip():
            continue
        if len(line) > MAX_LINE_BYTES:
            yield line_no, line[:RAW_TEXT_LIMIT], None, (None, f"line is longer than {MAX_LINE_BYTES >> 20} MB ({len(line)} bytes)")
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield line_no, line, None, (None, f"invalid UTF-8 at byte {exc.start}")
            continue
        try:
            record = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            yield line_no, text, None, (None, f"malformed JSON: {exc}")
            continue
        if not isinstance(record, dict):
            yield line_no, text, None, (None, f"expected a JSON object, got {_json_kind(record)}")
            continue
        yield line_no, text, record, None


def _parse(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except ValueError:
        return None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _type_record(spec: Table, required: tuple[str, ...], record: dict) -> tuple[dict, tuple[str, str] | None]:
    """The staging row for ``record``, or the first (field, reason) that stops it."""
    row: dict[str, Any] = {}
    for key in required:
        if record.get(key) is None:
            return row, (key, "required field is missing" if key not in record else "required field is null")
    for c in spec.record_columns:
        value = record.get(c.source)
        typed, reason = _type_value(c.type, value)
        if reason:
            return row, (c.source, reason)
        row[c.name] = typed
    if spec is STAGING_EVENTS:
        uid = row["user_id"]
        if uid is not None and not DIGITS.fullmatch(uid):
            return row, ("userId", f"expected a string of digits or \"\", got {_show(record.get('userId'))}")
    return row, None


def _type_value(typ: str, value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if typ == "text":
        if isinstance(value, str):
            return value, None
        if isinstance(value, bool):
            return ("true" if value else "false"), None
        if isinstance(value, (int, float)):
            return str(value), None  # the value's text form: "title": 66 is the title '66'
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False), None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"expected a number, got {_json_kind(value)} {_show(value)}"
    if typ == "double":
        if isinstance(value, float) and not math.isfinite(value):
            return None, f"number out of range: {_show(value)}"
        return float(value), None
    if isinstance(value, float):
        return None, f"expected an integer, got {_show(value)}"
    lo, hi = INT_RANGE[typ]
    if not lo <= value <= hi:
        return None, f"integer out of range for {typ.upper()}: {value}"
    return value, None


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
