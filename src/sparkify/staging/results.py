"""What a read produced: :class:`ReadResult` (the DuckDB table of typed staging rows, per-file counts
and the rejects behind it), :class:`Reject` (one record that could not be staged: file, line, field,
reason) and :func:`drop_result`. For each file, ``read == staged + rejected``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sparkify.wording import printable


@dataclass(frozen=True)
class Reject:
    """One input record that could not be staged."""

    source: str
    line: int | None
    field: str | None
    reason: str
    raw: str = ""

    def __str__(self) -> str:
        # one line whatever the file is called (a newline in a name would split the message)
        where = f"{printable(self.source)}:{self.line}" if self.line else printable(self.source)
        what = f"field {self.field!r}: " if self.field else ""
        return f"{where}: {what}{self.reason}"


@dataclass
class FileCount:
    """One file's records: ``read == staged + rejected``."""

    read: int = 0
    staged: int = 0
    rejected: int = 0


class Totals:
    """Mixin: ``read``, ``staged`` and ``rejected`` summed over the counted parts (:meth:`parts`:
    anything with those three counts, e.g. :class:`FileCount` per file or :class:`ReadResult` per kind)."""

    def parts(self) -> Iterable[FileCount | ReadResult]:
        raise NotImplementedError

    @property
    def read(self) -> int:
        return sum(p.read for p in self.parts())

    @property
    def staged(self) -> int:
        return sum(p.staged for p in self.parts())

    @property
    def rejected(self) -> int:
        return sum(p.rejected for p in self.parts())


@dataclass
class ReadResult(Totals):
    """What one read produced: a DuckDB table of typed rows and the accounting behind it."""

    kind: str
    table: str
    """The DuckDB table (in the reader's connection) holding the typed rows, staging columns."""
    files: dict[str, FileCount] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    unknown_fields: dict[str, int] = field(default_factory=dict)
    precise_files: int = 0
    """How many files the precise (record by record) path read."""

    @property
    def precise(self) -> bool:
        """True when any file was read by the precise path."""
        return self.precise_files > 0

    def parts(self) -> Iterable[FileCount]:
        """The counts of each file read."""
        return self.files.values()


def drop_result(con, table: str) -> None:
    """Drop what a read left in ``con`` under the name ``table`` (views over the fast path's raw
    table and the precise path's table, or a plain table)."""
    names = [table, f"{table}__fast", f"{table}__raw", f"{table}__precise", f"{table}__refused"]
    kinds = dict(
        con.execute(
            "select table_name, table_type from information_schema.tables where table_name in (?, ?, ?, ?, ?)",
            names,
        ).fetchall()
    )
    for name in names:  # views first: they depend on the tables
        if kinds.get(name) == "VIEW":
            con.execute(f"drop view {name}")
    for name in names:
        if name in kinds and kinds[name] != "VIEW":
            con.execute(f"drop table {name}")
