"""`sparkify query`: one ad-hoc statement, in the engine's SQL or Redshift's, printed three ways.

The answers are the tricky source's, worked out by hand (tests/helpers/tricky.py: 8 plays).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import sparkify


@pytest.fixture(scope="module")
def url(tricky_duckdb) -> str:
    return tricky_duckdb


pytestmark = pytest.mark.usefixtures("cli_env")


def test_csv(capsys, url):
    code, out, err = sparkify(
        capsys, "query", "select count(*) as plays from songplays", "--format", "csv", "-w", url
    )
    assert (code, out, err) == (0, "plays\n8\n", "")


def test_json(capsys, url):
    code, out, _ = sparkify(
        capsys,
        "query",
        "select level, count(*) as plays from songplays group by level order by level",
        "--format",
        "json",
        "-w",
        url,
    )
    assert (code, out) == (
        0,
        '{"query": "query", "description": "", "columns": ["level", "plays"], "rows": '
        '[{"level": "free", "plays": 4}, {"level": "paid", "plays": 4}]}\n',
    )


def test_json_keeps_every_column_of_a_name_given_twice(capsys, url):
    # a tester's finding: `count(*), count(distinct user_id)` are both `count` in Redshift SQL, and
    # the JSON object kept one of them (the last), silently; CSV and the table kept both
    code, out, _ = sparkify(
        capsys,
        "query",
        "--dialect",
        "redshift",
        "select count(*), count(distinct level), count(*) + 1 as count_1, level from songplays group by level "
        "order by level",
        "--format",
        "json",
        "-w",
        url,
    )
    assert code == 0
    result = json.loads(out)
    assert result["columns"] == ["count", "count", "count_1", "level"]
    assert result["rows"] == [
        {"count": 4, "count_2": 1, "count_1": 5, "level": "free"},
        {"count": 4, "count_2": 1, "count_1": 5, "level": "paid"},
    ]


def test_table_shows_data_as_text_not_markup(capsys, url):
    code, out, _ = sparkify(capsys, "query", "select '[bold]x[/bold] [feat. X]' as title", "-w", url)
    assert code == 0
    text = "[bold]x[/bold] [feat. X]"
    width = len(text) + 2
    assert out == (
        "query\n"
        f"┏{'━' * width}┓\n"
        f"┃ {'title'.ljust(len(text))} ┃\n"
        f"┡{'━' * width}┩\n"
        f"│ {text} │\n"
        f"└{'─' * width}┘\n"
    )


def test_the_engines_own_sql_by_default_redshift_on_request(capsys, url):
    assert sparkify(capsys, "query", "select 7 / 2 as x", "--format", "csv", "-w", url)[1] == "x\n3.5\n"
    code, out, _ = sparkify(
        capsys, "query", "--dialect", "redshift", "select 7 / 2 as x", "--format", "csv", "-w", url
    )
    assert (code, out) == (0, "x\n3\n")


def test_from_a_file_with_show_sql(capsys, url, tmp_path):
    path = tmp_path / "top.sql"
    path.write_text("-- the first play\nselect top 1 user_id from songplays order by start_time, user_id\n")
    code, out, err = sparkify(
        capsys, "query", "-f", path, "--dialect", "redshift", "--show-sql", "--format", "csv", "-w", url
    )
    assert code == 0
    assert err.startswith("-- query on duckdb (translated from redshift)\n")  # stderr: the CSV stays clean
    assert "LIMIT 1" in err
    # the same answer as the engine's own SQL gives, untranslated
    _, plain, _ = sparkify(
        capsys,
        "query",
        "select user_id from songplays order by start_time, user_id limit 1",
        "--format",
        "csv",
        "-w",
        url,
    )
    assert plain.count("\n") == 2 and out == plain


def test_an_untranslatable_query_is_one_line(capsys, url):
    code, out, err = sparkify(
        capsys,
        "query",
        "--dialect",
        "redshift",
        "select\n  ratio_to_report(session_id) over ()\nfrom songplays",
        "-w",
        url,
    )
    assert (code, out) == (2, "")
    assert err.startswith("Error: the query, line 2: RATIO_TO_REPORT has no equivalent here")
    assert err.count("\n") == 1


@pytest.mark.parametrize("args", [(), ("select 1", "-f", "x.sql")])
def test_exactly_one_of_sql_and_file(capsys, url, args):
    code, _, err = sparkify(capsys, "query", *args, "-w", url)
    assert code == 2
    assert "Give the query as the SQL argument or with --file FILE (one of them)." in err


def test_a_missing_file(capsys, url, tmp_path):
    code, _, err = sparkify(capsys, "query", "-f", tmp_path / "nope.sql", "-w", url)
    assert code == 2
    assert err == f"Error: Cannot read query file {tmp_path / 'nope.sql'}: No such file or directory.\n"


JSON_VALUES = {
    # engine: (SQL of values JSON has no plain form for, what --format json must give for them)
    "duckdb": (
        "select 'inf'::double as a, -'inf'::double as b, 'nan'::double as c, interval 1 day as d, "
        "interval 90 minute as e, [1, 2] as f, {'x': 1, 'y': [0.5]} as g, 1.50::decimal(9, 2) as h",
        {
            "a": "Infinity",
            "b": "-Infinity",
            "c": "NaN",
            "d": "P1D",
            "e": "PT1H30M",
            "f": [1, 2],
            "g": {"x": 1, "y": [0.5]},
            "h": 1.5,
        },
    ),
    "postgres": (
        "select 'Infinity'::float8 as a, '-Infinity'::float8 as b, 'NaN'::float8 as c, interval '1 day' as d, "
        "interval '-0.25 seconds' as e, array[1, 2] as f, '{\"x\": 1, \"y\": [0.5]}'::jsonb as g, "
        "1.50::numeric(9, 2) as h",
        {
            "a": "Infinity",
            "b": "-Infinity",
            "c": "NaN",
            "d": "P1D",
            "e": "-PT0.25S",
            "f": [1, 2],
            "g": {"x": 1, "y": [0.5]},
            "h": 1.5,
        },
    ),
}


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_json_is_strict_json_for_every_value(capsys, engine, url, request):
    # bare NaN/Infinity, a timedelta's str, a list's or dict's Python repr were written (tester finding)
    import json

    sql, expected = JSON_VALUES[engine]
    args = ["-w", url]
    if engine == "postgres":
        args = ["-w", request.getfixturevalue("postgres_url")]
    code, out, err = sparkify(capsys, "query", sql, "--format", "json", *args)
    assert code == 0, err

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    [row] = json.loads(out, parse_constant=refuse)["rows"]
    assert row == expected
    assert '"h": 1.50' in out  # a decimal keeps its digits
