"""`sparkify compare`: the star tables of two warehouses, counts then rows, streamed.

Differences are made by hand (one value changed, one row dropped, one row doubled) in a copy of a
warehouse, so the expected findings are known without the code under test.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sparkify import compare, pipeline
from sparkify.errors import MissingTableError, WarehouseError
from sparkify.warehouse import connect
from tests.conftest import open_engine, sparkify
from tests.helpers.records import plain_event, plain_song, write_source

REPO = Path(__file__).resolve().parents[1]

SYNTHETIC_SONGPLAYS = """
insert into songplays
select
    i + 1 as songplay_id,
    timestamp '2018-11-01 00:00:00' + to_seconds(i) as start_time,
    cast(i % 1000 as integer) as user_id,
    case when i % 3 = 0 then 'free' else 'paid' end as level,
    case when i % 5 = 0 then null else 'SO' || lpad(cast(i % 20000 as varchar), 6, '0') end as song_id,
    case when i % 5 = 0 then null else 'AR' || cast(i % 700 as varchar) end as artist_id,
    cast(i // 25 as integer) as session_id,
    'City ' || cast(i % 97 as varchar) || ', ST' as location,
    'Mozilla/5.0 (build ' || cast(i % 13 as varchar) || ')' as user_agent
from range({rows}) as t(i)
"""
"""DuckDB SQL filling songplays with ``rows`` distinct plays (NULLs in song_id and artist_id)."""


def synthetic_warehouse(path: Path, rows: int) -> str:
    """A DuckDB file with the star tables and ``rows`` songplays; returns its URL."""
    url = f"duckdb:///{path}"
    with connect(url) as wh:
        pipeline.create_tables(wh)
        wh.execute(SYNTHETIC_SONGPLAYS.format(rows=rows))
    return url


def edit(url: str, *statements: str) -> None:
    with connect(url) as wh:
        for s in statements:
            wh.execute(s)


@pytest.fixture
def pair(tmp_path) -> tuple[str, str, Path]:
    """Two identical DuckDB warehouses of 1,000 synthetic plays: (url A, url B, path B)."""
    a = synthetic_warehouse(tmp_path / "a.duckdb", 1000)
    shutil.copy(tmp_path / "a.duckdb", tmp_path / "b.duckdb")
    return a, f"duckdb:///{tmp_path / 'b.duckdb'}", tmp_path / "b.duckdb"


def run_compare(a: str, b: str, **kw) -> dict[str, compare.TableComparison]:
    with connect(a) as left, connect(b) as right:
        return {r.table: r for r in compare.compare_warehouses(left, right, **kw)}


# -- one changed value in a million rows ---------------------------------------------------------


@pytest.mark.slow
def test_one_changed_value_in_a_million_rows_is_found(tmp_path, capsys):
    a = synthetic_warehouse(tmp_path / "a.duckdb", 1_000_000)
    shutil.copy(tmp_path / "a.duckdb", tmp_path / "b.duckdb")
    b = f"duckdb:///{tmp_path / 'b.duckdb'}"
    # B numbers its plays differently (the surrogate key is not compared) and has one changed value
    edit(
        b,
        "update songplays set songplay_id = songplay_id + 5000000",
        "update songplays set location = 'Elsewhere, ST' where songplay_id = 5000000 + 765433",
    )
    code, out, err = sparkify(capsys, "compare", "--warehouse", a, "--against", b)
    assert code == 1
    assert out == (
        f"< {a}\n> {b}\n"
        "users: identical (0 rows)\n"
        "songs: identical (0 rows)\n"
        "artists: identical (0 rows)\n"
        "songplays: DIFFERS: 1,000,000 rows <, 1,000,000 rows >; 1 only in <, 1 only in >\n"
        "  columns: start_time, user_id, level, song_id, artist_id, session_id, location, user_agent\n"
        # play i = 765432: 765432 s after 2018-11-01 00:00:00 is 2018-11-09 20:37:12
        "  < 2018-11-09 20:37:12 | 432 | free | SO005432 | AR332 | 30617 | City 5, ST | Mozilla/5.0 (build 5)\n"
        "  > 2018-11-09 20:37:12 | 432 | free | SO005432 | AR332 | 30617 | Elsewhere, ST | Mozilla/5.0 (build 5)\n"
        "time: identical (0 rows)\n"
    )
    assert err == "Error: 1 of 5 star tables differ: songplays\n"


def test_identical_warehouses_exit_0(pair, capsys):
    a, b, _ = pair
    code, out, err = sparkify(capsys, "compare", "-w", a, "--against", b)
    assert (code, err) == (0, "")
    assert out.splitlines()[-3:] == [
        "songplays: identical (1,000 rows)",
        "time: identical (0 rows)",
        "All 5 star tables are identical.",
    ]
    # --quiet: the outcome alone
    code, out, err = sparkify(capsys, "--quiet", "compare", "-w", a, "--against", b)
    assert (code, out, err) == (0, "All 5 star tables are identical.\n", "")


def test_a_missing_row_and_a_doubled_row_are_counted(pair):
    a, b, _ = pair
    edit(
        b,
        "delete from songplays where songplay_id = 10",
        "insert into songplays select 5000, start_time, user_id, level, song_id, artist_id, session_id, location, "
        "user_agent from songplays where songplay_id = 20",
    )
    (r,) = [r for r in run_compare(a, b).values() if not r.is_identical]
    assert (r.table, r.left_count, r.right_count, r.only_left, r.only_right) == (
        "songplays",
        1000,
        1000,
        1,
        1,
    )
    # sorted on start_time first: play 9 (id 10) comes before play 19 (id 20)
    assert [side for side, _ in r.examples] == ["<", ">"]
    assert r.examples[0][1][0] == dt.datetime(2018, 11, 1, 0, 0, 9)
    assert r.examples[1][1][0] == dt.datetime(2018, 11, 1, 0, 0, 19)


def test_examples_are_capped_and_the_rest_counted(pair, capsys):
    a, b, _ = pair
    edit(b, "update songplays set level = upper(level) where songplay_id <= 30")
    code, out, _ = sparkify(capsys, "compare", "-w", a, "--against", b, "--examples", "3")
    assert code == 1
    assert "songplays: DIFFERS: 1,000 rows <, 1,000 rows >; 30 only in <, 30 only in >\n" in out
    assert "  ... and 57 more differing rows\n" in out
    assert sum(line.startswith(("  < ", "  > ")) for line in out.splitlines()) == 3


def test_an_extra_row_on_one_side(pair):
    a, b, _ = pair
    edit(b, "insert into users values (7, 'Ann', 'Lee', 'F', 'free')")
    result = run_compare(a, b)
    assert (result["users"].left_count, result["users"].right_count) == (0, 1)
    assert (result["users"].only_left, result["users"].only_right) == (0, 1)
    assert result["users"].examples == [(">", (7, "Ann", "Lee", "F", "free"))]
    assert all(r.is_identical for name, r in result.items() if name != "users")


def test_the_same_warehouse_twice_is_refused(pair, capsys):
    a, _, _ = pair
    code, _, err = sparkify(capsys, "compare", "-w", a, "--against", a)
    assert code == 2
    assert err == "Error: --warehouse and --against name the same warehouse: give two different ones.\n"


def test_a_warehouse_without_tables(pair, tmp_path, capsys):
    a, _, _ = pair
    code, _, err = sparkify(capsys, "compare", "-w", a, "--against", f"duckdb:///{tmp_path}/empty.duckdb")
    assert code == 2  # usage: nothing there to compare (and no empty file is left behind)
    assert err == (
        f"Error: There is no DuckDB database at {tmp_path}/empty.duckdb. Run `sparkify run` first, or point "
        "--against at an existing one.\n"  # the option that named it (tester finding: --warehouse)
    )
    assert not (tmp_path / "empty.duckdb").exists()
    code, _, err = sparkify(capsys, "compare", "-w", f"duckdb:///{tmp_path}/empty.duckdb", "--against", a)
    assert code == 2 and err.endswith("or point --warehouse at an existing one.\n")


# -- across engines: the same input gives no difference -----------------------------------------


@pytest.mark.usefixtures("postgres_url")
def test_duckdb_and_postgres_loads_of_tricky_input_compare_identical(request, tmp_path):
    from tests.test_cross_engine import tricky_input

    source = tricky_input(tmp_path / "tricky")
    duck, pg = open_engine("duckdb", request, tmp_path), open_engine("postgres", request, tmp_path)
    try:
        for wh in (duck, pg):
            pipeline.run(wh, source)
        results = compare.compare_warehouses(duck, pg, batch_rows=7)  # many small batches
        assert [(r.table, r.is_identical) for r in results] == [
            (t, True) for t in ("users", "songs", "artists", "songplays", "time")
        ]
        assert sum(r.left_count for r in results) > 40
        pg.execute("update songs set title = title || '!' where song_id = 'SOB'")
        (changed,) = [r for r in compare.compare_warehouses(duck, pg) if not r.is_identical]
        assert (changed.table, changed.only_left, changed.only_right) == ("songs", 1, 1)
        assert [row[1] for _, row in changed.examples] == ["Case", "Case!"]
    finally:
        duck.close()
        pg.close()


def test_postgres_streams_in_batches(request, tmp_path):
    wh = open_engine("postgres", request, tmp_path)
    try:
        columns, batches = wh.stream("select i from generate_series(1, 25) as s(i)", batch_rows=10)
        assert columns == ["i"]
        assert [[r[0] for r in b] for b in batches] == [
            list(range(1, 11)),
            list(range(11, 21)),
            list(range(21, 26)),
        ]
        assert wh.query("select 1")[1] == [(1,)]  # the connection is usable afterwards
        with wh.transaction():  # inside a transaction: the cursor is closed, the transaction kept
            _, batches = wh.stream("select 1 as one", batch_rows=10)
            assert list(batches) == [[(1,)]]
            _, batches = wh.stream("select 2 as two", batch_rows=10)  # the name is free again
            assert list(batches) == [[(2,)]]
    finally:
        wh.close()


# -- the rules, unit by unit ---------------------------------------------------------------------


def test_nulls_sort_last_and_text_by_code_point():
    rows = [("b",), (None,), ("B",), ("a",), ("é",)]
    assert sorted(rows, key=compare.sort_key) == [("B",), ("a",), ("b",), ("é",), (None,)]


def test_rows_out_of_order_are_an_error_not_a_difference():
    class Unsorted:
        display_url = "fake://x"

        def qualified(self, table):
            return table

        def query(self, statement):
            return ["n"], [(2,)]

        def stream(self, statement, batch_rows):
            return ["user_id"], iter([[("b", 1)], [("a", 2)]])

    with pytest.raises(WarehouseError, match="did not arrive in bytewise order"):
        list(compare._sorted_rows(Unsorted(), "select", 10, "users of fake://x"))


def test_decimals_and_aware_datetimes_are_normalized():
    import decimal

    assert compare.normalize(decimal.Decimal("12")) == 12
    assert compare.normalize(decimal.Decimal("1.5")) == 1.5
    aware = dt.datetime(2018, 11, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert compare.normalize(aware) == dt.datetime(2018, 11, 1, 10)


def test_missing_table_on_one_side(tmp_path):
    a = synthetic_warehouse(tmp_path / "a.duckdb", 10)
    with pytest.raises(MissingTableError):
        run_compare(a, f"duckdb:///{tmp_path}/none.duckdb")


def test_the_benchmark_runs(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_compare.py"),
            "--rows",
            "2000",
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "rows per side: 2,000" in proc.stdout
        and "peak RSS" in proc.stdout
        and "differences found: 1" in proc.stdout
    )


# -- the merge, property-based: any two multisets of rows ---------------------------------------

from collections import Counter  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sparkify.schema import Column, Table  # noqa: E402

ROWS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(-3, 3)),
        st.one_of(st.none(), st.sampled_from(["", "a", "B", "é", "ab"])),
    ),
    max_size=30,
)


class ListWarehouse:
    """A stand-in engine holding one table as a list; it sorts as the real ones do (nulls last,
    bytewise) and streams in batches of ``batch`` rows."""

    def __init__(self, rows):
        self.rows = rows
        self.display_url = "list://"

    def qualified(self, table):
        return table

    def query(self, statement):
        return ["count"], [(len(self.rows),)]

    def stream(self, statement, batch_rows):
        ordered = sorted(self.rows, key=compare.sort_key)
        return ["x", "y"], iter([ordered[i : i + batch_rows] for i in range(0, len(ordered), batch_rows)])


TWO_COLUMNS = Table("pairs", (Column("x", "integer"), Column("y", "text")))


@settings(max_examples=200, deadline=None)
@given(left=ROWS, right=ROWS, batch=st.integers(1, 7))
def test_the_merge_counts_exactly_the_multiset_difference(left, right, batch):
    (result,) = compare.compare_warehouses(
        ListWarehouse(left), ListWarehouse(right), tables=(TWO_COLUMNS,), examples=100, batch_rows=batch
    )
    only_left, only_right = Counter(left) - Counter(right), Counter(right) - Counter(left)
    assert (result.only_left, result.only_right) == (sum(only_left.values()), sum(only_right.values()))
    assert Counter(row for side, row in result.examples if side == "<") == only_left
    assert Counter(row for side, row in result.examples if side == ">") == only_right
    assert result.is_identical == (Counter(left) == Counter(right))


def one_play_in_duckdb_and_postgres(request, tmp_path) -> tuple[str, str]:
    """The same one-play source run into a new DuckDB file and a new PostgreSQL schema (both closed):
    the DuckDB URL and the schema's name."""
    duck, pg = open_engine("duckdb", request, tmp_path), open_engine("postgres", request, tmp_path)
    source = write_source(
        tmp_path / "src",
        songs=[plain_song(song_id="SO1", artist_id="ARA", artist_name="Artist A", title="A Song")],
        events={"2018-11-01-events.json": [plain_event(song="A Song", artist="Artist A", length=200.5)]},
    )
    for wh in (duck, pg):
        pipeline.run(wh, source)
    duck_url, schema = duck.url, pg.schema
    duck.close()
    pg.close()
    return duck_url, schema


def test_the_cli_names_the_schema_of_a_server_warehouse(request, tmp_path, capsys, postgres_url):
    duck_url, schema = one_play_in_duckdb_and_postgres(request, tmp_path)
    code, out, err = sparkify(
        capsys, "compare", "-w", duck_url, "--against", postgres_url, "--against-schema", schema
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [f"< {duck_url}", f"> {postgres_url} (schema {schema})"]
    assert "songplays: identical (1 row)" in out


def test_a_configured_schema_names_the_server_side_only(request, tmp_path, capsys, postgres_url, monkeypatch):
    # a DuckDB file has no schema: the schema configured for the server side (--schema, the
    # environment, sparkify.toml) is not taken for the DuckDB side, in either direction
    duck_url, schema = one_play_in_duckdb_and_postgres(request, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPARKIFY_SCHEMA", raising=False)
    code, out, err = sparkify(
        capsys, "compare", "-w", postgres_url, "--schema", schema, "--against", duck_url
    )
    assert (code, err) == (0, ""), err
    assert out.splitlines()[:2] == [f"< {postgres_url} (schema {schema})", f"> {duck_url}"]
    monkeypatch.setenv("SPARKIFY_SCHEMA", schema)
    for args in (["-w", duck_url, "--against", postgres_url], ["-w", postgres_url, "--against", duck_url]):
        code, out, err = sparkify(capsys, "compare", *args)
        assert (code, err) == (0, ""), err
        assert f"(schema {schema})" in out
    monkeypatch.delenv("SPARKIFY_SCHEMA")
    (tmp_path / "sparkify.toml").write_text(f'schema = "{schema}"\n')
    code, _, err = sparkify(capsys, "compare", "-w", duck_url, "--against", postgres_url)
    assert (code, err) == (0, ""), err
    # named on the command line for the DuckDB side, it is refused, naming the flag
    code, _, err = sparkify(
        capsys, "compare", "-w", postgres_url, "--against", duck_url, "--against-schema", "x"
    )
    assert code == 2 and "--against-schema x applies to PostgreSQL and Redshift" in err, err


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The CLI in a child process, killed (and the test failed) if it runs over a minute: what these
    tests guard against is a wait without end."""
    return subprocess.run(
        [sys.executable, "-m", "sparkify", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_one_file_named_two_ways_is_the_same_warehouse(pair):
    """Tester finding (high): ``duckdb:///a.duckdb`` against ``duckdb:////abs/a.duckdb?threads=1``
    passed the check and then waited forever on its own lock."""
    a, _, path_b = pair
    (path_b.parent / "x").mkdir()
    for other in (
        "duckdb:///a.duckdb?threads=1",
        "duckdb:///./a.duckdb",
        f"duckdb:///{path_b.parent}/x/../a.duckdb",
    ):
        proc = cli("compare", "-w", a, "--against", other, "--wait-timeout", "1", cwd=path_b.parent)
        assert proc.returncode == 2, proc.stderr
        assert (
            proc.stderr
            == "Error: --warehouse and --against name the same warehouse: give two different ones.\n"
        )


def test_the_against_side_waits_no_longer_than_wait_timeout(pair):
    """Tester finding (high): --wait-timeout did not apply to --against, which waited without limit
    for a load holding that warehouse."""
    import time

    a, b, _ = pair
    with connect(b):  # a load holding B
        started = time.monotonic()
        proc = cli("compare", "-w", a, "--against", b, "--wait-timeout", "1")
        waited = time.monotonic() - started
    assert proc.returncode == 75, proc.stderr
    assert "--wait-timeout" in proc.stderr and waited >= 1


@pytest.mark.parametrize(
    "other",
    [
        "postgresql://postgres@localhost:5432/db",
        "postgresql:///db?host=127.0.0.1&user=postgres",
        "postgres://u:secret@LOCALHOST/db?sslmode=disable&application_name=x",
    ],
)
def test_one_server_database_named_two_ways_is_the_same_warehouse(other):
    """Tester finding: localhost against 127.0.0.1, or the host given as ?host=, compared a database
    with itself and passed ('All 5 star tables are identical', exit 0)."""
    from sparkify.errors import ConfigError

    with pytest.raises(ConfigError, match="name the same warehouse"):
        compare.require_two("postgresql://postgres@127.0.0.1:5432/db", None, other, None)
    compare.require_two(
        "postgresql://postgres@127.0.0.1:5432/db", None, other.replace("db", "other", 1), None
    )
    compare.require_two("postgresql://postgres@127.0.0.1:5432/db", "a", other, "b")  # two schemas
