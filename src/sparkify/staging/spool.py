"""Spooling for the fast path: tiny files concatenated into a few spool files (each record tagged
with its file) so DuckDB opens a handful of files instead of tens of thousands; which files DuckDB
may read in place; the sizes that decide it; the names of the raw scan's bookkeeping columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from sparkify.quoting import literal
from sparkify.sources import CorruptFileError, Source, SourceFile
from sparkify.staging.framing import MAX_RECORD_BYTES

SMALL_FILE = 1 << 20
"""Files smaller than this (bytes) are concatenated into spool files before DuckDB reads them."""

SPOOL_BATCH = 64 << 20
"""The size (bytes) at which a spool file is closed and another started."""

MAX_LINE_BYTES = MAX_RECORD_BYTES
"""A record longer than this (bytes) is rejected rather than parsed."""

READ_CHUNK = 16 << 20
"""Bytes read at a time when a file DuckDB reads in place is first looked over."""

DUCKDB_TYPE = {
    "text": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}
"""Logical column type (schema.py) -> the DuckDB type the reader parses into."""

NOT_JSON_WHITESPACE = (b"\x0b", b"\x0c")
"""Bytes DuckDB's line reader takes for whitespace and RFC 8259 does not: a file holding one is read
by the precise path, which rejects the record it is in."""

JSON_WS = " \t\r\n"


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
    (DuckDB would expand it), so it goes through the spool like a small file. So does a compressed
    file, or one named like gzip or zstd: sparkify knows compression by the content (see
    :func:`sparkify.sources.decompress`); DuckDB reads the others with ``compression = 'none'``,
    never guessing one from a name (``.bz2``, ``.xz``, ``.zip``...)."""
    if f.path is None or f.size < SMALL_FILE or GLOB_CHARS & set(f.path):
        return False
    try:
        f.path.encode("utf-8")
    except UnicodeEncodeError:  # bytes in the path that are not UTF-8: DuckDB cannot be given it
        return False
    if f.name.lower().endswith((".gz", ".zst")):
        return False
    try:
        return f.compression is None
    except OSError:  # unreadable: the spool's read names the file in its error
        return False


def _sql_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(literal(i) for i in items) + "]"


def _count_records(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


def _looks_plain(path: str | None) -> bool:
    """True when DuckDB may read the local file where it is: no byte that DuckDB's line reader and
    the rules see differently (:data:`NOT_JSON_WHITESPACE`) and no line longer than
    :data:`MAX_LINE_BYTES` (see :func:`_line_run`). Reads the file in chunks."""
    if path is None:
        return False
    run: int | None = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                if any(b in chunk for b in NOT_JSON_WHITESPACE):
                    return False
                run = _line_run(chunk, run or 0)
                if run is None:
                    return False
    except OSError:  # gone or unreadable: the spool's read of it raises the error that names it
        return False
    return True


def _lines_fit(data: bytes) -> bool:
    """True when no line of ``data`` is longer than :data:`MAX_LINE_BYTES` (see :func:`_line_run`)."""
    return _line_run(data, 0) is not None


def _line_run(chunk: bytes, run: int, limit: int = MAX_LINE_BYTES) -> int | None:
    """The bytes after the last newline of ``chunk``, counting the ``run`` of bytes since the last
    newline before it, or None when a stretch with no newline (a line, with its ``\r``) is longer than
    ``limit``. DuckDB's line reader fails the whole scan on a line over its ``maximum_object_size``
    (objects back to back with no newline, ``\r`` line ends, a file padded with zeros): such a file is
    read by the precise path, which frames its records and rejects only those too long, by line.
    Looks for the last newline in windows of ``limit`` bytes: a few ``rfind`` calls per window, not one
    per line."""
    pos, size = 0, len(chunk)
    while True:
        end = pos + (limit - run) + 1  # the next newline must come before this
        if end > size:
            last = chunk.rfind(b"\n", pos)
            return run + size - pos if last < 0 else size - last - 1
        last = chunk.rfind(b"\n", pos, end)
        if last < 0:
            return None
        pos, run = last + 1, 0


RECORD_BYTES = "__sparkify_record_bytes"
"""Raw column: the length of the record's JSON text in bytes."""

RECORD_OK = "__sparkify_record_ok"
"""Raw column: true when a record is exactly what the precise path would stage."""

RECORD_SOURCE = "__sparkify_record_source"
"""Raw column: the file a record came from (NULL for a line DuckDB could not parse in a spool file)."""

KNOWN_KEYS = "__sparkify_known_keys"
"""Raw column: true when a record has no key outside the staging columns."""

KEYS_UNIQUE = "__sparkify_keys_unique"
"""Raw column: true when no key appears twice in the record."""

IS_OBJECT = "__sparkify_is_object"
"""Raw column: true when the line parsed as a JSON object."""

SUSPECT = "__sparkify_suspect"
"""Raw column: true when the record's text holds something DuckDB and the rules may read differently."""

SOURCE_KEY = "__sparkify_source"
"""The key under which a spooled record carries the name of its file."""

BOM = b"\xef\xbb\xbf"


def _tag(data: bytes, name: str) -> tuple[int, bytes] | None:
    """``data``'s records, each with ``SOURCE_KEY`` added as its first key by splicing text (no
    parsing), and how many there are; None when a line is not one object (``{`` ... ``}``), so the
    file is not read one object per line."""
    tag = b'{"' + SOURCE_KEY.encode() + b'":' + json.dumps(name).encode()
    out = []
    for line in data.split(b"\n"):
        body = line.strip()
        if not body:
            continue
        if body[:1] != b"{" or body[-1:] != b"}":
            return None
        rest = body[1:]
        out.append(tag + (b"" if rest.lstrip()[:1] == b"}" else b",") + rest + b"\n")
    return len(out), b"".join(out)


def _fast_cast(c) -> str:
    if c.type == "text":
        return f'"{c.source}" as {c.name}'
    return f'cast("{c.source}" as {DUCKDB_TYPE[c.type]}) as {c.name}'
