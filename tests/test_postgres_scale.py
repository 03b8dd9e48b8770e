"""PostgreSQL at scale: the staging index on ``source_file``, the session settings, the rebuild of the
star tables into fresh tables swapped in at commit."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from sparkify import pipeline
from sparkify.pipeline.statements import statements
from sparkify.schema import STAGING_TABLES, STAR_TABLES
from sparkify.warehouse import connect
from sparkify.warehouse.postgres import PostgresWarehouse
from sparkify.warehouse.redshift import RedshiftWarehouse
from tests.helpers.records import event, song, write_source

pytestmark = pytest.mark.usefixtures("postgres_url")


def _indexes(url: str, schema: str) -> dict[str, str]:
    """index name -> its definition, read from the catalog."""
    with psycopg.connect(url) as con:
        rows = con.execute(
            "select indexname, indexdef from pg_indexes where schemaname = %s", [schema]
        ).fetchall()
    return {name: definition for name, definition in rows}


def test_staging_tables_are_indexed_by_source_file_when_created(postgres_url, pg_schema):
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.create_tables(wh)
    found = _indexes(postgres_url, pg_schema)
    for table in ("staging_events", "staging_songs"):
        assert f"ON {pg_schema}.{table} USING btree (source_file)" in found[f"{table}_source_file"]
    # scope_users.sql reaches each changed user's events by user and ts
    assert "USING btree (((NULLIF(user_id, ''::text))::integer), ts)" in found["staging_events_user_ts"]
    # scope_songplays.sql: the events from the bound on, and earlier deliveries of their play keys
    assert f"ON {pg_schema}.staging_events USING brin (ts)" in found["staging_events_ts"]
    assert (
        "USING btree (((NULLIF(user_id, ''::text))::integer), session_id, item_in_session)"
        in found["staging_events_play_key"]
    )
    # the incremental deletes and scoped checks read the plays from the bound on
    assert f"ON {pg_schema}.songplays USING brin (start_time)" in found["songplays_start_time"]
    # star and bookkeeping tables have their primary keys only
    assert sorted(n for n in found if n.endswith("_source_file")) == [
        "staging_events_source_file",
        "staging_songs_source_file",
    ]


def test_a_warehouse_made_before_the_index_gets_it_on_its_next_load(postgres_url, pg_schema, tmp_path):
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, src)
    with psycopg.connect(postgres_url, autocommit=True) as con:  # as an earlier sparkify left it
        for table in ("staging_events", "staging_songs"):
            con.execute(f'drop index "{pg_schema}"."{table}_source_file"')
    assert not [n for n in _indexes(postgres_url, pg_schema) if n.endswith("_source_file")]
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.stage(wh, src)  # `stage` alone: create-tables is not run
        assert wh.ensure_indexes(STAGING_TABLES) == []  # present now: nothing more to do
    found = _indexes(postgres_url, pg_schema)
    assert "staging_events_source_file" in found and "staging_songs_source_file" in found


def test_the_index_is_postgres_only_and_shown_by_sparkify_sql():
    pg = statements(PostgresWarehouse.offline(schema="s"), "create-tables")
    assert (
        'create index if not exists "staging_events_source_file" on "s"."staging_events" ("source_file")'
        in pg
    )
    rs = statements(RedshiftWarehouse.offline(schema="s"), "create-tables")
    assert not [s for s in rs if "index" in s]


def test_sessions_run_without_jit(postgres_url, pg_schema):
    with connect(postgres_url, schema=pg_schema) as wh:
        assert wh.query("show jit")[1][0][0] == "off"
    assert "set jit = off" not in RedshiftWarehouse.offline(schema="s").setup_statements()


# -- the full rebuild: truncate, primary key dropped and added again ------------------------------

CATALOG = """
select c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, coll.collname,
    c.relkind, c.relpersistence, c.oid
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
left join pg_collation as coll on coll.oid = a.attcollation and a.attcollation <> 0
where n.nspname = %s and c.relname in ('users', 'songs', 'artists', 'songplays', 'time')
order by 1, 2
"""

KEYS = """
select rel.relname, con.conname, con.contype,
    array(select a.attname from unnest(con.conkey) as k join pg_attribute as a
          on a.attrelid = con.conrelid and a.attnum = k order by a.attname)
from pg_constraint as con
join pg_class as rel on rel.oid = con.conrelid
join pg_namespace as n on n.oid = rel.relnamespace
where n.nspname = %s and rel.relname in ('users', 'songs', 'artists', 'songplays', 'time')
order by 1, 2
"""


def _catalog(url: str, schema: str) -> tuple[list, list, dict]:
    with psycopg.connect(url) as con:
        return (
            con.execute(CATALOG, [schema]).fetchall(),
            con.execute(KEYS, [schema]).fetchall(),
            _indexes(url, schema),
        )


def _star(url: str, schema: str) -> dict[str, list]:
    with psycopg.connect(url) as con:
        return {
            t: sorted(con.execute(f'select * from "{schema}"."{t}"').fetchall(), key=repr)
            for t in ("users", "songs", "artists", "songplays", "time")
        }


def _source(tmp_path):
    plays = [
        event(userId="7", sessionId=1, itemInSession=i, ts=1541105830796 + i * 60_000, firstName=f"A{i}")
        for i in range(5)
    ]
    plays.append(event(userId="8", sessionId=2, itemInSession=0, song="Nothing", ts=1541105830796))
    plays.append(event(userId="8", sessionId=2, itemInSession=1, page="Home", ts=1541105890796))
    return write_source(tmp_path / "src", songs=[song(), song(song_id="S2", title="Other")], events=plays)


def test_a_rebuild_keeps_the_tables_their_keys_types_grants_comments_and_views(
    postgres_url, pg_schema, tmp_path
):
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, _source(tmp_path))
    before = _catalog(postgres_url, pg_schema)
    rows = _star(postgres_url, pg_schema)
    # what a user may add over the star tables: the rebuild must keep it
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(
            f'create view "{pg_schema}".plays_per_user as select user_id, count(*) as n '
            f'from "{pg_schema}".songplays group by user_id'
        )
        con.execute(f"comment on table \"{pg_schema}\".songplays is 'the plays'")
        con.execute(f'grant select on "{pg_schema}".songplays to public')
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.transform(wh)
    assert _catalog(postgres_url, pg_schema) == before  # same tables (oid), columns, types, keys, indexes
    assert before[1] == [  # the primary keys create-tables declares, by PostgreSQL's own names
        ("artists", "artists_pkey", "p", ["artist_id"]),
        ("songplays", "songplays_pkey", "p", ["songplay_id"]),
        ("songs", "songs_pkey", "p", ["song_id"]),
        ("time", "time_pkey", "p", ["start_time"]),
        ("users", "users_pkey", "p", ["user_id"]),
    ]
    assert _star(postgres_url, pg_schema) == rows
    with psycopg.connect(postgres_url) as con:
        assert con.execute(f'select user_id, n from "{pg_schema}".plays_per_user order by 1').fetchall() == [
            (7, 5),
            (8, 1),
        ]
        assert con.execute(f"select obj_description('\"{pg_schema}\".songplays'::regclass)").fetchone()[
            0
        ] == ("the plays")
        assert con.execute(
            f"select has_table_privilege('public', '\"{pg_schema}\".songplays', 'select')"
        ).fetchone()[0]
    with psycopg.connect(postgres_url) as con, pytest.raises(psycopg.errors.UniqueViolation):
        con.execute(f'insert into "{pg_schema}".users select * from "{pg_schema}".users limit 1')


def test_readers_never_see_a_half_built_table_and_a_rollback_keeps_the_old_rows(
    postgres_url, pg_schema, tmp_path
):
    from sparkify.pipeline.statements import transform_steps

    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, _source(tmp_path))
    rows = _star(postgres_url, pg_schema)
    with connect(postgres_url, schema=pg_schema) as wh:
        wh.execute("begin")
        for name, group in transform_steps(wh):
            for statement in group:
                wh.execute(statement)
            if name == "songplays":
                break  # mid-rebuild: songplays rebuilt, time emptied and not yet filled
        with psycopg.connect(postgres_url, autocommit=True) as reader:
            reader.execute("set lock_timeout = '200ms'")
            for table in ("songplays", "time"):
                with pytest.raises(psycopg.errors.LockNotAvailable):  # it waits for the commit
                    reader.execute(f'select count(*) from "{pg_schema}"."{table}"')
        wh.execute("rollback")
    assert _star(postgres_url, pg_schema) == rows
    # hand count: 5 + 1 plays; 5 instants (user 8 played at the instant of user 7's first play)
    assert len(rows["songplays"]) == 6 and len(rows["time"]) == 5


def test_the_rebuild_statements_on_each_engine():
    pg = statements(PostgresWarehouse.offline(schema="s"), "transform")
    assert pg[1] == 'truncate table "s"."time", "s"."songplays", "s"."artists", "s"."songs", "s"."users"'
    assert pg[2] == 'alter table "s"."users" drop constraint if exists "users_pkey"'
    assert pg[3].rstrip().endswith("where recency = 1")  # insert_users.sql, as it is
    assert pg[4] == 'alter table "s"."users" add constraint "users_pkey" primary key ("user_id")'
    assert not [s for s in statements(RedshiftWarehouse.offline(schema="s"), "transform") if "truncate" in s]


def test_sessions_get_64mb_of_work_mem_unless_it_was_set(postgres_url, pg_schema):
    with psycopg.connect(postgres_url) as con:
        source = con.execute("select source from pg_settings where name = 'work_mem'").fetchone()[0]
    if source != "default":
        pytest.skip(f"this server sets work_mem itself ({source})")
    with connect(postgres_url, schema=pg_schema) as wh:
        assert wh.query("show work_mem")[1][0][0] == "64MB"  # the built-in default is 4MB
    sep = "&" if "?" in postgres_url else "?"
    for given in ("256MB", "2MB"):  # the URL's own setting wins, larger or smaller
        with connect(f"{postgres_url}{sep}options=-c%20work_mem%3D{given}", schema=pg_schema) as wh:
            assert wh.query("show work_mem")[1][0][0] == given
    assert not [s for s in RedshiftWarehouse.offline(schema="s").setup_statements() if "work_mem" in s]


def test_a_role_that_does_not_own_the_star_tables_rebuilds_them_with_delete(
    postgres_url, pg_schema, tmp_path
):
    """A loading role granted select/insert/update/delete, not ownership, cannot TRUNCATE or drop a
    key: the rebuild falls back to DELETE + INSERT, and readers keep the old rows until it commits."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    from sparkify.pipeline.statements import transform_steps

    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, _source(tmp_path))
    rows = _star(postgres_url, pg_schema)
    role = f"sparkify_loader_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(postgres_url)
    loader_url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'create role "{role}" login')
        con.execute(f'grant usage on schema "{pg_schema}" to "{role}"')
        con.execute(f'grant select, insert, update, delete on all tables in schema "{pg_schema}" to "{role}"')
    try:
        with connect(loader_url, schema=pg_schema) as wh:
            assert not wh.owns_tables(STAR_TABLES)
            steps = transform_steps(wh)
            sent = [s for _, group in steps for s in group]
            assert not [s for s in sent if s.startswith(("truncate", "alter table"))]
            wh.execute("begin")
            for name, group in steps:
                for statement in group:
                    wh.execute(statement)
                if name == "songplays":
                    break  # mid-rebuild
            with psycopg.connect(postgres_url, autocommit=True) as reader:
                reader.execute("set lock_timeout = '200ms'")  # a reader is not blocked: it sees the old rows
                got = reader.execute(f'select count(*) from "{pg_schema}"."time"').fetchone()[0]
                assert got == len(rows["time"]) == 5
            wh.execute("rollback")
            pipeline.transform(wh)  # the whole rebuild, as this role
        assert _star(postgres_url, pg_schema) == rows
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f'drop owned by "{role}"')
            con.execute(f'drop role "{role}"')


def test_the_owner_of_the_star_tables_rebuilds_them_with_truncate(postgres_url, pg_schema):
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.create_tables(wh)
        assert wh.owns_tables(STAR_TABLES)
        from sparkify.pipeline.statements import transform_steps

        assert transform_steps(wh)[0][1][0].startswith("truncate table")


def _unsummarized(url: str, schema: str) -> dict[str, int]:
    """BRIN index -> the page ranges it had not summarized (summarizing them now, in a transaction
    rolled back: the warehouse stays as it was)."""
    with psycopg.connect(url) as con:
        out = {
            name: con.execute(
                "select brin_summarize_new_values(%s::regclass)", [f'"{schema}"."{name}"']
            ).fetchone()[0]
            for name in ("staging_events_ts", "songplays_start_time")
        }
        con.rollback()
    return out


def test_brin_indexes_are_summarized_after_every_load(postgres_url, pg_schema, tmp_path):
    # Until a page range is summarized a BRIN index cannot skip it: a run leaves none behind.
    # 30,000 plays a day fill several ranges of 128 pages of each table (a partial one is never summarized)
    day1 = [event(ts=1541030400000 + i * 2_000, itemInSession=i) for i in range(30_000)]
    src = write_source(tmp_path / "src", songs=[song()], events={"2018-11-01-events.json": day1})
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, src)  # fresh
    assert _unsummarized(postgres_url, pg_schema) == {"staging_events_ts": 0, "songplays_start_time": 0}
    day2 = [event(ts=1541116800000 + i * 2_000, itemInSession=i, sessionId=2) for i in range(30_000)]
    write_source(tmp_path / "src", songs=[song()], events={"2018-11-02-events.json": day2})
    with connect(postgres_url, schema=pg_schema) as wh:
        report = pipeline.run(wh, src)  # one more day
    assert report.stage.incremental
    assert _unsummarized(postgres_url, pg_schema) == {"staging_events_ts": 0, "songplays_start_time": 0}


def test_the_days_play_scope_reads_staging_through_the_ts_index(postgres_url, pg_schema, tmp_path):
    # scope_songplays.sql bounds ts itself (not only a function of it) with a literal: an index
    # on ts can find the day's rows; with the seq scan priced out, the plan must use one
    from sparkify.sql import incremental_scope

    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, src)
        scope = incremental_scope(datetime(2018, 11, 1))
        statement = wh.statement("scope_songplays", scope).split(" as\n", 1)[1]  # the query only
        wh.execute("set enable_seqscan = off")
        _, plan = wh.query(f"explain {statement}")
    # an index condition on ts itself (a bound on a function of ts alone could only filter)
    assert "Index Cond: (ts >= '1541030399999'::bigint)" in "\n".join(r[0] for r in plan)


def test_a_load_into_empty_staging_builds_its_indexes_once_after_the_copy(postgres_url, pg_schema, tmp_path):
    # the btree ones (the BRIN index on ts stays: a row costs it nothing until the summary after the COPY)
    events_indexes = {"staging_events_source_file", "staging_events_user_ts", "staging_events_play_key"}
    src = write_source(tmp_path / "src", songs=[song()], events={"2018-11-01-events.json": [event()]})

    def load(**options) -> list[str]:
        sent: list[str] = []
        with connect(postgres_url, schema=pg_schema) as wh:
            wh.tracer = sent.append
            pipeline.run(wh, src, **options)
        return [" ".join(s.split()) for s in sent]

    def around_copy(sent: list[str]) -> tuple[set[str], set[str]]:
        """The staging_events indexes dropped before its COPY and made after it."""
        copy = next(i for i, s in enumerate(sent) if s.startswith(f'copy "{pg_schema}"."staging_events"'))
        named = lambda s: s.split(f'"{pg_schema}".', 1)[1].split()[0].strip('"')  # noqa: E731
        dropped = {named(s) for s in sent[:copy] if s.startswith("drop index")}
        made = {s.split('"')[1] for s in sent[copy:] if s.startswith("create index")}
        return dropped & events_indexes, made & events_indexes

    assert around_copy(load()) == (events_indexes, events_indexes)  # the first load
    assert events_indexes <= set(_indexes(postgres_url, pg_schema))
    write_source(
        tmp_path / "src", songs=[song()], events={"2018-11-02-events.json": [event(ts=1541116800000)]}
    )
    assert around_copy(load()) == (set(), set())  # staging holds rows: the indexes stay
    assert around_copy(load(full_refresh=True)) == (events_indexes, events_indexes)
    assert events_indexes <= set(_indexes(postgres_url, pg_schema))
