"""Tables sparkify did not make are never adopted or emptied (tester finding, high: an application's
own ``users`` table -- the expected columns and an ``email`` -- in the target schema was taken over
and its rows deleted, exit 0, "33 of 33 passed"). A staging or star table is sparkify's only when the
schema also holds sparkify's bookkeeping tables and its columns are the ones sparkify makes; anything
else is refused (exit 2) before a table is created or a row changes, on every engine and by every
step that writes (run, create-tables, stage, transform).
"""

from __future__ import annotations

import re

import pytest

from sparkify import pipeline
from sparkify.errors import ForeignTableError
from sparkify.schema import STAGING_TABLES, STAR_TABLES
from tests.helpers.records import plain_event, plain_song, write_source

ADA = (1001, "Ada", "Lovelace", "F", "vip", "ada@corp.example")


def make_foreign_users(wh) -> None:
    """An application's own users table: sparkify's five columns and an email, one row."""
    wh.execute(
        f"create table {wh.qualified('users')} (user_id integer primary key, first_name varchar(256), "
        "last_name varchar(256), gender varchar(256), level varchar(256), email varchar(256))"
    )
    marks = ", ".join([wh.param] * len(ADA))
    wh.execute(f"insert into {wh.qualified('users')} values ({marks})", list(ADA))


def users_rows(wh) -> list[tuple]:
    return [tuple(r) for r in wh.query(f"select * from {wh.qualified('users')}")[1]]


def existing(wh) -> set[str]:
    return {t.name for t in (*STAGING_TABLES, *STAR_TABLES) if wh.table_exists(t.name)}


def test_another_applications_table_is_refused_and_left_as_it_was(warehouse, tmp_path):
    from tests.conftest import source_for

    warehouse.create_schema()
    make_foreign_users(warehouse)
    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    with pytest.raises(ForeignTableError) as exc:
        pipeline.run(warehouse, src)
    message = str(exc.value)
    assert "already holds a table named users that sparkify did not make" in message
    assert "load_runs" in message and "will not touch them" in message
    with pytest.raises(ForeignTableError):
        pipeline.create_tables(warehouse)
    assert users_rows(warehouse) == [ADA]
    assert existing(warehouse) == {"users"}  # nothing created beside it
    assert not warehouse.table_exists("load_runs")  # and no run recorded


def test_a_table_with_columns_sparkify_does_not_make_is_refused_in_its_own_schema(warehouse, tmp_path):
    """Even beside sparkify's bookkeeping tables: a ``time`` table given an extra column (by hand, or
    by another tool) would lose that column's values at the next rebuild."""
    from tests.conftest import source_for

    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    assert pipeline.run(warehouse, src).rows["songplays"] == 1
    warehouse.execute(f"alter table {warehouse.qualified('time')} add column note varchar(64)")
    for step in (
        lambda: pipeline.run(warehouse, src),
        lambda: pipeline.stage(warehouse, src),
        lambda: pipeline.transform(warehouse),
        lambda: pipeline.create_tables(warehouse),
    ):
        with pytest.raises(
            ForeignTableError, match=r"^Table time in .* has a column sparkify does not make \(note\)"
        ):
            step()
    rows = warehouse.query(f"select count(*) from {warehouse.qualified('time')}")[1]
    assert rows[0][0] == 1  # not emptied


def test_a_table_lacking_a_column_is_refused_by_name(warehouse, tmp_path):
    from tests.conftest import source_for

    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    pipeline.create_tables(warehouse)
    warehouse.execute(f"drop table {warehouse.qualified('artists')}")
    warehouse.execute(
        f"create table {warehouse.qualified('artists')} (artist_id varchar(256), name varchar(256))"
    )
    with pytest.raises(
        ForeignTableError,
        match=r"^Table artists in .* has not the columns location, latitude, longitude: it is not the table",
    ):
        pipeline.run(warehouse, src)


def test_a_column_of_another_type_is_refused_before_anything_changes(warehouse, tmp_path):
    """Tester finding: after ``alter table users alter column level type int`` a run failed mid-way
    with the server's "column level is of type integer but expression is of type text" (exit 69).
    A column sparkify makes text, now an integer (and a timestamp now text), is refused by name."""
    from tests.conftest import source_for
    from tests.helpers.records import rows

    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    pipeline.run(warehouse, src)
    before = rows(warehouse, "songplays")
    for table, column, other in [("users", "level", "integer"), ("time", "start_time", "varchar(64)")]:
        # drop and add: the one way every engine (Redshift too) changes a column's type
        warehouse.execute(f"alter table {warehouse.qualified(table)} drop column {column}")
        warehouse.execute(f"alter table {warehouse.qualified(table)} add column {column} {other}")
    for step in (
        lambda: pipeline.run(warehouse, src, full_refresh=True),
        lambda: pipeline.transform(warehouse),
    ):
        with pytest.raises(ForeignTableError) as exc:
            step()
        assert re.fullmatch(
            r"Table users in .+ has a column of another type \(level is integer where sparkify makes text\): "
            r"it is not the table sparkify made\. Change it back, or drop the table and run with "
            r"--full-refresh to make it again\.",
            str(exc.value),
        ), str(exc.value)
    warehouse.execute(f"alter table {warehouse.qualified('users')} drop column level")
    warehouse.execute(f"alter table {warehouse.qualified('users')} add column level varchar(256)")
    with pytest.raises(
        ForeignTableError, match=r"^Table time in .+ \(start_time is (character varying|varchar)"
    ):
        pipeline.run(warehouse, src)
    assert rows(warehouse, "songplays") == before  # nothing changed


def test_the_cli_refuses_with_exit_2_and_one_line(tmp_path, capsys):
    from sparkify.warehouse import connect
    from tests.conftest import sparkify

    url = f"duckdb:///{tmp_path}/app.duckdb"
    with connect(url) as wh:
        make_foreign_users(wh)
    src = write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()])
    for args in (["run", "-s", str(src)], ["create-tables"]):
        code, out, err = sparkify(capsys, *args, "-w", url)
        assert code == 2 and out == ""
        assert err.startswith("Error: ") and err.count("\n") == 1
        assert "Point --warehouse at another DuckDB file" in err
    with connect(url) as wh:
        assert users_rows(wh) == [ADA]


def test_a_table_named_in_other_case_is_the_same_table_on_duckdb(tmp_path):
    """Tester finding (high): DuckDB's names are case-insensitive, and a "Users" table was not seen
    as users: it was filled and emptied, and every later run failed."""
    from sparkify.warehouse import connect

    with connect(f"duckdb:///{tmp_path}/app.duckdb") as wh:
        wh.execute(
            'create table "Users" (user_id integer not null, first_name varchar, last_name varchar, '
            "gender varchar, level varchar)"
        )
        wh.execute("""insert into "Users" values (999, 'My', 'Own', 'F', 'paid')""")
        src = write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()])
        with pytest.raises(
            ForeignTableError, match="already holds a table named users that sparkify did not make"
        ):
            pipeline.run(wh, src)
        assert [tuple(r) for r in wh.query('select * from "Users"')[1]] == [(999, "My", "Own", "F", "paid")]
        assert wh.table_exists("users") and not wh.table_exists("songs")


def test_another_tools_bookkeeping_table_is_refused(warehouse, tmp_path):
    """Tester finding: a load_runs(x) of another tool's passed as sparkify's bookkeeping, and the run
    created 9 tables before failing on a raw database error."""
    from tests.conftest import source_for

    warehouse.create_schema()
    warehouse.execute(f"create table {warehouse.qualified('load_runs')} (x integer)")
    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    with pytest.raises(
        ForeignTableError, match=r"^Table load_runs in .* has a column sparkify does not make \(x\)"
    ):
        pipeline.run(warehouse, src)
    assert existing(warehouse) == set()
    make_foreign_users(warehouse)
    with pytest.raises(ForeignTableError, match=r"^Table users in .* \(email\)"):
        pipeline.run(warehouse, src)


def test_a_view_where_sparkify_keeps_a_table_is_refused(warehouse, tmp_path):
    """Tester finding: in a warehouse sparkify made, a view named songs (over a copy of the table)
    ended the run with a raw database error (exit 69) instead of a refusal naming it."""
    from tests.conftest import source_for

    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    assert pipeline.run(warehouse, src).rows["songs"] == 1
    warehouse.execute(
        f"create table {warehouse.qualified('songs2')} as select * from {warehouse.qualified('songs')}"
    )
    warehouse.execute(f"drop table {warehouse.qualified('songs')}")
    warehouse.execute(
        f"create view {warehouse.qualified('songs')} as select * from {warehouse.qualified('songs2')}"
    )
    with pytest.raises(ForeignTableError, match=r"holds a view named songs where sparkify keeps a table"):
        pipeline.run(warehouse, src, full_refresh=True)


def test_check_refuses_an_altered_table_as_run_does(warehouse, tmp_path):
    """Tester finding: after `alter table songs drop column year` (or a column retyped, or one added)
    `run` refused the table but `sparkify check` said "33 of 33 passed"."""
    from tests.conftest import source_for

    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    pipeline.run(warehouse, src)
    assert all(r.passed for r in pipeline.check(warehouse))
    warehouse.execute(f"alter table {warehouse.qualified('songs')} drop column year")
    with pytest.raises(ForeignTableError, match=r"^Table songs in .+ has not the column year: it is not"):
        pipeline.check(warehouse)


@pytest.mark.parametrize(
    "table, alter, message",
    [
        ("load_files", "drop column size", r"^Table load_files in .+ has not the column size: it is not"),
        ("load_runs", "drop column status", r"^Table load_runs in .+ has not the column status: it is not"),
        (
            "load_runs",
            "drop column finished_at",
            r"^Table load_runs in .+ has not the column finished_at: it is not",
        ),
    ],
)
def test_a_bookkeeping_table_altered_by_hand_is_refused_by_name(warehouse, tmp_path, table, alter, message):
    """Tester finding: a column dropped from a bookkeeping table was a raw 'Binder Error' (exit 69)
    after every file had been read."""
    from tests.conftest import source_for

    src = source_for(warehouse, write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()]))
    pipeline.run(warehouse, src)
    warehouse.execute(f"alter table {warehouse.qualified(table)} {alter}")
    with pytest.raises(ForeignTableError, match=message):
        pipeline.run(warehouse, src)


def test_runs_refuses_a_retyped_load_runs_by_name(tmp_path, capsys):
    """Tester finding: `alter table load_runs alter column load_id type integer` made `sparkify runs`
    exit 70, "TypeError: 'int' object is not subscriptable"."""
    import duckdb

    from tests.conftest import sparkify

    src = write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()])
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify(capsys, "run", "-q", "-s", src, "-w", wh)[0] == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("alter table load_runs alter column load_id type integer using 1")
    con.close()
    code, out, err = sparkify(capsys, "runs", "-w", wh)
    assert (code, out) == (2, "")
    assert re.fullmatch(
        r"Error: Table load_runs in .+ has a column of another type \(load_id is integer where sparkify makes "
        r"text\): it is not the table sparkify made\. Change it back, or drop the table and run with "
        r"--full-refresh to make it again\.\n",
        err,
    ), err
