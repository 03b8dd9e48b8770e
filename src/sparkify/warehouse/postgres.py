"""PostgreSQL: a server engine. JSON is parsed by DuckDB on this machine and streamed in with COPY.

Driver: psycopg 3 (``pip install 'sparkify[postgres]'``), imported only when a connection is opened,
so statements can be rendered (``sparkify sql``) without it. Driver errors are mapped in
:mod:`sparkify.warehouse.pgerrors` (the base class :class:`PostgresErrors`); the COPY plumbing is
:mod:`sparkify.warehouse.pgcopy`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from sparkify import interrupts
from sparkify.errors import ConfigError, WarehouseError
from sparkify.schema import Table
from sparkify.warehouse.base import quote
from sparkify.warehouse.locking import wait_for
from sparkify.warehouse.pgbuild import PostgresBuild
from sparkify.warehouse.pgcopy import csv_copy_sql, pipe_rows, split_reader_settings
from sparkify.warehouse.pgerrors import CHARACTER_NOT_IN_REPERTOIRE, _refuse_nul

ANALYZE_FRACTION = 10
"""A load is followed by ``analyze`` when it adds at least 1/ANALYZE_FRACTION of the rows the table
held (autovacuum's own default threshold, ``autovacuum_analyze_scale_factor = 0.1``): a day added to
a big warehouse does not pay a scan of the whole table for statistics that barely change."""


class PostgresWarehouse(PostgresBuild):
    name: ClassVar[str] = "postgres"
    sql_dialect: ClassVar[str] = "postgres"
    sql_folders: ClassVar[tuple[str, ...]] = ("postgres",)
    type_map: ClassVar[dict[str, str]] = {
        # COLLATE "C": text sorts and compares bytewise, as in DuckDB, whatever the database's
        # locale -- so ORDER BY (and the picks of the window functions) agree across engines.
        "text": 'text collate "C"',
        "integer": "integer",
        "bigint": "bigint",
        "identity": "bigint",
        "double": "double precision",
        "timestamp": "timestamp",
        "boolean": "boolean",
    }
    param: ClassVar[str] = "%s"
    unlogged_staging: ClassVar[bool] = True
    locks_with_advisory_lock: ClassVar[bool] = True
    """True when the engine serializes sparkify processes with a session-level advisory lock."""
    macros: ClassVar[dict[str, str]] = {
        # epoch milliseconds -> TIMESTAMP, exactly: no division (integer division would drop the
        # milliseconds) and no float seconds (to_timestamp(ts / 1000.0) can be off by a microsecond).
        "ts_to_timestamp": "(timestamp '1970-01-01' + {0} * interval '1 millisecond')",
    }
    default_schema: ClassVar[str | None] = "public"
    read_only_sessions: ClassVar[bool] = True
    """A session opened only to read (:meth:`open` with ``lock=False``: query, check, report, runs,
    compare) makes every transaction READ ONLY, so the server refuses any write."""
    default_port: ClassVar[int] = 5432
    label: ClassVar[str] = "PostgreSQL"
    """The engine's name in messages."""
    extra: ClassVar[str] = "postgres"
    """The pip extra that installs the driver."""
    password_from: ClassVar[str] = "the URL, PGPASSWORD or ~/.pgpass"
    """Where a password is looked for, for messages."""
    max_identifier_bytes: ClassVar[int] = 63
    """The longest name (UTF-8 bytes) the server keeps whole: PostgreSQL cuts a longer one to 63 bytes,
    silently, so two schema names would reach the same tables."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        connection: Any = None,
        wait: bool = True,
        wait_timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ):
        named = schema or self.default_schema or "public"
        super().__init__(url, schema=named)
        size = len(named.encode("utf-8"))
        if size > self.max_identifier_bytes:
            raise ConfigError(
                f"The schema name {named[:20]!r}... is {size} bytes long; "
                f"{self.label} names are at most {self.max_identifier_bytes} (the server cuts a longer one short, so "
                "it could reach another schema's tables): give a shorter one."
            )
        self.conninfo, self.reader_settings = split_reader_settings(url)
        """The URL libpq gets (sparkify's reader settings taken out), and those settings."""
        from sparkify.warehouse.duckdb import _settings

        self.duckdb_config = _settings(self.reader_settings)
        """The parser's DuckDB settings, checked now: a bad one is refused before anything is connected."""
        self._locks = True
        """False for a session opened only to read (:meth:`open` with ``lock=False``)."""
        self._streaming = False
        """True while :meth:`stream` holds a transaction of its own open for its cursor."""
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.on_wait = on_wait
        self.conn = connection
        """The driver connection (autocommit: transactions are opened by :meth:`transaction`), or
        None for an offline instance."""
        self._depth = 0
        self._reader = None
        self._spill: Any = None

    # -- connection ---------------------------------------------------------------------------------

    @classmethod
    def offline(cls, *, schema: str | None = None, **options) -> PostgresWarehouse:
        return cls(f"{cls.name}://user@host/db", schema=schema, **options)

    @classmethod
    def open(cls, url: str, *, schema: str | None = None, lock: bool = True, **options) -> PostgresWarehouse:
        """Connect to the server ``url`` names and point the session at ``schema``.

        The URL goes to libpq as it is, so a password missing from it is taken from ``PGPASSWORD``
        or ``~/.pgpass``, like psql does.
        """
        wh = cls(url, schema=schema, **options)
        wh._locks = lock
        wh.conn = wh._connect()
        try:
            wh._use_schema()
            wh._lock()
        except BaseException:
            wh.close()
            raise
        return wh

    def reconnect(self) -> None:
        """A fresh connection after a transient failure (the reader's parsed rows are kept)."""
        with contextlib.suppress(Exception):
            self.conn.close()
        self._depth = 0
        self.conn = self._connect()
        self._use_schema()
        self._lock()

    def _lock(self) -> None:
        """Hold a session-level advisory lock on this schema, so two sparkify processes never load
        it at once: the second waits (``wait``) or fails at once. Not for a session opened only to
        read (``open(lock=False)``): it sees the last committed load, whatever runs meanwhile."""
        if not self.locks_with_advisory_lock or not self._locks:
            return
        key = f"sparkify:{self.schema}"

        def try_lock() -> bool:
            return bool(self.query("select pg_try_advisory_lock(hashtext(%s))", [key])[1][0][0])

        wait_for(
            try_lock,
            what=f"schema {self.schema} of {self.display_url}",
            wait=self.wait,
            timeout=self.wait_timeout,
            on_wait=self.on_wait,
        )

    def _use_schema(self) -> None:
        try:
            for statement in self.setup_statements():
                self.execute(statement)
        except WarehouseError:
            # Redshift refuses a search_path naming a schema that does not exist yet; create-tables
            # makes it and sets the path then (create_schema), and until then every step stops
            # on its missing tables.
            if self.schema_exists():
                raise

    def _connect(self):
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigError(
                f"The {self.label} engine needs psycopg: pip install 'sparkify[{self.extra}]'."
            ) from exc
        conninfo = self.conninfo
        if conninfo.startswith("postgres://"):
            conninfo = "postgresql://" + conninfo[len("postgres://") :]
        try:
            return psycopg.connect(
                conninfo,
                autocommit=True,
                application_name="sparkify",
                client_encoding="utf8",
                connect_timeout=10,
            )
        except psycopg.Error as exc:
            raise self.error_for(exc, connecting=True) from exc

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._spill is not None:
            self._spill.cleanup()
            self._spill = None
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None

    def reader_connection(self):
        """An in-memory DuckDB connection the JSON is parsed into (one per warehouse, closed with it).

        It keeps the same memory settings as a DuckDB warehouse (:data:`DEFAULT_SETTINGS`:
        ``memory_limit = 1GB`` unless the URL names another, e.g.
        ``postgresql://me@host/db?memory_limit=4GB``) and spills what does not fit into a temp folder
        of its own, removed with the connection."""
        if self._reader is None:
            import duckdb

            from sparkify.files import scratch_dir

            config = dict(self.duckdb_config)
            if "temp_directory" not in self.reader_settings:
                self._spill = scratch_dir("reader")
                config["temp_directory"] = self._spill.name
            try:
                self._reader = interrupts.interruptible(duckdb.connect(config=config))
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                raise ConfigError(
                    f"Bad DuckDB setting in the warehouse URL ({', '.join(sorted(self.reader_settings))}): {first}"
                ) from exc
        return self._reader

    def setup_statements(self) -> list[str]:
        # unqualified names in the .sql files resolve in our schema (a schema that does not exist
        # yet is skipped by PostgreSQL until create-tables makes it)
        statements = [f"set search_path to {quote(self.schema or 'public')}", *self.session_settings]
        if not self._locks and self.read_only_sessions:
            # a session opened only to read cannot write, whatever a query calls (lo_create,
            # nextval, a function that writes): every transaction in it is READ ONLY
            statements.append("set default_transaction_read_only = on")
        if self.locks_with_advisory_lock and not self._locks:
            # a reader takes no sparkify lock, but a load's full rebuild locks the star tables until
            # its commit: wait for that as a load waits for the lock (--wait, --wait-timeout)
            ms = (
                1
                if not self.wait
                else 0
                if self.wait_timeout is None
                else max(1, int(self.wait_timeout * 1000))
            )
            statements.append(f"set lock_timeout = {ms}")
        return statements

    # -- statements ---------------------------------------------------------------------------------

    def _cursor(self):
        if self.conn is None:
            raise WarehouseError(f"{self.label} warehouse {self.display_url} is not connected.")
        return self.conn.cursor()

    # execute() and query() are the base class's: traced, errors mapped by error_for()

    def _execute(self, statement: str, params: Sequence[Any] | None) -> None:
        with self._cursor() as cur:
            cur.execute(statement, params)

    def _query(self, statement: str, params: Sequence[Any] | None) -> tuple[list[str], list[tuple]]:
        # a session opened only to read runs each query in a transaction it rolls back: whatever a
        # query calls (a function that writes, lo_create, which READ ONLY lets through), nothing stays
        own = not self._locks and not self._depth and not self._streaming
        with self._cursor() as cur:
            if own:
                cur.execute("begin")
            try:
                cur.execute(statement, params)
                cols = [d[0] for d in cur.description] if cur.description else []
                return cols, [tuple(r) for r in cur.fetchall()] if cur.description else []
            finally:
                if own:
                    self._rollback()

    def stream(self, statement: str, *, batch_rows: int = 50_000) -> tuple[list[str], Iterator[list[tuple]]]:
        """Run one query through a server-side cursor (``DECLARE ... CURSOR``, which PostgreSQL and
        Redshift both speak) and fetch ``batch_rows`` at a time, inside a transaction of its own.

        https://docs.aws.amazon.com/redshift/latest/dg/declare.html
        """
        cursor = "sparkify_stream"
        fetch = f"fetch forward {int(batch_rows)} from {cursor}"
        own = not self._depth  # inside the caller's transaction, the cursor is only closed at the end

        def done() -> None:
            if own:
                self._streaming = False
                self._rollback()  # closes the cursor; the transaction only read
            else:
                self.execute(f"close {cursor}")

        if own:
            self.execute("begin")
            self._streaming = True  # the fetches run in this transaction (see _query)
        try:
            self.execute(f"declare {cursor} cursor for {statement}")
            columns, first = self.query(fetch)
        except BaseException:
            if own:
                self._streaming = False
                self._rollback()
            raise

        def batches() -> Iterator[list[tuple]]:
            try:
                batch = first
                while batch:
                    yield batch
                    _, batch = self.query(fetch)
            finally:
                done()

        return columns, batches()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # nested: part of the outer transaction
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            with interrupts.deferred():  # begun and counted together; a signal meanwhile rolls it back
                self.execute("begin")
                self._depth = 1
            yield
        except BaseException:
            with interrupts.deferred():
                if self._depth:
                    self._depth = 0
                    self._rollback()
            raise
        with interrupts.deferred():  # a signal now takes effect once the commit is done
            self._depth = 0
            self.execute("commit")

    def _rollback(self) -> None:
        """Roll back the open transaction; a connection already lost has nothing to roll back."""
        with contextlib.suppress(Exception), self._cursor() as cur:
            cur.execute("rollback")

    def table_exists(self, table: str) -> bool:
        _, rows = self.query(
            "select count(*) from pg_catalog.pg_class as c "
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = %s",
            [self.schema, table],
        )
        return bool(rows[0][0])

    def views_sql(self, marks: str) -> tuple[str, str] | None:
        return (
            "select c.relname from pg_catalog.pg_class as c "
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
            f"where n.nspname = %s and c.relkind in ('v', 'm') and c.relname in ({marks})",
            self.schema or "public",
        )

    def columns_sql(self, marks: str) -> tuple[str, str] | None:
        return (
            "select c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) "
            "from pg_catalog.pg_attribute as a "
            "join pg_catalog.pg_class as c on c.oid = a.attrelid "
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
            f"where n.nspname = %s and c.relname in ({marks}) and a.attnum > 0 and not a.attisdropped "
            "order by c.relname, a.attnum",
            self.schema or "public",
        )

    def schema_exists(self) -> bool:
        _, rows = self.query("select count(*) from pg_catalog.pg_namespace where nspname = %s", [self.schema])
        return bool(rows[0][0])

    def schemas_holding(self, tables: list[str]) -> list[str]:
        if not tables:
            return []
        marks = ", ".join(["%s"] * len(tables))
        _, rows = self.query(
            "select n.nspname from pg_catalog.pg_class as c "
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
            f"where c.relname in ({marks}) and c.relkind in ('r', 'p') "
            "group by n.nspname having count(distinct c.relname) = %s order by n.nspname",
            [*tables, len(tables)],
        )
        return [r[0] for r in rows]

    def create_schema_sql(self) -> str | None:
        return f"create schema if not exists {quote(self.schema or 'public')}"

    def create_schema(self) -> bool:
        if self.schema_exists():
            return False
        statement = self.create_schema_sql()
        if statement:
            self.execute(statement)
        self._use_schema()
        return True

    # -- staging: DuckDB rows streamed through COPY FROM STDIN ---------------------------------------

    def copy_stdin_sql(self, table: Table) -> str:
        cols = ", ".join(quote(c) for c in table.column_names)
        return f"copy {self.qualified(table.name)} ({cols}) from stdin (format csv)"

    def insert_from_reader_sql(self, table: Table, relation: str) -> list[str]:
        analyze = self.analyze_sql(table.name)
        return [self.copy_stdin_sql(table), *self.summarize_sql(table)] + ([analyze] if analyze else [])

    def analyze_sql(self, table: str) -> str | None:
        # Autovacuum only sees the rows after commit, and a moment later: without fresh statistics
        # the planner takes a million freshly copied rows for a few thousand and picks nested loops.
        return f"analyze {self.qualified(table)}"

    def insert_from_reader(self, table: Table, reader_con, relation: str) -> int:
        """Stream DuckDB ``relation`` into ``table`` with one ``COPY ... FROM STDIN``.

        DuckDB writes the rows as PostgreSQL CSV (its own parallel CSV writer, see :func:`csv_copy_sql`)
        into a named pipe; this thread hands what comes out of the pipe to the server in blocks of
        :data:`COPY_BLOCK_BYTES`. So DuckDB types and renders the next rows while the server ingests
        these, no row passes through Python, and memory stays bounded whatever the load's size.
        """
        from psycopg.copy import QueuedLibpqWriter

        copy, *after = self.insert_from_reader_sql(table, relation)
        summarize = self.summarize_sql(table)
        before = self._estimated_rows(table.name)
        if self.tracer:
            self.tracer(copy)
        try:
            with self._cursor() as cur:
                with cur.copy(copy, writer=QueuedLibpqWriter(cur)) as out:
                    pipe_rows(
                        reader_con,
                        lambda path: csv_copy_sql(table, relation, path),
                        out.write,
                        settings=self.duckdb_config,
                    )
                loaded = cur.rowcount
        except self._driver_errors() as exc:
            if getattr(exc, "sqlstate", None) == CHARACTER_NOT_IN_REPERTOIRE:
                _refuse_nul(table, reader_con, relation, self.label)  # name the columns, if that was it
            raise self.error_for(exc) from exc
        for statement in after:  # analyze only when the statistics changed enough
            if statement in summarize or loaded * ANALYZE_FRACTION >= before:
                self.execute(statement)
        return loaded

    def _estimated_rows(self, table: str) -> float:
        """The planner's row count of ``table`` (``pg_class.reltuples``: 0 when it was never
        analyzed, -1 on PostgreSQL 14+ before the first analyze)."""
        _, rows = self.query(
            "select c.reltuples from pg_catalog.pg_class as c "
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = %s",
            [self.schema, table],
        )
        return float(rows[0][0]) if rows else 0.0
