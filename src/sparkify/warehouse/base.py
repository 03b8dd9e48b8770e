"""The warehouse interface: what the pipeline needs of an engine, and nothing of its driver."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Iterator, Sequence

from sparkify import sql as sqlfiles
from sparkify.schema import Table


def quote(identifier: str) -> str:
    """The one identifier-quoting function: double quotes, embedded quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


class Warehouse(ABC):
    """One connection to one warehouse. Engines subclass this and override only what differs."""

    name: ClassVar[str]
    """The engine's name in URLs, ``--engine`` and ``sql/<name>/``."""

    sql_dialect: ClassVar[str]
    """The sqlglot dialect its statements are written in."""

    sql_folders: ClassVar[tuple[str, ...]]
    """Folders under ``sql/`` searched before ``default/``, most specific first."""

    type_map: ClassVar[dict[str, str]]
    """Logical column type (schema.py) -> this engine's column type."""

    macros: ClassVar[dict[str, str]]
    """SQL macros used by the .sql files, as str.format templates (see ``sparkify.sql``)."""

    declares_primary_keys: ClassVar[bool] = True
    """True when ``create table`` declares the primary keys of schema.py. Uniqueness is checked by
    ``quality`` either way; an engine leaves keys out where maintaining them costs too much."""

    copies_from_s3: ClassVar[bool] = False
    """True when staging runs server-side from S3 (Redshift COPY) instead of through the client."""

    def __init__(self, url: str, *, schema: str | None = None):
        self.url = url
        self.schema = schema
        self.tracer: Callable[[str], None] | None = None
        """Called with every statement before it runs (like sqlite-utils' ``tracer=``)."""

    # -- connection ---------------------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        """The URL with any password masked, safe to print."""
        from sparkify.config import mask_url

        return mask_url(self.url)

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def reconnect(self) -> None:
        """Open a fresh connection after a transient failure (engines with a server override this)."""

    @abstractmethod
    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement."""

    @abstractmethod
    def query(self, statement: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Run one query; return its column names and rows."""

    @abstractmethod
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""

    @abstractmethod
    def table_exists(self, table: str) -> bool: ...

    # -- statements ---------------------------------------------------------------------------------

    def statement(self, name: str) -> str:
        """The text of ``sql/<folder>/<name>.sql`` for this engine, macros expanded."""
        return sqlfiles.load(name, self.sql_folders, self.macros)

    def qualified(self, table: str) -> str:
        return quote(table) if not self.schema else f"{quote(self.schema)}.{quote(table)}"

    def create_table_sql(self, table: Table) -> str:
        """``create table if not exists`` for one table of schema.py."""
        cols = []
        for c in table.columns:
            col = f"{quote(c.name)} {self.type_map[c.type]}"
            if c.not_null:
                col += " not null"
            cols.append(col)
        if table.primary_key and self.declares_primary_keys:
            cols.append(f"primary key ({', '.join(quote(k) for k in table.primary_key)})")
        return f"create table if not exists {self.qualified(table.name)} (\n    " + ",\n    ".join(cols) + "\n)"

    def setup_statements(self) -> list[str]:
        """Statements run once per connection before any other (e.g. search_path)."""
        return []

    # -- staging ------------------------------------------------------------------------------------

    param: ClassVar[str]
    """The driver's placeholder for a bound parameter (``?`` or ``%s``)."""

    @abstractmethod
    def insert_from_reader(self, table: Table, reader_con, relation: str) -> int:
        """Append the rows of DuckDB ``relation`` in ``reader_con`` (the reader's connection, same
        column names as ``table``) to ``table``; return the number of rows inserted."""

    def insert_row(self, table: Table, values: dict[str, Any]) -> None:
        """Insert one row; values are bound parameters."""
        cols = ", ".join(quote(c) for c in values)
        marks = ", ".join([self.param] * len(values))
        self.execute(f"insert into {self.qualified(table.name)} ({cols}) values ({marks})", list(values.values()))

    def delete_where_in(self, table: Table, column: str, values: list[Any], *, extra: str = "") -> None:
        """``delete from table where column in (values)``, in chunks, values bound."""
        for i in range(0, len(values), 500):
            chunk = values[i : i + 500]
            marks = ", ".join([self.param] * len(chunk))
            self.execute(
                f"delete from {self.qualified(table.name)} where {quote(column)} in ({marks}){extra}", chunk
            )

    def reader_connection(self):
        """The DuckDB connection the JSON reader parses into."""
        import duckdb

        return duckdb.connect()
