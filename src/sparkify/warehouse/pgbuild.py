"""PostgreSQL's build of the star schema and staging indexes, as a base class of the engine
(moved verbatim from warehouse/postgres.py): a full rebuild into fresh storage (``TRUNCATE``, each
primary key built once after its insert) when the loading role owns the star tables, the plain
``DELETE`` rebuild otherwise; the secondary indexes of staging and their creation on a warehouse
made before them; the settings each session starts with (``jit``, ``work_mem``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sparkify.quoting import literal
from sparkify.schema import Table
from sparkify.warehouse.base import quote
from sparkify.warehouse.pgerrors import PostgresErrors

WORK_MEM = "64MB"
"""The ``work_mem`` of a sparkify session (memory per sort or hash step before it spills to disk)
where nothing set it (PostgreSQL's built-in default is 4MB): a setting of the server, database or
role, or ``options=-c work_mem=...`` in the URL, is kept."""


_USER = f"(cast(nullif({quote('user_id')}, '') as integer))"

SECONDARY_INDEXES: dict[str, tuple[tuple[str, str, str], ...]] = {
    # A run deletes (and, when incremental, captures) the rows of each changed file by source_file;
    # without the index each is a scan of all of staging.
    "staging_songs": (("staging_songs_source_file", "btree", quote("source_file")),),
    "staging_events": (
        ("staging_events_source_file", "btree", quote("source_file")),
        # scope_users.sql reaches each changed user's recent events through it
        ("staging_events_user_ts", "btree", f"{_USER}, {quote('ts')}"),
        # scope_songplays.sql: whether a recent play's natural key was delivered before the bound
        ("staging_events_play_key", "btree", f"{_USER}, {quote('session_id')}, {quote('item_in_session')}"),
        # scope_songplays.sql: the events from the bound on. Files are staged day by day, so ts follows
        # the rows' order on disk and a BRIN index (a few pages, nearly free to maintain) finds a day
        ("staging_events_ts", "brin", quote("ts")),
    ),
    # the incremental transform's deletes and scopes, and the scoped checks, read the plays from
    # the bound on; plays are inserted in start_time order
    "songplays": (("songplays_start_time", "brin", quote("start_time")),),
}
"""Per table, its secondary indexes beside the primary key: (name, method, indexed columns or
expressions). What reads each is said beside it; measured in benchmarks/README.md."""


class PostgresBuild(PostgresErrors):
    """The engine's DDL choices for a rebuild and its indexes, and its session settings (see the
    module docstring)."""

    conn: Any
    session_settings: ClassVar[tuple[str, ...]] = (
        # JIT compiles each big statement's expressions first: ~0.5 s a statement, more than an
        # incremental run's scoped statements take to run, and no gain on a full build (measured on
        # 1M events, benchmarks/README.md "Figures, third session").
        "set jit = off",
        # Redshift's sessions are in UTC: timestamptz arithmetic in a query (date_trunc, ::date,
        # extract) must not follow the server's, database's or client's (PGTZ) time zone
        "set timezone to 'UTC'",
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
        summarize = self.summarize_sql(table)
        if not (table.primary_key and self.declares_primary_keys and self.owns_tables([table])):
            return [insert_sql, *summarize]
        name = quote(f"{table.name}_pkey")  # PostgreSQL's own name for the key create table declares
        cols = ", ".join(quote(k) for k in table.primary_key)
        qualified = self.qualified(table.name)
        return [
            f"alter table {qualified} drop constraint if exists {name}",
            insert_sql,
            f"alter table {qualified} add constraint {name} primary key ({cols})",
            *summarize,
        ]

    # -- indexes --------------------------------------------------------------------------------------

    def index_sql(self, table: Table) -> list[str]:
        """The secondary indexes (see :data:`SECONDARY_INDEXES`), as ``create index if not exists``.
        Redshift (a subclass) has no indexes and overrides this."""
        out = []
        for name, method, columns in SECONDARY_INDEXES.get(table.name, ()):
            using = f" using {method}" if method != "btree" else ""
            out.append(
                f"create index if not exists {quote(name)} on {self.qualified(table.name)}{using} ({columns})"
            )
        return out

    def load_into_empty_sql(self, table: Table) -> tuple[list[str], list[str]]:
        """Drop ``table``'s secondary btree indexes before a COPY into it while empty and build each
        once after it (sorted, in bulk: at 1M events the COPY with four indexes maintained row by row took
        about twice the COPY without them plus the builds; benchmarks/README.md). Inside the load's
        transaction: a rollback brings the indexes back, and readers of the table wait for the commit.
        A BRIN index stays: a row added to a range not summarized yet costs it nothing, and the
        summary after the COPY (:meth:`summarize_sql`) is its build. Only for the owner (dropping an index needs it); otherwise nothing changes."""
        names = [name for name, method, _ in SECONDARY_INDEXES.get(table.name, ()) if method != "brin"]
        made = [s for s in self.index_sql(table) if any(f"{quote(name)} on " in s for name in names)]
        if not made or not self.owns_tables([table]):
            return [], []
        return [f"drop index if exists {self.qualified(name)}" for name in names], made

    def summarize_sql(self, table: Table) -> list[str]:
        """Summarize the page ranges of ``table``'s BRIN indexes that rows were added to since the last
        summary (``brin_summarize_new_values``): until then a BRIN index cannot skip those pages. Run
        after each bulk insert (cheap: it reads only the new pages). Only the owner may: for a role
        that does not own ``table`` nothing is summarized (autovacuum does it later; until then the
        index reads the new pages, never fewer rows)."""
        # an engine without these indexes (Redshift) has none to summarize
        made = " ".join(self.index_sql(table))
        if "using brin" not in made or not self.owns_tables([table]):
            return []
        return [
            f"select brin_summarize_new_values({literal(self.qualified(name))}::regclass)"
            for name, method, _ in SECONDARY_INDEXES.get(table.name, ())
            if method == "brin" and f"{quote(name)} on " in made
        ]

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
