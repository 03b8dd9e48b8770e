"""Quality checks declared as data. Each check is one query that counts offending rows; zero passes.

The checks come from ``schema.py`` (not-null columns, primary keys, relationships) plus the
reconciliation of the star tables with staging: every NextSong event of a logged-in user is exactly
one songplay; every dimension row comes from its source (no row staging does not give), and every
non-empty user, song and artist id staging gives has its dimension row (none left out).

After an incremental run the same checks may be *scoped*: confined to the star rows that run
rebuilt (:data:`NEW_ROWS`), read from the temp tables its transform left (``sparkify_scope_since``,
``sparkify_scope_songplays``, ``sparkify_changed_events``, ``sparkify_changed_songs``), so their cost
follows the day's data. Rows the run did not touch passed the checks of the run that wrote them;
``sparkify check`` runs every check over every row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sparkify import sql as sqlfiles
from sparkify.schema import STAR_TABLES
from sparkify.warehouse.base import Warehouse, quote

NEW_ROWS = {
    "songplays": "@since(start_time)",
    "time": "@since(start_time)",
    "users": (
        "user_id in (select cast(c.user_id as integer) from sparkify_changed_events as c where c.user_id <> '')"
    ),
    "songs": "song_id in (select c.song_id from sparkify_changed_songs as c)",
    "artists": "artist_id in (select c.artist_id from sparkify_changed_songs as c)",
}
"""Per star table, a condition (on its unqualified columns) true for the rows an incremental run
deleted and wrote again (macro ``@since`` as :func:`sparkify.sql.incremental_scope` writes it): exactly the keys and instants its ``delete_<table>.sql`` removes. A change
that reaches an untouched row (a song gone that old plays matched) moves ``sparkify_scope_since``
back to cover that row: see ``scope_since.sql``."""

SCOPE_TABLES = (
    "sparkify_scope_since",
    "sparkify_scope_songplays",
    "sparkify_changed_events",
    "sparkify_changed_songs",
)
"""The temp tables the scoped checks read; :func:`run_checks` drops them when done."""


@dataclass(frozen=True)
class Check:
    name: str
    kind: str
    """not_null, unique, relationship or reconciliation."""
    table: str
    description: str
    sql: str
    """A query returning one integer: the number of offending rows (or keys)."""
    column: str | None = None
    """not_null: the column, so the not-null checks of one table run as one scan (:func:`run_checks`)."""
    rows: str | None = None
    """not_null: the rows checked (``<table> where <condition>``)."""
    shared: tuple[str, tuple[str, ...]] | None = None
    """A query that answers this check together with others in one pass, and the names of the checks
    its row answers, in column order (:func:`queries` sends it when all of them are to run)."""


@dataclass(frozen=True)
class CheckResult:
    check: Check
    failures: int

    @property
    def passed(self) -> bool:
        return self.failures == 0


def checks(wh: Warehouse, *, scoped: bool = False) -> list[Check]:
    """Every check, in a stable order, with SQL for ``wh``. ``scoped``: each confined to the rows the
    incremental run just made (:data:`NEW_ROWS`; the temp tables of that run must exist): the same
    names and order, each description ending "(rows of this run)"."""
    q = wh.qualified
    out: list[Check] = []
    scope = sqlfiles.incremental_scope(sqlfiles.read_since(wh)) if scoped else None

    def new(table: str, alias: str = "") -> str:
        """`` and <condition>`` on ``table``'s new rows when scoped, else nothing."""
        if scope is None:
            return ""
        cond = sqlfiles.expand(NEW_ROWS[table], scope)
        if alias:  # qualify the table's own column, which each condition starts with
            cond = f"{alias}.{cond}"
        return f" and {cond}"

    for t in STAR_TABLES:
        for c in t.columns:
            if c.not_null or c.name in t.primary_key:
                out.append(
                    Check(
                        f"not_null:{t.name}.{c.name}",
                        "not_null",
                        t.name,
                        f"{t.name}.{c.name} is never null",
                        f"select count(*) from {q(t.name)} where {quote(c.name)} is null{new(t.name)}",
                        column=c.name,
                        rows=f"{q(t.name)} where true{new(t.name)}",
                    )
                )
        if t.primary_key:
            key = ", ".join(quote(k) for k in t.primary_key)
            # scoped: the keys of the new rows, each counted over the whole table (a new row may
            # repeat an old one's key)
            keys = (
                f" where ({key}) in (select {key} from {q(t.name)} where true{new(t.name)})" if scoped else ""
            )
            out.append(
                Check(
                    f"unique:{t.name}.{'+'.join(t.primary_key)}",
                    "unique",
                    t.name,
                    f"{t.name}.{', '.join(t.primary_key)} is unique",
                    f"select count(*) from (select {key} from {q(t.name)}{keys} group by {key} "
                    f"having count(*) > 1) as dup",
                )
            )
    for t in STAR_TABLES:
        for col, other, other_col in t.references:
            out.append(
                Check(
                    f"relationship:{t.name}.{col}->{other}.{other_col}",
                    "relationship",
                    t.name,
                    f"every {t.name}.{col} is in {other}.{other_col}",
                    f"select count(*) from {q(t.name)} as child where child.{quote(col)} is not null"
                    f"{new(t.name, 'child')} and not exists (select 1 from {q(other)} as parent "
                    f"where parent.{quote(other_col)} = child.{quote(col)})",
                )
            )
    out.append(
        Check(
            "reconciliation:songplays.count",
            "reconciliation",
            "songplays",
            "songplays has one row per distinct NextSong event of a logged-in user",
            wh.statement("check_songplays_count", scope),
        )
    )
    out.append(
        Check(
            "reconciliation:songplays.events",
            "reconciliation",
            "songplays",
            "every NextSong event of a logged-in user has its songplay (user, session, start_time)",
            wh.statement("check_songplays_events", scope),
        )
    )
    # every dimension row comes from its source: none left behind by a change or written by hand
    user_of_event = f"cast(nullif(e.{quote('user_id')}, '') as integer)"  # as staging's index has it
    for table, key, source, match in (
        ("users", "user_id", "staging_events", f"{user_of_event} = d.{quote('user_id')}"),
        ("songs", "song_id", "staging_songs", f"e.{quote('song_id')} = d.{quote('song_id')}"),
        ("artists", "artist_id", "staging_songs", f"e.{quote('artist_id')} = d.{quote('artist_id')}"),
        # scoped: a new time row's plays are new too (same instant), so the probe reads only those
        (
            "time",
            "start_time",
            "songplays",
            f"e.{quote('start_time')} = d.{quote('start_time')}{new('songplays', 'e')}",
        ),
    ):
        out.append(
            Check(
                f"reconciliation:{table}.{key}",
                "reconciliation",
                table,
                f"every {table}.{key} is in {source} (no row the source does not give)",
                f"select count(*) from {q(table)} as d where true{new(table, 'd')} and not exists "
                f"(select 1 from {q(source)} as e where {match})",
            )
        )
    # and every source row has its dimension row: none left out (deleted, or never written)
    for source, key, table, cast, changed in (
        ("staging_events", "user_id", "users", "cast(nullif({}, '') as integer)", "sparkify_changed_events"),
        ("staging_songs", "song_id", "songs", "nullif({}, '')", "sparkify_changed_songs"),
        ("staging_songs", "artist_id", "artists", "nullif({}, '')", "sparkify_changed_songs"),
    ):
        if scoped:
            # only the keys of the rows this run changed can have lost or gained a dimension row;
            # each counts if staging still gives it (the expression staging's index has, PostgreSQL)
            keys = (
                f"select distinct {cast.format('c.' + quote(key))} as k from {changed} as c "
                f"where {cast.format('c.' + quote(key))} is not null"
            )
            given = (
                f" and exists (select 1 from {q(source)} as e where {cast.format('e.' + quote(key))} = s.k)"
            )
        else:
            keys = (
                f"select distinct {cast.format('e.' + quote(key))} as k from {q(source)} as e "
                f"where {cast.format('e.' + quote(key))} is not null"
            )
            given = ""
        out.append(
            Check(
                f"reconciliation:{source}.{key}->{table}",
                "reconciliation",
                table,
                f"every non-empty {source}.{key} has its {table} row (none left out)",
                f"select count(*) from ({keys}) as s where true{given} and not exists "
                f"(select 1 from {q(table)} as d where d.{quote(key)} = s.k)",
            )
        )
    if scoped:
        out = [replace(c, description=f"{c.description} (rows of this run)") for c in out]
    elif wh.time_checks_in_one_pass:
        shared = (_time_keys_sql(q), TIME_KEY_CHECKS)
        out = [replace(c, shared=shared) if c.name in TIME_KEY_CHECKS else c for c in out]
    return out


TIME_KEY_CHECKS = (
    "unique:time.start_time",
    "relationship:songplays.start_time->time.start_time",
    "reconciliation:time.start_time",
)
"""The three checks on the instants of time and songplays, which over every row one query answers."""


def _time_keys_sql(q) -> str:
    """One pass over the instants of songplays and time answering :data:`TIME_KEY_CHECKS`, the same
    counts as their own queries: per instant k, n plays (k not null) and m time rows; time keys
    repeated (groups with m > 1, the NULL one included), plays with no time row (n where m = 0),
    time rows with no play (m where n = 0: a NULL instant has none). Used where the engine says
    (:attr:`~sparkify.warehouse.base.Warehouse.time_checks_in_one_pass`, with its figures)."""
    return (
        "select sum(case when per_key.m > 1 then 1 else 0 end), "
        "sum(case when per_key.m = 0 then per_key.n else 0 end), "
        "sum(case when per_key.n = 0 then per_key.m else 0 end) "
        "from (select keyed.k, sum(keyed.n) as n, sum(keyed.m) as m from ("
        f"select {quote('start_time')} as k, 1 as n, 0 as m from {q('songplays')} where {quote('start_time')} is not null "
        f"union all select {quote('start_time')} as k, 0 as n, 1 as m from {q('time')}"
        ") as keyed group by keyed.k) as per_key"
    )


def queries(todo: list[Check]) -> list[tuple[str, list[Check]]]:
    """The queries that answer ``todo``, in the order :func:`run_checks` sends them: each is
    (SQL returning one row, the checks whose failure counts that row holds, in column order).
    The not-null checks of one table share one scan (same counts as each check's own query).
    The checks that share a query (:attr:`Check.shared`) run as that one query when all of them are
    in ``todo``; every other check is its own query. ``sparkify sql`` prints exactly these."""
    batches: dict[str, list[Check]] = {}
    for check in todo:
        if check.kind == "not_null" and check.column and check.rows:
            batches.setdefault(check.rows, []).append(check)
    out = []
    for where, batch in batches.items():
        sums = ", ".join(f"sum(case when {quote(c.column or '')} is null then 1 else 0 end)" for c in batch)
        out.append((f"select {sums} from {where}", batch))
    batched = {c.name for batch in batches.values() for c in batch}
    by_name = {c.name: c for c in todo}
    for check in todo:
        if check.name in batched:
            continue
        if check.shared and all(n in by_name for n in check.shared[1]):
            sql, names = check.shared
            out.append((sql, [by_name[n] for n in names]))
            batched.update(names)
        else:
            out.append((check.sql, [check]))
    return out


def run_checks(wh: Warehouse, *, scoped: bool = False) -> list[CheckResult]:
    """Run every check; return the results (the caller decides what a failure means). ``scoped``:
    over the rows of the incremental run just done (see :func:`checks`), then drop its temp tables
    (:data:`SCOPE_TABLES`)."""
    failures: dict[str, int] = {}
    todo = checks(wh, scoped=scoped)
    try:
        for sql, answered in queries(todo):
            _, rows = wh.query(sql)
            for c, n in zip(answered, rows[0], strict=True):
                failures[c.name] = int(n or 0)  # a sum over no rows is NULL
    finally:
        if scoped:
            for table in SCOPE_TABLES:
                wh.execute(f"drop table if exists {table}")
    return [CheckResult(check, failures[check.name]) for check in todo]


def require_passed(results: list[CheckResult]) -> None:
    """Raise :class:`~sparkify.errors.CheckFailed` naming every failed check, in order
    (``2 checks failed: not_null:users.level, unique:songs.song_id``); return when all passed."""
    from sparkify.errors import CheckFailed

    failed = [r for r in results if not r.passed]
    if failed:
        from sparkify.wording import plural

        raise CheckFailed(f"{plural(len(failed), 'check')} failed: {', '.join(r.check.name for r in failed)}")
