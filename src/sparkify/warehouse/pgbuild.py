"""PostgreSQL's build of the star schema and staging indexes, as a base class of the engine
(moved verbatim from warehouse/postgres.py): a full rebuild into fresh storage (``TRUNCATE``, each
primary key built once after its insert) when the loading role owns the star tables, the plain
``DELETE`` rebuild otherwise; the secondary indexes of staging and their creation on a warehouse
made before them; the settings each session starts with (``jit``, ``work_mem``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sparkify.schema import Table
from sparkify.warehouse.base import quote
from sparkify.warehouse.pgerrors import PostgresErrors

WORK_MEM = "64MB"
"""The ``work_mem`` of a sparkify session (memory per sort or hash step before it spills to disk)
where nothing set it (PostgreSQL's built-in default is 4MB): a setting of the server, database or
role, or ``options=-c work_mem=...`` in the URL, is kept."""


class PostgresBuild(PostgresErrors):
    """The engine's DDL choices for a rebuild and its indexes, and its session settings (see the
    module docstring)."""

    conn: Any
    session_settings: ClassVar[tuple[str, ...]] = (
        # JIT compiles each big statement's expressions first: ~0.5 s a statement, more than an
        # incremental run's scoped statements take to run, and no gain on a full build (measured on
        # 1M events, benchmarks/README.md "Figures, third session").
        "set jit = off",
        # 4MB (PostgreSQL's default work_mem) turns the reconciliation check's distinct over 10M
        # staged events into a hash aggregate spilling batch after batch: over 15 min. With 64MB the
        # same check takes 13.5 s. Only where nothing set work_mem: a value of the server, database,
        # role or URL (options=-c work_mem=...) is kept.
        f"select set_config('work_mem', '{WORK_MEM}', false) from pg_catalog.pg_settings "
        "where name = 'work_mem' and source = 'default'",
    )
    """Statements that set up each session sparkify opens, after its search_path."""

    # -- the full rebuild: fresh storage, the primary key built once --------------------------------

    def clear_star_sql(self, tables: Sequence[Table]) -> list[str]:
        """``TRUNCATE`` (transactional here): each star table gets fresh, empty storage inside the
        rebuild's transaction, and the old rows stay until it commits -- the swap happens then, and a
        rollback keeps the old storage. Unlike ``DELETE``, the rebuild's inserts then never meet the
        deleted rows' index entries (re-inserting the same keys cost several times a plain insert).
        The table itself is kept, with its grants, comments and the views over it; readers wait for
        the commit (``TRUNCATE`` locks the table) and then see the new rows.

        A role that does not own every star table (it may insert and delete, but not truncate or
        alter) gets the plain ``DELETE`` rebuild of the other engines (:meth:`owns_tables`)."""
        if not self.owns_tables(tables):
            return super().clear_star_sql(tables)
        return [f"truncate table {', '.join(self.qualified(t.name) for t in reversed(tables))}"]

    def owns_tables(self, tables: Sequence[Table]) -> bool:
        """True when the session's role owns (directly or through a role it belongs to) every table
        of ``tables`` that exists in the schema -- what ``TRUNCATE`` plus dropping and adding a
        primary key need. True on an offline engine (``sparkify sql`` shows the owner's rebuild)."""
        if self.conn is None:
            return True
        _, rows = self.query(
            "select count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = any(%s) and not pg_catalog.pg_has_role(c.relowner, 'USAGE')",
            [self.schema or "public", [t.name for t in tables]],
        )
        return not (rows and rows[0][0])

    def rebuild_table_sql(self, table: Table, insert_sql: str) -> list[str]:
        """The primary key is dropped before the insert and added after it: one sorted index build
        instead of a unique-index insert per row (what ``create table as`` plus ``add primary key``
        costs). Same constraint name, columns and types as :meth:`create_table_sql` makes."""
        if not (table.primary_key and self.declares_primary_keys and self.owns_tables([table])):
            return [insert_sql]
        name = quote(f"{table.name}_pkey")  # PostgreSQL's own name for the key create table declares
        cols = ", ".join(quote(k) for k in table.primary_key)
        qualified = self.qualified(table.name)
        return [
            f"alter table {qualified} drop constraint if exists {name}",
            insert_sql,
            f"alter table {qualified} add constraint {name} primary key ({cols})",
        ]

    # -- indexes --------------------------------------------------------------------------------------

    def index_sql(self, table: Table) -> list[str]:
        """Staging tables: an index on ``source_file``. A run deletes (and, when incremental,
        captures) the rows of each changed file by it; without the index each is a scan of all of
        staging. staging_events also gets one on (user_id as integer, ts) for scope_users.sql.
        Redshift (a subclass) has no indexes and overrides this."""
        if table.kind != "staging" or "source_file" not in table.column_names:
            return []
        name = quote(f"{table.name}_source_file")
        out = [f"create index if not exists {name} on {self.qualified(table.name)} ({quote('source_file')})"]
        if {"user_id", "ts"} <= set(table.column_names):
            # scope_users.sql reaches each changed user's recent events through it, not a scan of staging
            name = quote(f"{table.name}_user_ts")
            out.append(
                f"create index if not exists {name} on {self.qualified(table.name)} "
                f"((cast(nullif({quote('user_id')}, '') as integer)), {quote('ts')})"
            )
        return out

    def ensure_indexes(self, tables: Sequence[Table]) -> list[str]:
        """Create the missing :meth:`index_sql` indexes of those ``tables`` that exist: read from the
        catalog first, so a warehouse that has them takes no lock."""
        wanted = [(t, s) for t in tables for s in self.index_sql(t)]
        if not wanted:
            return []
        _, rows = self.query(
            "select indexname from pg_catalog.pg_indexes where schemaname = %s", [self.schema]
        )
        present = {r[0] for r in rows}
        done = []
        for table, statement in wanted:
            name = statement.split(" if not exists ", 1)[1].split(" on ", 1)[0].strip('"')
            if name not in present and self.table_exists(table.name):
                self.execute(statement)
                done.append(statement)
        return done
