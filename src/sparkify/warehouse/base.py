"""The warehouse interface: what the pipeline needs of an engine, and nothing of its driver."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

from sparkify import interrupts
from sparkify import sql as sqlfiles
from sparkify.quoting import quote
from sparkify.schema import Table

__all__ = ["Warehouse", "quote"]

T = TypeVar("T")


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

    duckdb_config: dict[str, Any] = {}  # noqa: RUF012 -- replaced per instance, never changed in place
    """The DuckDB settings of this warehouse's DuckDB connection (the warehouse itself, or the
    parser of a server warehouse): :data:`sparkify.warehouse.duckdb.DEFAULT_SETTINGS` and the URL's."""

    declares_primary_keys: ClassVar[bool] = True
    """True when ``create table`` declares the primary keys of schema.py. Uniqueness is checked by
    ``quality`` either way; an engine leaves keys out where maintaining them costs too much."""

    time_checks_in_one_pass: ClassVar[bool] = False
    """True when the full checks answer the three checks on the instants of time and songplays with
    one grouping of both (:data:`sparkify.quality.TIME_KEY_CHECKS`) instead of two anti-joins and a
    grouping. DuckDB at 1M events: 0.20-0.27 s against 0.51-0.73 s; PostgreSQL, whose anti-joins
    read time's primary-key index: 2.3-2.5 s against 1.8-2.0 s, so it keeps the three queries."""

    unlogged_staging: ClassVar[bool] = False
    """True when staging tables skip the write-ahead log (PostgreSQL ``UNLOGGED``): a bulk load writes
    half as much. A server crash empties such tables; the pipeline then sees staging disagree with the
    ledger and reloads every file (``pipeline.plan._plan``). Star and bookkeeping tables stay logged."""

    copies_from_s3: ClassVar[bool] = False
    """True when the checked staging rows reach the warehouse through S3 (Redshift COPY) rather than
    over the connection: the source must then be an S3 prefix."""

    merges_star_rows: ClassVar[bool] = False
    """True when the transform merges each star table in place (rows that changed or left are
    deleted, new ones inserted, identical ones kept) instead of deleting and re-inserting every row.
    Redshift needs this: it does not enforce keys, and its IDENTITY ``songplay_id`` would change on
    every rebuild."""

    truncates_in_transaction: ClassVar[bool] = True
    """True when ``TRUNCATE`` is transactional. Redshift's commits the open transaction, so it
    empties tables with ``DELETE``."""

    default_schema: ClassVar[str | None] = None
    """The schema tables go in when ``--schema`` is not given (None: the engine has no schemas)."""

    def __init__(self, url: str, *, schema: str | None = None):
        self.url = url
        self.schema = schema
        self.tracer: Callable[[str], None] | None = None
        """Called with every statement before it runs (like sqlite-utils' ``tracer=``)."""

    @classmethod
    def offline(cls, *, schema: str | None = None, **options) -> Warehouse:
        """An instance that renders this engine's statements without reaching any warehouse
        (``sparkify sql``, tests). Running a statement on it raises :class:`WarehouseError`."""
        raise NotImplementedError

    # -- connection ---------------------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        """The URL with any password masked, safe to print."""
        from sparkify.urls import mask_url

        return mask_url(self.url)

    @property
    def display_name(self) -> str:
        """:attr:`display_url` and, when the tables are in a named schema, that schema: what a final
        line shows (``postgresql://me@host/db (schema sparkify)``)."""
        return self.display_url + (f" (schema {self.schema})" if self.schema else "")

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def reconnect(self) -> None:  # noqa: B027 -- an optional hook: nothing to do without a server
        """Open a fresh connection after a transient failure (engines with a server override this)."""

    # -- running a statement: one wrapper (trace, run, map the driver's errors) -------------------------

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement (values bound from ``params``), through :meth:`run_statement`."""
        self.run_statement(statement, lambda: self._execute(statement, params))

    def query(self, statement: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Run one query through :meth:`run_statement`; return its column names and rows."""
        return self.run_statement(statement, lambda: self._query(statement, params))

    def run_statement(self, statement: str, run: Callable[[], T]) -> T:
        """The one wrapper every statement goes through: show ``statement`` to :attr:`tracer`, call
        ``run`` (which sends it to the driver), and raise a driver error (:meth:`_driver_errors`) as
        the sparkify error it means -- the pending signal's Interrupted if a signal caused it, else
        :meth:`error_for`'s transient / terminal / missing-table error. Returns what ``run`` returns."""
        if self.tracer:
            self.tracer(statement)
        try:
            return run()
        except self._driver_errors() as exc:
            raise (interrupts.pending() or self.error_for(exc)) from exc

    def _execute(self, statement: str, params: Sequence[Any] | None) -> None:
        """Send one statement to the driver; no tracing, no error mapping (:meth:`execute` does both)."""
        raise NotImplementedError

    def _query(self, statement: str, params: Sequence[Any] | None) -> tuple[list[str], list[tuple]]:
        """Send one query to the driver; return column names and rows (see :meth:`_execute`)."""
        raise NotImplementedError

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        """The driver's exception types :meth:`error_for` maps (the driver is imported when asked)."""
        return ()

    def is_query_text_error(self, exc: BaseException) -> bool:
        """Whether the driver's error ``exc`` is about a query's text (its syntax, an unknown column or
        function), not the data or the warehouse: a user's query then exits 2, not 69."""
        return False

    def error_for(self, exc: BaseException) -> BaseException:
        """The sparkify error a driver error means: TransientWarehouseError (worth retrying),
        MissingTableError, or WarehouseError (terminal), one line naming the warehouse. Engines
        override it; this default calls every driver error terminal."""
        from sparkify.errors import WarehouseError

        return WarehouseError(f"{self.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")

    def stream(self, statement: str, *, batch_rows: int = 50_000) -> tuple[list[str], Iterator[list[tuple]]]:
        """Run one query; return its column names and an iterator over its rows in batches of at
        most ``batch_rows``, so a caller can walk millions of rows in bounded memory. Consume the
        iterator before running another statement on this warehouse.

        This default fetches every row at once; engines override it to fetch batch by batch.
        """
        columns, rows = self.query(statement)

        def batches() -> Iterator[list[tuple]]:
            for i in range(0, len(rows), batch_rows):
                yield rows[i : i + batch_rows]

        return columns, batches()

    @abstractmethod
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""

    @abstractmethod
    def table_exists(self, table: str) -> bool: ...

    def columns_of(self, tables: list[str]) -> dict[str, dict[str, str]]:
        """Table name -> {column name: its type as the catalog spells it (``character varying(256)``,
        ``BIGINT``; "" where the engine has no catalog)}, names lower case, in column order, for each
        of ``tables`` that exists in :attr:`schema` (a table or view); the others are left out. One
        catalog query (:meth:`columns_sql`), or one query per table on an engine without one."""
        if not tables:
            return {}
        catalog = self.columns_sql(", ".join([self.param] * len(tables)))
        found: dict[str, dict[str, str]] = {}
        if catalog is None:
            for table in tables:
                if self.table_exists(table):
                    cols, _ = self.query(f"select * from {self.qualified(table)} limit 0")
                    found[table] = {c.lower(): "" for c in cols}
            return found
        sql, schema = catalog
        for table, column, type_ in self.query(sql, [schema, *tables])[1]:
            found.setdefault(table, {})[column.lower()] = type_
        return found

    def views_among(self, tables: list[str]) -> list[str]:
        """Which of ``tables`` are views in :attr:`schema`, not tables (lower case); ``[]`` on an
        engine that cannot say (:meth:`views_sql`)."""
        catalog = self.views_sql(", ".join([self.param] * len(tables))) if tables else None
        if catalog is None:
            return []
        sql, schema = catalog
        return [str(r[0]) for r in self.query(sql, [schema, *tables])[1]]

    def views_sql(self, marks: str) -> tuple[str, str] | None:
        """(query, schema) for :meth:`views_among`: the names, lower case, of the views among the
        tables given as ``marks`` in the schema given as the first parameter; None: no catalog."""
        return None

    def columns_sql(self, marks: str) -> tuple[str, str] | None:
        """(query, schema) for :meth:`columns_of`: rows of (table name, column name, type name) in column order,
        for the schema given as the first parameter and the tables as ``marks``; None: no catalog."""
        return None

    # -- statements ---------------------------------------------------------------------------------

    def statement(self, name: str, scope: dict[str, str] | None = None) -> str:
        """The text of ``sql/<folder>/<name>.sql`` for this engine, macros expanded.

        ``scope`` overrides the transform's scope macros (:data:`sparkify.sql.FULL_SCOPE`): an
        incremental transform passes :func:`sparkify.sql.incremental_scope` and the id offset."""
        return sqlfiles.load(name, self.sql_folders, {**sqlfiles.FULL_SCOPE, **self.macros, **(scope or {})})

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
        kind = "unlogged table" if table.kind == "staging" and self.unlogged_staging else "table"
        return (
            f"create {kind} if not exists {self.qualified(table.name)} (\n    " + ",\n    ".join(cols) + "\n)"
        )

    def index_sql(self, table: Table) -> list[str]:
        """``create index if not exists`` for the secondary indexes ``table`` gets beside its primary
        key (run after it is created, and on a warehouse made before the index: :meth:`ensure_indexes`).
        None by default (an empty list): DuckDB and Redshift have no such indexes."""
        return []

    def load_into_empty_sql(self, table: Table) -> tuple[list[str], list[str]]:
        """(before, after) a bulk insert into ``table`` while it is empty: where maintaining its
        secondary indexes row by row costs more than building them once, they are dropped before and
        made again after (PostgreSQL). Nothing by default."""
        return [], []

    def summarize_sql(self, table: Table) -> list[str]:
        """Statements that bring ``table``'s index summaries up to date after rows were added in
        bulk (PostgreSQL's BRIN indexes); none by default."""
        return []

    def ensure_indexes(self, tables: Sequence[Table]) -> list[str]:
        """Create the :meth:`index_sql` indexes of ``tables`` that are missing (a warehouse made by an
        earlier sparkify); return the statements run. Nothing on engines without indexes."""
        done = []
        for table in tables:
            for statement in self.index_sql(table):
                self.execute(statement)
                done.append(statement)
        return done

    def setup_statements(self) -> list[str]:
        """Statements run once per connection before any other (e.g. search_path)."""
        return []

    def schemas_holding(self, tables: list[str]) -> list[str]:
        """The schemas (other than none) that hold every one of ``tables``, sorted: where to look
        when they are missing from :attr:`schema`. Engines without schemas return ``[]``."""
        return []

    def create_schema_sql(self) -> str | None:
        """``create schema if not exists`` for :attr:`schema`, or None where there is nothing to create."""
        return None

    def schema_exists(self) -> bool:
        """True when :attr:`schema` exists (always, for engines without schemas)."""
        return True

    def create_schema(self) -> bool:
        """Create :attr:`schema` if it is missing and point the session at it; True if created."""
        return False

    def analyze_sql(self, table: str) -> str | None:
        """Refresh the planner's statistics of ``table`` after a bulk load, or None where the engine
        needs no such step (DuckDB keeps them itself)."""
        return None

    def clear_table_sql(self, table: str) -> str:
        """Empty one table inside the open transaction (``TRUNCATE`` only where it is transactional)."""
        if self.truncates_in_transaction:
            return f"truncate table {self.qualified(table)}"
        return f"delete from {self.qualified(table)}"

    def clear_star_sql(self, tables: Sequence[Table]) -> list[str]:
        """Statements that empty the star ``tables`` before a full rebuild, inside its transaction.
        ``DELETE``, not ``TRUNCATE``, by default: readers keep seeing the last run's rows (and are
        never blocked) until the rebuild commits. The fact table is emptied first."""
        return [f"delete from {self.qualified(t.name)}" for t in reversed(tables)]

    def rebuild_table_sql(self, table: Table, insert_sql: str) -> list[str]:
        """Statements that fill star ``table``, emptied by :meth:`clear_star_sql`, with ``insert_sql``
        (its ``insert_<table>.sql``). By default that statement alone."""
        return [insert_sql]

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
        self.execute(
            f"insert into {self.qualified(table.name)} ({cols}) values ({marks})", list(values.values())
        )

    def bound_chunks(self, values: list[Any], size: int = 500) -> Iterator[tuple[str, list[Any]]]:
        """``values`` in chunks of at most ``size``, each with its placeholders (``%s, %s``): for
        ``column in (<marks>)`` with the chunk bound, so no statement takes too many parameters."""
        for i in range(0, len(values), size):
            chunk = values[i : i + size]
            yield ", ".join([self.param] * len(chunk)), chunk

    def delete_where_in(self, table: Table, column: str, values: list[Any], *, extra: str = "") -> None:
        """``delete from table where column in (values)``, in chunks, values bound."""
        for marks, chunk in self.bound_chunks(values):
            self.execute(
                f"delete from {self.qualified(table.name)} where {quote(column)} in ({marks}){extra}", chunk
            )

    def delete_where_not_in(
        self, table: Table, column: str, keep: list[Any], *, kind: str | None = None
    ) -> None:
        """``delete from table where column not in (keep)`` (rows where it is null too; and ``kind =
        kind`` when given). ``keep`` (not empty) goes into a temp table first, in chunks of bound
        values: one statement binding every value breaks the driver's limit (32,767 on Redshift,
        65,535 on PostgreSQL) once tens of thousands of files are kept."""
        keep_table = "sparkify_keep"
        self.execute(f"drop table if exists {keep_table}")
        self.execute(f"create temp table {keep_table} (value varchar(65535))")
        for _, chunk in self.bound_chunks(keep):
            rows = ", ".join([f"({self.param})"] * len(chunk))
            self.execute(f"insert into {keep_table} (value) values {rows}", chunk)
        where = f"{quote('kind')} = {self.param} and " if kind is not None else ""
        self.execute(
            f"delete from {self.qualified(table.name)} where {where}({quote(column)} is null or "
            f"{quote(column)} not in (select value from {keep_table}))",
            [kind] if kind is not None else None,
        )
        self.execute(f"drop table {keep_table}")

    def insert_from_reader_sql(self, table: Table, relation: str) -> list[str]:
        """The statements :meth:`insert_from_reader` runs on the warehouse, in order (``sparkify sql``)."""
        cols = ", ".join(quote(c) for c in table.column_names)
        return [f"insert into {self.qualified(table.name)} ({cols}) select {cols} from {relation}"]

    def refuse_source(self, source) -> None:
        """Raise ConfigError, before anything is created or read, when this engine cannot load from
        ``source`` (a location or an opened Source): Redshift's COPY reads S3, not a local folder.
        Every source suits the engines that read through this machine."""
        return None

    def prepare_load(self, source) -> None:
        """Called with the run's opened source before anything is read. Engines that send staged
        rows through the source's storage (Redshift: S3) note it here; others need nothing."""
        return None

    def note_shown_source(self, source: str) -> None:
        """Told the ``--source`` of statements rendered for review (``sparkify sql``), which read a
        stand-in: an engine that stages through the source's storage shows where (Redshift: the
        staging prefix under an ``s3://`` source). Others need nothing."""
        return None

    def copy_from_s3(self, table: Table, manifest: str) -> int:
        """COPY the staged objects ``manifest`` names into ``table``, server-side; return the rows
        loaded. Only engines whose :attr:`copies_from_s3` is true implement it."""
        raise NotImplementedError(f"the {self.name} engine stages through the client, not from S3")

    def merge_statements(self, table: Table, insert_sql: str) -> list[str]:
        """Statements that make star ``table`` hold exactly the rows ``insert_sql`` computes, touching
        only rows that differ. Only engines whose :attr:`merges_star_rows` is true implement it."""
        raise NotImplementedError(f"the {self.name} engine rebuilds star tables instead of merging")

    def reader_connection(self):
        """The DuckDB connection the JSON reader parses into."""
        import duckdb

        from sparkify import interrupts

        return interrupts.interruptible(duckdb.connect())
