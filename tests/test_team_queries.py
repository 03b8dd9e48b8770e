"""The team's own queries, in Redshift SQL, on every engine (Redshift: the stand-in): `sparkify
analytics --queries DIR`.

tests/team_queries/ holds hand-written queries, several in Redshift-only syntax; their expected
results (tests/team_queries/expected/) come from the plain-Python reference
(tests/helpers/team_answers.py), never from running SQL. The shipped catalog, also Redshift SQL now,
must give the golden results on the sample on every engine too.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.warehouse import connect
from tests.conftest import POSTGRES_URL, TEST_ENGINES, sparkify
from tests.helpers import team_answers

TEAM = Path(__file__).resolve().parent / "team_queries"
TEAM_EXPECTED = TEAM / "expected"
GOLDEN = Path(__file__).resolve().parent / "expected" / "sample"


@pytest.fixture(scope="module", params=TEST_ENGINES)
def loaded(request, sample_dir, tmp_path_factory) -> list[str]:
    """CLI arguments naming a warehouse of this engine loaded from the sample, once per module
    (Redshift: the stand-in, loaded from the sample's S3 copy)."""
    if request.param == "redshift":
        yield from _loaded_redshift(request)
        return
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path_factory.mktemp('team')}/sample.duckdb"
        with connect(url) as wh:
            pipeline.run(wh, sample_dir)
        yield ["--warehouse", url]
        return
    request.getfixturevalue("postgres_url")  # skips (or fails under CI) without a server
    import psycopg

    schema = f"sparkify_test_{uuid.uuid4().hex[:12]}"
    try:
        with connect(POSTGRES_URL, schema=schema) as wh:
            wh.create_schema()
            pipeline.run(wh, sample_dir)
        yield ["--warehouse", POSTGRES_URL, "--schema", schema]
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as con:
            con.execute(f'drop schema if exists "{schema}" cascade')


def _loaded_redshift(request):
    from tests.conftest import IAM_ROLE, set_aws_env

    standin = request.getfixturevalue("redshift_standin")
    s3_server = request.getfixturevalue("s3_server")
    schema = f"sparkify_test_{uuid.uuid4().hex[:12]}"
    with pytest.MonkeyPatch.context() as mp:
        set_aws_env(mp, s3_server)
        with connect(standin.url(), schema=schema, iam_role=IAM_ROLE) as wh:
            wh.create_schema()
            pipeline.run(wh, request.getfixturevalue("sample_on_s3"))
    try:
        yield ["--warehouse", standin.url(), "--schema", schema]
    finally:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as con:
            con.execute(f'drop schema if exists "{schema}" cascade')


pytestmark = pytest.mark.usefixtures("cli_env")


def test_the_expected_files_are_the_reference_answers():
    fresh = team_answers.expected_csvs()
    committed = {p.stem: p.read_text(encoding="utf-8") for p in sorted(TEAM_EXPECTED.glob("*.csv"))}
    assert committed == fresh, "stale: run python -m tests.helpers.team_answers"
    assert len(fresh) == len(list(TEAM.glob("*.sql"))) >= 10


def test_team_queries_match_on_every_engine(capsys, loaded):
    code, out, err = sparkify(capsys, "analytics", "--queries", TEAM, "--expected", TEAM_EXPECTED, *loaded)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[-1] == f"All 10 analytics results match {TEAM_EXPECTED}."
    assert "matched_by_level: matches (2 rows; in any order: the query has no ORDER BY)" in lines
    assert "paid_percent_by_day: matches (30 rows)" in lines


def test_the_catalog_matches_the_golden_results_on_every_engine(capsys, loaded):
    code, out, err = sparkify(capsys, "analytics", "--expected", GOLDEN, *loaded)
    assert (code, err) == (0, ""), out
    assert out.endswith(f"All 10 analytics results match {GOLDEN}.\n")


def test_saved_results_are_the_reference_answers(capsys, loaded, tmp_path):
    code, out, _ = sparkify(
        capsys, "analytics", "--queries", TEAM, "--save-expected", tmp_path / "pinned", *loaded
    )
    assert code == 0
    assert f"top_free_users: 5 rows saved to {tmp_path / 'pinned' / 'top_free_users.csv'}" in out
    saved = {p.stem: p.read_text(encoding="utf-8") for p in sorted((tmp_path / "pinned").glob("*.csv"))}
    assert saved == team_answers.expected_csvs()


def test_a_wrong_row_in_a_multiset_result_is_named(capsys, loaded, tmp_path):
    expected = Path(shutil.copytree(TEAM_EXPECTED, tmp_path / "expected"))
    path = expected / "matched_by_level.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("paid,5330,261", "paid,5330,262"), encoding="utf-8")
    code, out, err = sparkify(
        capsys, "analytics", "matched_by_level", "--queries", TEAM, "--expected", expected, *loaded
    )
    assert code == 1
    assert out == (
        f"matched_by_level: DIFFERS from {path}\n"
        "  rows compared as a multiset (the query has no ORDER BY)\n"
        "  missing: ['paid', '5330', '262']\n"
        "  unexpected: ['paid', '5330', '261']\n"
    )
    assert err == "Error: 1 of 1 analytics results differ: matched_by_level\n"


def test_show_sql_prints_what_ran(capsys, loaded):
    code, out, err = sparkify(
        capsys, "analytics", "top_free_users", "--queries", TEAM, "--show-sql", "--format", "csv", *loaded
    )
    assert code == 0
    assert out == TEAM_EXPECTED.joinpath("top_free_users.csv").read_text(encoding="utf-8")
    if loaded[1].startswith("redshift"):  # the team's SQL, as written
        assert err.startswith("-- top_free_users on redshift (redshift, as written)\n")
        assert "select top 5" in err
        return
    engine = "duckdb" if loaded[1].startswith("duckdb") else "postgres"
    assert err.startswith(f"-- top_free_users on {engine} (translated from redshift)\n")
    assert "\nSELECT\n" in err
    assert "LIMIT 5" in err and "top 5" not in err.lower()


def test_an_untranslatable_query_is_one_line_naming_file_and_line(capsys, loaded, tmp_path):
    if loaded[1].startswith("redshift"):
        pytest.skip("redshift: the team's SQL runs as written there, nothing is translated")
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "renewals.sql").write_text(
        "-- Each user's share of the plays.\nselect\n    user_id,\n    ratio_to_report(session_id) over () as share\n"
        "from songplays\n",
        encoding="utf-8",
    )
    code, out, err = sparkify(capsys, "analytics", "--queries", folder, *loaded)
    assert code == 2
    assert out == ""
    assert err.startswith(f"Error: {folder / 'renewals.sql'}, line 4: RATIO_TO_REPORT has no equivalent here")
    assert err.count("\n") == 1


def test_a_folder_without_queries_is_an_error(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = sparkify(capsys, "analytics", "--queries", tmp_path / "empty")
    assert code == 2
    assert err == f"Error: {tmp_path / 'empty'} holds no .sql file. Put one query per NAME.sql in it.\n"


def test_list_shows_the_team_queries_and_their_descriptions(capsys):
    code, out, _ = sparkify(capsys, "analytics", "--queries", TEAM, "--list")
    assert code == 0
    assert "top_free_users" in out and "The 5 users with the most plays on the free level" in out


def test_dialect_applies_to_query_files_only(capsys):
    code, _, err = sparkify(capsys, "analytics", "--dialect", "duckdb")
    assert code == 2
    assert "--dialect applies to --queries files" in err


def test_an_engine_error_names_the_query_file(capsys, loaded, tmp_path):
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "typo.sql").write_text("-- A typo.\nselect user_idd from songplays\n", encoding="utf-8")
    code, _out, err = sparkify(capsys, "analytics", "--queries", folder, *loaded)
    assert code == 2  # a mistake in the query's text: the user's to fix (README: exit codes)
    assert err.startswith(f"Error: {folder / 'typo.sql'}: ")
    assert "user_idd" in err and err.count("\n") == 1
