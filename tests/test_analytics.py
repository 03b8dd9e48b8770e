"""`sparkify analytics`: golden results on the sample, readable diffs, the comparison rules, output formats.

The expected results come from the plain-Python reference (tests/expected/sample/, written by
tests/helpers/make_expected.py) and, for the tricky source, from answers worked out by hand
(tests/helpers/tricky.py) -- never from the SQL under test.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from sparkify import analytics, pipeline
from sparkify.analytics import Query, Result, compare
from sparkify.errors import SparkifyError
from sparkify.warehouse import connect
from tests.conftest import sparkify
from tests.helpers import tricky

EXPECTED = Path(__file__).resolve().parent / "expected" / "sample"


def _loaded(source: Path, db: Path) -> str:
    url = f"duckdb:///{db}"
    with connect(url) as wh:
        pipeline.run(wh, source)
    return url


@pytest.fixture(scope="module")
def sample_url(sample_dir, tmp_path_factory) -> str:
    """A DuckDB warehouse loaded from the real sample, once for this module."""
    return _loaded(sample_dir, tmp_path_factory.mktemp("sample") / "sample.duckdb")


@pytest.fixture(scope="module")
def tricky_url(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("tricky")
    return _loaded(tricky.write(tmp / "source"), tmp / "tricky.duckdb")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No sparkify.toml or SPARKIFY_* variable of the developer's leaks into the CLI."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("SPARKIFY_")]:
        monkeypatch.delenv(name)


def _csv_rows(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1


# -- golden results on the sample ---------------------------------------------------------------


def test_sample_matches_the_expected_results(capsys, sample_url):
    code, out, err = sparkify(capsys, "analytics", "--expected", EXPECTED, "--warehouse", sample_url)
    names = list(analytics.catalog())
    assert err == ""

    def matches(n: str) -> str:
        rows = _csv_rows(EXPECTED / f"{n}.csv")
        return f"{n}: matches ({rows} row{'' if rows == 1 else 's'})\n"

    assert out == "".join(matches(n) for n in names) + (
        f"All {len(names)} analytics results match {EXPECTED}.\n"
    )
    assert code == 0


@pytest.fixture
def perturbed(tmp_path) -> Path:
    """A copy of the expected results to spoil."""
    return Path(shutil.copytree(EXPECTED, tmp_path / "expected"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_wrong_count_fails_with_a_diff_naming_the_row(capsys, sample_url, perturbed):
    _edit(perturbed / "row_counts.csv", "users,97\n", "users,98\n")
    code, out, err = sparkify(capsys, "analytics", "--expected", perturbed, "--warehouse", sample_url)
    assert code == 1
    assert (
        f"row_counts: DIFFERS from {perturbed / 'row_counts.csv'}\n  row 2: expected ['users', '98'], got ['users', '97']\n"
        in out
    )
    assert "top_songs: matches (10 rows)" in out
    assert err == "Error: 1 of 10 analytics results differ: row_counts\n"


def test_a_float_beyond_the_tolerance_fails(capsys, sample_url, perturbed):
    _edit(perturbed / "matched_share.csv", "6820,319,0.0467741935483871", "6820,319,0.04677419")
    code, out, _ = sparkify(
        capsys, "analytics", "matched_share", "--expected", perturbed, "--warehouse", sample_url
    )
    assert code == 1
    assert (
        "  row 1: expected ['6820', '319', '0.04677419'], got ['6820', '319', '0.0467741935483871']\n" in out
    )


def test_a_float_within_the_tolerance_passes(capsys, sample_url, perturbed):
    _edit(perturbed / "matched_share.csv", "0.0467741935483871", "0.04677419354838712")
    code, out, _ = sparkify(
        capsys, "analytics", "matched_share", "--expected", perturbed, "--warehouse", sample_url
    )
    assert (code, out.splitlines()[0]) == (0, "matched_share: matches (1 row)")


def test_a_missing_row_fails(capsys, sample_url, perturbed):
    _edit(perturbed / "plays_by_weekday.csv", "0,Sunday,396\n", "")
    code, out, _ = sparkify(
        capsys, "analytics", "plays_by_weekday", "--expected", perturbed, "--warehouse", sample_url
    )
    assert code == 1
    assert "  row count differs: expected 6, got 7\n" in out
    assert "  row 1: expected ['1', 'Monday', '1014'], got ['0', 'Sunday', '396']\n" in out


def test_a_missing_expected_file_is_an_error(capsys, sample_url, perturbed):
    (perturbed / "top_songs.csv").unlink()
    (perturbed / "row_counts.csv").unlink()
    code, out, err = sparkify(
        capsys, "analytics", "top_songs", "--expected", perturbed, "--warehouse", sample_url
    )
    assert code == 2  # a wrong --expected folder is a usage error, not a failed comparison
    assert err == (
        f"Error: {perturbed} has no expected result for top_songs (NAME.csv each): write them with "
        "--save-expected DIR, or name only the queries that have one.\n"
    )
    # every missing one named at once, before any query ran (tester finding: the run stopped at the
    # first, after the results before it were printed)
    code, out, err = sparkify(capsys, "analytics", "--expected", perturbed, "--warehouse", sample_url)
    assert code == 2 and out == ""
    assert "no expected result for row_counts, top_songs (NAME.csv each)" in err
    code, _, err = sparkify(capsys, "analytics", "--expected", perturbed / "nope", "--warehouse", sample_url)
    assert (
        code == 2
        and err == f"Error: Expected results folder {perturbed / 'nope'} does not exist (--expected DIR).\n"
    )


def test_an_expected_file_that_names_no_query_is_said_to_be_left_out(capsys, sample_url, tmp_path):
    import shutil

    folder = tmp_path / "expected"
    shutil.copytree(EXPECTED, folder)
    (folder / "bogus.csv").write_text("a\n1\n")
    code, out, _ = sparkify(capsys, "analytics", "--expected", folder, "--warehouse", sample_url)
    assert code == 0
    assert f"{folder / 'bogus.csv'} names no query: not compared.\n" in out


def test_an_unknown_query_name_suggests_the_closest(capsys, sample_url):
    code, out, err = sparkify(capsys, "analytics", "top_song", "--warehouse", sample_url)
    assert code == 2
    assert out == ""
    assert (
        err
        == "Error: No analytics query named 'top_song'. Did you mean 'top_songs'? See `sparkify analytics --list`.\n"
    )


# -- output formats, exact, on the tricky source (answers worked out by hand) -------------------


def test_format_csv_writes_every_answer_to_its_own_file(capsys, tricky_url, tmp_path):
    code, out, err = sparkify(capsys, "analytics", "--format", "csv", "--warehouse", tricky_url)
    assert code == 2 and out == "" and "pass --out DIR" in err  # one stream of many CSVs cannot be parsed
    code, out, err = sparkify(
        capsys, "analytics", "--format", "csv", "--out", str(tmp_path / "r"), "-w", tricky_url
    )
    assert (code, err) == (0, "")
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == sorted(
        f"{n}.csv" for n in tricky.ANSWERS_CSV
    )
    for name, answer in tricky.ANSWERS_CSV.items():
        assert (tmp_path / "r" / f"{name}.csv").read_text() == answer


@pytest.mark.parametrize("name", sorted(tricky.ANSWERS_CSV))
def test_format_csv_one_query(capsys, tricky_url, name):
    code, out, _ = sparkify(capsys, "analytics", name, "--format", "csv", "--warehouse", tricky_url)
    assert (code, out) == (0, tricky.ANSWERS_CSV[name])


def test_format_json(capsys, tricky_url):
    code, out, err = sparkify(
        capsys,
        "analytics",
        "plays_per_day",
        "matched_share",
        "top_songs",
        "--format",
        "json",
        "--warehouse",
        tricky_url,
    )
    assert (code, err) == (0, "")
    assert out == (
        '{"query": "plays_per_day", "description": "Plays per calendar day (UTC), split into free and paid plays.", '
        '"columns": ["day", "plays", "free_plays", "paid_plays"], "rows": [{"day": "2020-12-31", "plays": 1, "free_plays": 1, "paid_plays": 0}, '
        '{"day": "2021-01-01", "plays": 2, "free_plays": 1, "paid_plays": 1}, '
        '{"day": "2021-01-03", "plays": 2, "free_plays": 0, "paid_plays": 2}, '
        '{"day": "2021-01-04", "plays": 3, "free_plays": 2, "paid_plays": 1}]}\n'
        '{"query": "matched_share", "description": "The share of plays matched to a known song (song_id not null).", '
        '"columns": ["plays", "matched_plays", "matched_share"], "rows": [{"plays": 8, "matched_plays": 5, "matched_share": 0.625}]}\n'
        '{"query": "top_songs", "description": "The 10 most played songs (plays matched to a known song), '
        'ties by song_id.", "columns": ["song_id", "title", "artist_name", "plays"], "rows": ['
        '{"song_id": "SOAAA", "title": "Song A", "artist_name": "Band X", "plays": 1}, '
        '{"song_id": "SOCCC", "title": "66", "artist_name": "Eight Eight Three", "plays": 1}, '
        '{"song_id": "SODDD", "title": "4.6", "artist_name": "Eight Eight Three", "plays": 1}, '
        '{"song_id": "SOEEE", "title": "E", "artist_name": "W", "plays": 1}, '
        '{"song_id": "SOJJJ", "title": "Float", "artist_name": "F band", "plays": 1}]}\n'
    )
    for line in out.splitlines():
        json.loads(line)


# -- compare(), unit by unit --------------------------------------------------------------------


def _expect(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expected.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "expected", "same"),
    [
        (1.0, "1.0", True),
        (1.0, "1", True),
        (1.0, "1.0000000005", True),  # 5e-10 relative: within 1e-9
        (1.0, "0.9999999995", True),
        (1.0, "1.000000002", False),  # 2e-9 relative: beyond
        (1e-12, "1.0000000005e-12", True),  # relative, not absolute
        (1e-12, "2e-12", False),
        (0.0, "1e-300", False),
        (0.0, "0.0", True),
        (0.1 + 0.2, "0.3", True),
        (5, "5", True),
        (5, "6", False),
        (5, "5.0", False),  # ints exact, as digits
        (5, "", False),
        (None, "", True),  # NULL: the empty field (a lone one: an empty line)
        (None, '""', False),  # an empty text is not NULL
        (None, "0", False),
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("", '""', True),  # an empty text: a quoted empty field
        ("", "", False),  # not the empty field, which is NULL
        (dt.date(2018, 11, 1), "2018-11-01", True),
        (dt.date(2018, 11, 1), "2018-11-02", False),
        # a timestamp as Redshift prints it, or with every digit (a tester's finding: .796 failed)
        (dt.datetime(2018, 11, 1, 21, 1, 46, 796000), "2018-11-01 21:01:46.796", True),
        (dt.datetime(2018, 11, 1, 21, 1, 46, 796000), "2018-11-01 21:01:46.796000", True),
        (dt.datetime(2018, 11, 1, 21, 1, 46, 796000), "2018-11-01 21:01:46.797", False),
        (dt.datetime(2018, 11, 1, 21, 1, 46), "2018-11-01 21:01:46", True),
        (dt.datetime(2018, 11, 1, 21, 1, 46), "yesterday", False),
        # decimals exactly, to the last digit the file writes (a tester's finding: a relative
        # tolerance passed 10000000000.00 for 10000000009.99)
        (Decimal("10000000000.00"), "10000000009.99", False),
        (Decimal("10000000000.00"), "10000000000.00", True),
        (Decimal("1234567890123.4567"), "1234567890123.4500", False),
        (Decimal("1234567890123.4567"), "1234567890123.4567", True),
        (Decimal("0.10"), "0.1", True),
        (Decimal("0.10"), "0.11", False),
        (Decimal("0.66666666666666666667"), "0.6666666666666666", True),  # as a double writes 2/3
        (Decimal("0.66666666666666666667"), "0.6666666666666665", False),
        # a tester's finding: 45::numeric(10,2) / 17 saved on DuckDB (a double) failed on PostgreSQL,
        # whose numeric rounds the last digit up; a short text stays exact to its last digit
        (Decimal("2.6470588235294118"), "2.6470588235294117", True),
        (Decimal("2.6470588235294119"), "2.6470588235294117", False),
        (Decimal("0.12"), "0.11", False),
        (Decimal("12345678901234567890.12"), "12345678901234567890.12", True),
        (Decimal("12345678901234567890.12"), "1.2345678901234567e+19", False),
        (Decimal("0.10"), "abc", False),
        (Decimal("0.10"), "NaN", False),
    ],
)
def test_compare_one_value(tmp_path, value, expected, same):
    # ``expected`` as the file writes the field: in a file of one column, an empty line is NULL
    path = _expect(tmp_path, "x\n" + expected + "\n")
    diff = compare(Result(["x"], [(value,)]), path, ordered=True)
    assert (diff == "") is same, diff


def test_compare_ordered_rows_must_be_in_order(tmp_path):
    path = _expect(tmp_path, "n,name\n2,b\n1,a\n")
    result = Result(["n", "name"], [(1, "a"), (2, "b")])
    assert compare(result, path, ordered=True) == (
        "  row 1: expected ['2', 'b'], got ['1', 'a']\n  row 2: expected ['1', 'a'], got ['2', 'b']"
    )
    assert compare(result, path, ordered=False) == ""


def test_compare_takes_the_order_from_the_query(tmp_path):
    path = _expect(tmp_path, "n\n10\n9\n")
    result = Result(["n"], [(9,), (10,)])
    assert compare(result, path, query=Query("q", "", ordered=False, sql="")) == ""
    assert compare(result, path, query=Query("q", "", ordered=True, sql="")) != ""
    assert compare(result, path) != "", "with no query, rows are compared in order"


def test_compare_unordered_still_counts_duplicates(tmp_path):
    path = _expect(tmp_path, "n\n1\n1\n2\n")
    assert compare(Result(["n"], [(2,), (1,), (2,)]), path, ordered=False) != ""
    assert compare(Result(["n"], [(2,), (1,), (1,)]), path, ordered=False) == ""


def test_compare_column_mismatch(tmp_path):
    path = _expect(tmp_path, "a,b\n1,2\n")
    assert (
        compare(Result(["a", "c"], [(1, 2)]), path) == "columns differ: expected ['a', 'b'], got ['a', 'c']"
    )
    assert compare(Result(["b", "a"], [(2, 1)]), path).startswith("columns differ")


def test_compare_row_count(tmp_path):
    path = _expect(tmp_path, "a\n1\n2\n")
    assert compare(Result(["a"], [(1,)]), path) == "  row count differs: expected 2, got 1"
    assert compare(Result(["a"], []), _expect(tmp_path, "a\n")) == ""


def test_compare_missing_file(tmp_path):
    with pytest.raises(SparkifyError, match="does not exist"):
        compare(Result(["a"], [(1,)]), tmp_path / "nope.csv")


def test_compare_empty_file(tmp_path):
    path = _expect(tmp_path, "")
    assert "needs a header row" in compare(Result(["a"], []), path)


def test_compare_long_diffs_are_cut_at_twenty(tmp_path):
    path = _expect(tmp_path, "a\n" + "".join(f"{i}\n" for i in range(30)))
    diff = compare(Result(["a"], [(i + 1,) for i in range(30)]), path, ordered=True)
    lines = diff.splitlines()
    assert len(lines) == 21
    assert lines[0] == "  row 1: expected ['0'], got ['1']"
    assert lines[-1] == "  ... and 10 more differences"


def test_a_description_spanning_several_header_lines_is_joined():
    from sparkify.analytics import catalog

    assert catalog()["level_split"].description == (
        "Free vs paid: plays at each level (the level of the play), distinct users who played at it, and "
        "the level's share of all plays."
    )
    assert all(q.description and "order:" not in q.description for q in catalog().values())


def test_blank_lines_in_an_expected_csv_are_not_rows(tmp_path):
    from sparkify.analytics import Result, compare

    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,x\n\n2,y\n\n")
    assert compare(Result(["a", "b"], [(1, "x"), (2, "y")]), path, ordered=True) == ""


# -- order: ties and results without ORDER BY ---------------------------------------------------


def _q(sql: str) -> Query:
    return analytics.parse_query("q", sql)


def test_rows_tied_on_the_order_by_compare_in_any_order(tmp_path):
    path = _expect(tmp_path, "name,plays\nc,9\na,5\nb,5\nd,1\n")
    query = _q("select name, plays from t order by plays desc")
    engine_order = Result(["name", "plays"], [("c", 9), ("b", 5), ("a", 5), ("d", 1)])
    assert compare(engine_order, path, query=query) == ""
    assert analytics.expected.note(engine_order, query) == "1 run of tied rows compared in any order"
    # but order across ties still counts, and a difference names the ties it allowed
    wrong = Result(["name", "plays"], [("b", 5), ("c", 9), ("a", 5), ("d", 1)])
    assert compare(wrong, path, query=query) == (
        "  row 1: expected ['c', '9'], got ['b', '5']\n"
        "  row 2: expected ['a', '5'], got ['c', '9']\n"
        "  row 3: expected ['b', '5'], got ['a', '5']\n"
        "  rows 2-3 tie on (plays): compared in any order"
    )


def test_an_order_by_on_an_expression_compares_strictly(tmp_path):
    path = _expect(tmp_path, "name\nb\na\n")
    query = _q("select name from t order by lower(name) desc")
    assert compare(Result(["name"], [("b",), ("a",)]), path, query=query) == ""
    assert compare(Result(["name"], [("a",), ("b",)]), path, query=query) != ""


def test_a_result_without_order_by_is_a_multiset(tmp_path):
    path = _expect(tmp_path, "level,n\nfree,1\npaid,2\npaid,2\n")
    query = _q("-- no order\nselect level, n from t")
    assert compare(Result(["level", "n"], [("paid", 2), ("free", 1), ("paid", 2)]), path, query=query) == ""
    assert compare(Result(["level", "n"], [("paid", 2), ("free", 1), ("free", 1)]), path, query=query) == (
        "  rows compared as a multiset (the query has no ORDER BY)\n"
        "  missing: ['paid', '2']\n"
        "  unexpected: ['free', '1']"
    )
    assert compare(Result(["level", "n"], [("free", 1)]), path, query=query) == (
        "  rows compared as a multiset (the query has no ORDER BY)\n"
        "  row count differs: expected 3, got 1\n"
        "  missing: ['paid', '2'] (x2)"
    )


def test_the_header_can_declare_the_order_open():
    query = _q("-- Plays per level.\n-- order: unordered\nselect level from t order by level")
    assert (query.description, query.ordered) == ("Plays per level.", False)


def test_saved_results_compare_equal(tmp_path):
    result = Result(
        ["day", "share", "name", "gone"],
        [(dt.date(2018, 11, 1), 0.1 + 0.2, 'a, "b"', None), (dt.date(2018, 11, 2), 1e-300, "", None)],
    )
    path = analytics.save_expected(result, tmp_path / "pinned", "q")
    assert path.read_text(encoding="utf-8") == (
        # NULL is the empty field, an empty text a quoted empty one: never taken for each other
        'day,share,name,gone\n2018-11-01,0.30000000000000004,"a, ""b""",\n2018-11-02,1e-300,"",\n'
    )
    assert compare(result, path, ordered=True) == ""
    swapped = Result(result.columns, [result.rows[0], (dt.date(2018, 11, 2), 1e-300, None, "")])
    assert compare(swapped, path, ordered=True) == (
        "  row 2: expected ['2018-11-02', '1e-300', '', NULL], got ['2018-11-02', '1e-300', NULL, '']"
    )


def test_saving_an_open_order_sorts_the_rows(tmp_path):
    result = Result(["n"], [(3,), (None,), (1,), (2,)])
    path = analytics.save_expected(result, tmp_path, "q", query=_q("select n from t"))
    assert path.read_text(encoding="utf-8") == "n\n1\n2\n3\n\n"  # NULL last, an empty line
    assert compare(result, path, query=_q("select n from t")) == ""
    assert compare(Result(["n"], [(3,), ("",), (1,), (2,)]), path, query=_q("select n from t")) != ""


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANSWER_ROWS = st.lists(
    st.tuples(
        st.integers(-5, 5), st.one_of(st.none(), st.text(alphabet='ab,"é ', max_size=3)), st.floats(0, 1)
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(rows=ANSWER_ROWS, seed=st.randoms(use_true_random=False))
def test_any_order_of_a_pinned_multiset_matches_and_a_lost_row_does_not(tmp_path_factory, rows, seed):
    folder = tmp_path_factory.mktemp("pinned")
    query = _q("select n, s, f from t")
    path = analytics.save_expected(Result(["n", "s", "f"], rows), folder, "q", query=query)
    shuffled = list(rows)
    seed.shuffle(shuffled)
    assert compare(Result(["n", "s", "f"], shuffled), path, query=query) == ""
    if rows:
        assert compare(Result(["n", "s", "f"], shuffled[1:]), path, query=query) != ""
    # an empty text taken for NULL, or NULL for an empty text, is a difference
    flipped = [(n, None if s == "" else "" if s is None else s, f) for n, s, f in shuffled]
    as_multiset = lambda rs: sorted(map(repr, rs))  # noqa: E731
    if as_multiset(flipped) != as_multiset(shuffled):  # (0, None) and (0, '') flipped are the same rows
        assert compare(Result(["n", "s", "f"], flipped), path, query=query) != ""


def test_decimals_are_shown_and_written_with_every_digit(warehouse, tmp_path):
    # a tester's finding: 12345678901234567890.12 printed as 1.2345678901234567e+19, 0.10 as 0.1
    sql = (
        "select cast('12345678901234567890.12' as decimal(38,2)) as big, cast('0.10' as decimal(5,2)) as dime, "
        "cast('1234567890123.4567' as decimal(20,4)) as fine"
    )
    result = analytics.run_query(warehouse, analytics.ad_hoc(sql, dialect="postgres", origin="q.sql"))
    from sparkify.analytics import expected

    assert expected.to_csv(result) == "big,dime,fine\n12345678901234567890.12,0.10,1234567890123.4567\n"
    assert json.loads(expected.to_json(Query("q", "", None, sql), result), parse_float=Decimal)["rows"] == [
        {
            "big": Decimal("12345678901234567890.12"),
            "dime": Decimal("0.10"),
            "fine": Decimal("1234567890123.4567"),
        }
    ]
    pinned = _expect(tmp_path, "big,dime,fine\n12345678901234567890.12,0.10,1234567890123.4500\n")
    assert "1234567890123.4567" in compare(result, pinned, ordered=True)
