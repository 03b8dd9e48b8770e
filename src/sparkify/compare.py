"""Do two warehouses hold the same star tables? Row counts, then every row, streamed.

``sparkify compare`` uses this to check a production load (say the Redshift cluster) against a local
one (say DuckDB) loaded from the same source. Every column is compared but the surrogate
``songplay_id``, which an engine numbers as it likes.

How: both sides are read sorted on all compared columns (``nulls last``) and walked together like a
merge join, a batch at a time, so memory stays bounded whatever the table size. Rows are compared as
multisets: a row present twice on one side and once on the other is one difference. Each side's
order is checked as it arrives; an engine whose text ordering (collation) differs from the bytewise
order the other engines use is an error, never a silent false difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sparkify.errors import WarehouseError
from sparkify.schema import STAR_TABLES, Table
from sparkify.values import normalize
from sparkify.warehouse.base import Warehouse, quote

SURROGATE_KEYS = frozenset({"songplay_id"})
"""Columns left out of the comparison: numbered by each engine, not derived from the source."""

EXAMPLES = 10
"""Differing rows kept per table, in sort order, for the report."""


@dataclass
class TableComparison:
    """The comparison of one table. ``only_left``/``only_right`` count rows (with multiplicity)
    found on one side only; ``examples`` are the first of them in sort order, each tagged
    ``"<"`` (left only) or ``">"`` (right only)."""

    table: str
    columns: list[str]
    left_count: int
    right_count: int
    only_left: int = 0
    only_right: int = 0
    examples: list[tuple[str, tuple]] = field(default_factory=list)

    @property
    def is_identical(self) -> bool:
        return self.left_count == self.right_count and not self.only_left and not self.only_right


def compared_columns(table: Table) -> list[str]:
    """The columns of ``table`` that are compared: all but the surrogate keys."""
    return [c for c in table.column_names if c not in SURROGATE_KEYS]


def ordered_select(wh: Warehouse, table: Table) -> str:
    """``select`` of the compared columns, sorted on all of them, NULLs last on every engine."""
    cols = [quote(c) for c in compared_columns(table)]
    order = ", ".join(f"{c} asc nulls last" for c in cols)
    return f"select {', '.join(cols)} from {wh.qualified(table.name)} order by {order}"


def count_rows(wh: Warehouse, table: Table) -> int:
    _, rows = wh.query(f"select count(*) from {wh.qualified(table.name)}")
    return int(rows[0][0])


def compare_warehouses(
    left: Warehouse,
    right: Warehouse,
    *,
    tables: tuple[Table, ...] = STAR_TABLES,
    examples: int = EXAMPLES,
    batch_rows: int = 10_000,
) -> list[TableComparison]:
    """Compare ``tables`` of two warehouses: counts first, then the rows, one table at a time.

    Returns one :class:`TableComparison` per table, in the order given. Memory is bounded by
    ``batch_rows`` rows per side plus ``examples`` kept rows per table. Raises
    :class:`~sparkify.errors.MissingTableError` when a table is missing on either side and
    :class:`~sparkify.errors.WarehouseError` when a side returns rows out of order.
    """
    results = [
        TableComparison(t.name, compared_columns(t), count_rows(left, t), count_rows(right, t))
        for t in tables
    ]
    for table, result in zip(tables, results):
        _compare_rows(left, right, table, result, examples=examples, batch_rows=batch_rows)
    return results


def _compare_rows(
    left, right, table: Table, result: TableComparison, *, examples: int, batch_rows: int
) -> None:
    # both sides advance together, each through its own connection; runs of equal rows are skipped
    # a slice at a time (compared in C), and only around a difference is each row normalized, keyed
    # and merged one by one
    a = _SortedSide(left, ordered_select(left, table), batch_rows, f"{table.name} of {left.display_url}")
    b = _SortedSide(right, ordered_select(right, table), batch_rows, f"{table.name} of {right.display_url}")
    while True:
        has_a, has_b = a.fill(), b.fill()
        if not (has_a or has_b):
            return
        if has_a and has_b and a.buf[a.pos] == b.buf[b.pos]:
            n = min(len(a.buf) - a.pos, len(b.buf) - b.pos)
            if a.buf[a.pos : a.pos + n] == b.buf[b.pos : b.pos + n]:
                a.skip(n)
                b.skip(n)
                continue
            while a.pos < len(a.buf) and b.pos < len(b.buf) and a.buf[a.pos] == b.buf[b.pos]:
                a.skip(1)
                b.skip(1)
            continue
        head_a = a.head() if has_a else None  # (sort key, row); each checks its side's order
        head_b = b.head() if has_b else None
        if head_a is not None and (head_b is None or head_a[0] < head_b[0]):
            result.only_left += 1
            if len(result.examples) < examples:
                result.examples.append(("<", head_a[1]))
            a.skip(1)
        elif head_b is not None and (head_a is None or head_b[0] < head_a[0]):
            result.only_right += 1
            if len(result.examples) < examples:
                result.examples.append((">", head_b[1]))
            b.skip(1)
        else:  # equal once normalized (say Decimal 5 and int 5)
            a.skip(1)
            b.skip(1)


class _SortedSide:
    """One side's rows, a batch at a time, with a check that they arrive in :func:`sort_key` order
    wherever they are compared one by one."""

    def __init__(self, wh: Warehouse, statement: str, batch_rows: int, what: str):
        _, self.batches = wh.stream(statement, batch_rows=batch_rows)
        self.buf: list[tuple] = []
        self.pos = 0
        self.what = what
        self.previous: tuple | None = None
        self._head: tuple[tuple, tuple] | None = None

    def fill(self) -> bool:
        """True when a row is at ``buf[pos]``, fetching the next batch if needed."""
        while self.pos >= len(self.buf):
            batch = next(self.batches, None)
            if batch is None:
                return False
            self.buf, self.pos = batch, 0
        return True

    def head(self) -> tuple[tuple, tuple]:
        """(sort key, normalized row) of the row at ``buf[pos]``; raises WarehouseError when it
        sorts before the row compared before it."""
        if self._head is None:
            row = tuple(normalize(v) for v in self.buf[self.pos])
            key = sort_key(row)
            if self.previous is not None and key < self.previous:
                raise WarehouseError(
                    f"Rows of {self.what} did not arrive in bytewise order (at {row!r}); its text collation "
                    "differs from the other engine's. Compare with a warehouse whose text columns use "
                    "the C collation."
                )
            self._head = (key, row)
        return self._head

    def skip(self, n: int) -> None:
        """Move past ``n`` rows (all in the current batch); the last one is the new ``previous``."""
        self.pos += n
        last = self.buf[self.pos - 1]
        self.previous = (
            self._head[0]
            if (n == 1 and self._head is not None)
            else sort_key(tuple(normalize(v) for v in last))
        )
        self._head = None


def _sorted_rows(wh: Warehouse, statement: str, batch_rows: int, what: str) -> Iterator[tuple[tuple, tuple]]:
    """(sort key, normalized row) for each row of ``statement``, checked to arrive in order."""
    side = _SortedSide(wh, statement, batch_rows, what)
    while side.fill():
        head = side.head()
        side.skip(1)
        yield head


def sort_key(row: tuple) -> tuple:
    """The order ``asc nulls last`` gives on every engine: NULL after every value; text by code
    point, which is the bytewise (C collation) order of its UTF-8."""
    return tuple((True, 0) if v is None else (False, v) for v in row)


def require_two(url: str, schema: str | None, against: str, against_schema: str | None) -> None:
    """Raise ConfigError when the two warehouses to compare are the same one (same URL, and the
    same schema; ``against_schema`` None means ``schema``)."""
    if _identity(against, against_schema or schema) == _identity(url, schema):
        from sparkify.errors import ConfigError

        raise ConfigError("--warehouse and --against name the same warehouse: give two different ones.")


def _identity(url: str, schema: str | None) -> tuple:
    """What names one warehouse whatever the URL's spelling: a DuckDB file by its resolved path (two
    connections to one file would wait on each other's lock), a server database by engine, host,
    port, database and schema (settings such as ``?threads=1`` or ``?sslmode=`` left out)."""
    import os
    from urllib.parse import urlsplit

    from sparkify.warehouse import duckdb_path, engine_of

    engine = engine_of(url)
    if engine == "duckdb":
        path = duckdb_path(url)
        return (engine, path if path == ":memory:" else os.path.realpath(path))
    default_port = 5439 if engine == "redshift" else 5432
    try:  # libpq's own reading: host, port and dbname may also come as ?host=... (tester finding)
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict("postgresql" + url[url.index("://") :])
        host, port, db = str(params.get("host") or ""), params.get("port"), str(params.get("dbname") or "")
    except Exception:  # no driver here, or a URL libpq cannot read: the URL's own parts
        parts = urlsplit(url)
        host, port, db = parts.hostname or "", parts.port, parts.path.strip("/")
    host = host.lower()
    if host in LOOPBACK:
        host = "localhost"
    return (engine, host, int(port or default_port), db, schema or "public")


LOOPBACK = frozenset({"", "localhost", "127.0.0.1", "::1", "[::1]"})
"""Host names of this machine's own server (none: libpq's default, the local socket or localhost)."""


def require_identical(results: list[TableComparison]) -> None:
    """Raise :class:`~sparkify.errors.CheckFailed` naming each star table that differs
    (``2 of 5 star tables differ: users, songplays``); return when all are identical."""
    differ = [r.table for r in results if not r.is_identical]
    if differ:
        from sparkify.errors import CheckFailed

        raise CheckFailed(f"{len(differ)} of {len(results)} star tables differ: {', '.join(differ)}")
