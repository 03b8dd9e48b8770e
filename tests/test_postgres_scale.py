"""PostgreSQL at scale: the staging index on ``source_file``, the session settings, the rebuild of the
star tables into fresh tables swapped in at commit."""

from __future__ import annotations

import psycopg
import pytest

from sparkify import pipeline
from sparkify.pipeline.statements import statements
from sparkify.schema import STAGING_TABLES
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
