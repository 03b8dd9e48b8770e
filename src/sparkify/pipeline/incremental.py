"""The incremental transform: the key columns of the staging rows a run removed and added are
captured in ``sparkify_changed_<kind>``, the scope temp tables (``sql/default/scope_*.sql``) are
filled from them, and the star tables are updated in place from that scope only -- when the star
tables are known to match staging (:func:`_star_matches_staging`). Gives the tables a full rebuild
would.
"""

from __future__ import annotations

from sparkify import ledger, quality
from sparkify.errors import (
    MissingTableError,
)
from sparkify.pipeline.plan import KINDS, STAGING_OF
from sparkify.progress import Progress
from sparkify.schema import (
    STAR_TABLES,
)
from sparkify.sql import incremental_scope, read_since
from sparkify.warehouse.base import Warehouse, quote

CHANGED_COLUMNS = {
    "events": ("user_id", "session_id", "item_in_session", "ts", "page"),
    "songs": ("song_id", "artist_id", "title", "artist_name", "duration"),
}
"""The staging columns the incremental transform needs of each changed row: what a star row is keyed
or matched on (see sql/default/scope_*.sql)."""


SCOPES = ("since", "users", "songs", "artists", "songplays", "time")
"""The temp tables ``sparkify_scope_<name>`` an incremental transform fills (``scope_<name>.sql``)."""


def _star_matches_staging(wh: Warehouse) -> bool:
    """True when the star tables were last built from staging as it is now: the last successful load
    was a ``run`` (a ``stage`` alone changes staging and leaves the star tables behind)."""
    return ledger.last_succeeded_command(wh) == "run"


def _start_changes(wh: Warehouse) -> None:
    """Create the empty temp tables ``sparkify_changed_events`` and ``sparkify_changed_songs`` (the
    :data:`CHANGED_COLUMNS` of staging). Created inside the run's transaction: a rollback drops them."""
    for kind in KINDS:
        name = f"sparkify_changed_{kind}"
        wh.execute(f"drop table if exists {name}")
        cols = ", ".join(quote(c) for c in CHANGED_COLUMNS[kind])
        wh.execute(
            f"create temp table {name} as select {cols} from {wh.qualified(STAGING_OF[kind])} where 1 = 0"
        )


def _capture_changes(wh: Warehouse, kind: str, files: list[str]) -> None:
    """Copy the :data:`CHANGED_COLUMNS` of the staging rows of ``files`` into ``sparkify_changed_<kind>``."""
    cols = ", ".join(quote(c) for c in CHANGED_COLUMNS[kind])
    for marks, chunk in wh.bound_chunks(files):
        wh.execute(
            f"insert into sparkify_changed_{kind} select {cols} from {wh.qualified(STAGING_OF[kind])} "
            f"where {quote('source_file')} in ({marks})",
            chunk,
        )


REBUILD_FRACTION: float | None = 0.5
"""An incremental transform deletes and rebuilds every play from the earliest instant a change
reaches (songplay ids are numbered in start_time order, so a late event renumbers every later play).
When the staged events from that instant on are more than this fraction of all staged events (an old
day re-delivered, a late-arriving event), a full rebuild costs less and gives the same tables, and
the run does that instead. None: always incremental (the tests of the incremental path)."""


def _transform_incremental(wh: Warehouse, progress: Progress) -> bool:
    """Update the star tables in place from the staging rows this run added or removed (noted by
    :func:`_capture_changes`); the result equals :func:`_transform`'s rebuild.

    Each table deletes the rows a change can reach and inserts them again with its own
    ``insert_<table>.sql``, read over the scope temp tables instead of all of staging: users, songs
    and artists by key; songplays and time from the earliest instant a change can reach, ids numbered
    after the plays kept. Cost follows the changed rows plus one scan of staging_events.

    Returns False, having changed nothing, when a full rebuild costs less (:data:`REBUILD_FRACTION`):
    the caller rebuilds. Its temp tables are then dropped, so the checks after it check every row."""
    for kind in KINDS:
        _analyze_temp(wh, f"sparkify_changed_{kind}")
    _fill_scope(wh, "since", {})
    since = read_since(wh)
    scope = incremental_scope(since)
    if since is not None and _rebuild_costs_less(wh, scope):
        for name in (
            *(f"sparkify_changed_{kind}" for kind in KINDS),
            *(f"sparkify_scope_{n}" for n in SCOPES),
        ):
            wh.execute(f"drop table if exists {name}")
        return False
    progress.start("transform", len(STAR_TABLES))
    for table in STAR_TABLES:
        _fill_scope(wh, table.name, scope)
        wh.execute(wh.statement(f"delete_{table.name}", scope))
        if table.name == "songplays":
            _, kept = wh.query(f"select count(*) from {wh.qualified(table.name)}")
            scope = {**scope, "id_offset": str(int(kept[0][0]))}
        wh.execute(wh.statement(f"insert_{table.name}", scope))
        progress.advance("transform")
    for name in SCOPES:  # what the scoped checks read stays until they ran (quality.SCOPE_TABLES)
        if f"sparkify_scope_{name}" not in quality.SCOPE_TABLES:
            wh.execute(f"drop table if exists sparkify_scope_{name}")
    for table in STAR_TABLES:
        for statement in (*wh.summarize_sql(table), wh.analyze_sql(table.name)):
            if statement:
                wh.execute(statement)
    progress.finish("transform")
    return True


def _rebuild_costs_less(wh: Warehouse, scope: dict[str, str]) -> bool:
    """True when the staged events an incremental transform would read again (``ts`` from the
    scope's bound on: an index range on PostgreSQL, zone maps on DuckDB) are more than
    :data:`REBUILD_FRACTION` of all staged events (the ledger's count: no scan of staging)."""
    if REBUILD_FRACTION is None:
        return False
    _, total = wh.query(
        f"select sum({quote('records_staged')}) from {wh.qualified('load_files')} where {quote('kind')} = 'events'"
    )
    staged = int(total[0][0] or 0) if total else 0
    if staged == 0:
        return False
    from sparkify.sql import expand

    _, after = wh.query(
        expand(
            f"select count(*) from {wh.qualified('staging_events')} where {quote('ts')} >= @since_ms()", scope
        )
    )
    return int(after[0][0]) > REBUILD_FRACTION * staged


def _scope_left(wh: Warehouse) -> bool:
    """True when this connection still holds the temp tables an incremental transform left for
    the scoped checks."""
    try:
        for table in quality.SCOPE_TABLES:
            wh.query(f"select count(*) from {table}")
    except MissingTableError:
        return False
    return True


def _fill_scope(wh: Warehouse, name: str, scope: dict[str, str]) -> None:
    """(Re)create the temp table ``sparkify_scope_<name>`` with ``scope_<name>.sql`` (macros ``scope``:
    :func:`~sparkify.sql.incremental_scope`; none for ``since``, which the others' bound comes from)."""
    wh.execute(f"drop table if exists sparkify_scope_{name}")
    wh.execute(wh.statement(f"scope_{name}", scope))
    _analyze_temp(wh, f"sparkify_scope_{name}")


def _analyze_temp(wh: Warehouse, name: str) -> None:
    """Give the planner the row count of a fresh temp table (engines that analyze): without it
    PostgreSQL guesses, and a wrong guess turns a hash join into a nested loop."""
    if wh.analyze_sql(name):
        wh.execute(f"analyze {name}")
