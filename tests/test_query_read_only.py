"""`sparkify query` and the analytics commands only read the warehouse: a statement that would
change it (or several statements) is refused before anything is sent, on every engine, and a
missing table's message names the fix that fits (a tester's finding: `query "delete from users"`
deleted the rows, `drop table` dropped the table and then reported an internal error)."""

from __future__ import annotations

import pytest

from sparkify import analytics, pipeline
from sparkify.cli import main
from sparkify.errors import QueryError, WarehouseError
from sparkify.schema import missing_table_hint
from sparkify.warehouse import connect
from tests.conftest import source_for
from tests.helpers import tricky

WRITES = [
    ("delete from users", "DELETE"),
    ("drop table users", "DROP"),
    ("insert into users select * from users", "INSERT"),
    ("update users set level = 'x'", "UPDATE"),
    ("create table z as select 1 as a", "CREATE"),
    ("alter table users add column x integer", "ALTER"),
    ("select * into z from users", "INTO"),
    ("with gone as (delete from users returning *) select count(*) from gone", "DELETE"),
    ("explain analyze delete from users", "DELETE"),
]


def _counts(wh) -> dict[str, int]:
    return {t: wh.query(f"select count(*) from {wh.qualified(t)}")[1][0][0] for t in ("users", "songplays")}


def test_statements_that_write_are_refused_before_anything_is_sent(warehouse, tmp_path):
    pipeline.run(warehouse, source_for(warehouse, tricky.write(tmp_path / "source")))
    before = _counts(warehouse)
    sent = []
    warehouse.tracer = sent.append
    for statement, kind in WRITES:
        with pytest.raises(QueryError, match=rf"line 1: {kind} would change the warehouse"):
            analytics.sql_for(warehouse, analytics.ad_hoc(statement, dialect=warehouse.sql_dialect))
        with pytest.raises(QueryError, match="holds 2 statements; give exactly one query"):
            analytics.sql_for(
                warehouse, analytics.ad_hoc(f"select 1; {statement}", dialect=warehouse.sql_dialect)
            )
    warehouse.tracer = None
    assert sent == []
    assert _counts(warehouse) == before
    # reading is still allowed, in every shape a user asks it
    for statement in ("select count(*) from users", "with u as (select * from users) select count(*) from u"):
        text = analytics.sql_for(warehouse, analytics.ad_hoc(statement, dialect=warehouse.sql_dialect))
        assert analytics.run_sql(warehouse, text).rows == [(before["users"],)]


def test_the_cli_refuses_a_delete_with_exit_2_and_changes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with connect(url) as wh:
        pipeline.run(wh, tricky.write(tmp_path / "source"))
        users = wh.query("select count(*) from users")[1][0][0]
    for statement in ("delete from users", "drop table users", "select 1; delete from users"):
        with pytest.raises(SystemExit) as exit_:
            main(["query", "-w", url, statement])
        assert exit_.value.code == 2, statement
        assert "Error:" in capsys.readouterr().err
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert (
        con.execute("select count(*) from users").fetchone()[0] == users == 6
    )  # tricky.py: 6 users (EXPECTED "row_counts")
    con.close()
    for statement, shows in (("describe users", "user_id"), ("explain select 1", "physical_plan")):
        with pytest.raises(SystemExit) as exit_:
            main(["query", "-w", url, "--format", "csv", statement])
        out = capsys.readouterr().out
        assert exit_.value.code == 0 and shows in out, statement


@pytest.mark.parametrize(
    "message, hint",
    [
        (
            "Catalog Error: Table with name nosuchtable does not exist!",
            "Check the name: sparkify's tables are",
        ),
        ('relation "public.songplay" does not exist', "Check the name"),
        ("Catalog Error: Table with name songplays does not exist!", "Run `sparkify run` first."),
        ('PostgreSQL (x, schema s): relation "users" does not exist', "Run `sparkify run` first."),
    ],
)
def test_a_missing_table_gets_the_hint_that_fits(message, hint):
    text = missing_table_hint(message)
    assert text.endswith(hint) or hint in text
    assert "!." not in text


def test_on_postgresql_a_function_that_writes_changes_nothing(postgres_url, pg_schema, tmp_path, capsys):
    """The statement check cannot see inside a function: a reader's session makes every transaction
    READ ONLY and rolls each query back (tester finding: `select lo_create(0)` left a large object)."""
    import psycopg

    from tests.conftest import sparkify

    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, tricky.write(tmp_path / "source"))
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'set search_path to "{pg_schema}"')
        con.execute("create sequence counter")
        con.execute(
            "create function add_user() returns int language sql as "
            "$$ insert into users (user_id) values (999999) returning 1 $$"
        )
        objects = con.execute("select count(*) from pg_largeobject_metadata").fetchone()[0]
    args = ["-w", postgres_url, "--schema", pg_schema, "--dialect", "postgres"]
    code, out, _ = sparkify(capsys, "query", "select lo_create(0) as oid", *args)
    assert code == 0 and "oid" in out  # it ran, and was rolled back
    code, _, err = sparkify(capsys, "query", "select add_user()", *args)
    assert code != 0 and "read-only transaction" in err
    code, _, err = sparkify(capsys, "query", "select nextval('counter')", *args)
    assert code != 0 and "read-only transaction" in err
    with psycopg.connect(postgres_url) as con:
        con.execute(f'set search_path to "{pg_schema}"')
        assert con.execute("select count(*) from pg_largeobject_metadata").fetchone()[0] == objects
        assert con.execute("select count(*) from users where user_id = 999999").fetchone()[0] == 0
        assert con.execute("select last_value, is_called from counter").fetchone() == (1, False)


def test_an_unknown_function_is_the_query_s_error_not_missing_tables(warehouse, tmp_path):
    """DuckDB reports an unknown function as a catalog error, as it does a missing table: only the
    latter means the tables were never made (tester finding: 'Run `sparkify run` first', exit 2)."""
    from sparkify.errors import ExitCode, MissingTableError

    pipeline.run(warehouse, source_for(warehouse, tricky.write(tmp_path / "source")))
    query = analytics.ad_hoc("select no_such_function(1) as x", dialect=warehouse.sql_dialect)
    with pytest.raises(QueryError, match="no_such_function") as caught:
        analytics.run_query(warehouse, query)
    assert not isinstance(caught.value, MissingTableError) and "sparkify run" not in str(caught.value)
    # a mistake in the query's text is the user's to fix (exit 2), as a query that does not parse is;
    # the warehouse refusing the work is exit 69 (tester finding: an unknown column exited 69)
    typo = analytics.ad_hoc("select nosuchcol from songplays", dialect=warehouse.sql_dialect)
    with pytest.raises(QueryError, match="nosuchcol") as caught:
        analytics.run_query(warehouse, typo)
    assert caught.value.exit_code == ExitCode.USAGE
    by_zero = analytics.ad_hoc("select count(*) / 0 from songplays", dialect="redshift")
    with pytest.raises(WarehouseError, match="division by zero") as caught:
        analytics.run_query(warehouse, by_zero)
    assert caught.value.exit_code == ExitCode.REFUSED  # the data's doing, not the text's
    missing = analytics.ad_hoc("select * from no_such_table", dialect=warehouse.sql_dialect)
    with pytest.raises(MissingTableError, match="Check the name"):
        analytics.run_query(warehouse, missing)


@pytest.mark.parametrize(
    "statement, word, line",
    [
        ("checkpoint", "checkpoint", 1),
        ("-- the plays\n  songplays", "songplays", 2),
        ("/* x */ users", "users", 1),
        # quoted as written, not as sqlglot renders it (tester finding: 'COPY INTO (SELECT 1) ...', and
        # '' with "Unsupported INSTALL statement" on stderr)
        ("copy (select 1) to stdout", "copy \\(select 1\\) to stdout", 1),
        ("\n\ninstall   httpfs;", "install httpfs", 3),
    ],
)
def test_a_bare_word_is_not_a_query_and_is_named_as_written(statement, word, line, capsys):
    # "checkpoint" was refused as "COLUMN would change the warehouse" (tester finding)
    with pytest.raises(
        QueryError, match=rf"line {line}: '{word}' is not a query; sparkify only runs queries"
    ):
        analytics.sql_for(connect("duckdb:///:memory:"), analytics.ad_hoc(statement, dialect="duckdb"))
    assert capsys.readouterr().err == ""  # nothing but the error


@pytest.mark.parametrize("dialect", ["own", "redshift"])
def test_describe_a_table_on_every_engine(warehouse, dialect):
    """The README says DESCRIBE is a query sparkify runs; PostgreSQL and Redshift have no DESCRIBE (a
    tester's finding: a syntax error there). There it lists the table's columns in order, as DuckDB's
    DESCRIBE begins: column_name, column_type, null."""
    from sparkify.schema import SONGPLAYS

    pipeline.create_tables(warehouse)
    query = analytics.ad_hoc(
        "describe songplays", dialect=warehouse.sql_dialect if dialect == "own" else dialect
    )
    result = analytics.run_query(warehouse, query)
    assert result.columns[:3] == ["column_name", "column_type", "null"]
    assert [row[0] for row in result.rows] == [c.name for c in SONGPLAYS.columns]
    assert {row[2] for row in result.rows} <= {"YES", "NO"}
