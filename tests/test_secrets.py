"""Secrets -- passwords in URLs, AWS keys, session tokens -- never reach output, errors, `sparkify sql`,
or the load_runs / load_errors tables."""

from __future__ import annotations

import pytest

from sparkify.cli import main
from sparkify.warehouse import connect
from tests.conftest import REPO
from tests.helpers.fixtures import event, song, write_source

PASSWORD = "Sup3r-S3cret-pw"
AWS_SECRET = "AKIAFAKEFAKEFAKE/secretKEYdoNOTprint"
TOKEN = "FwoGZXIvYXdzEFAKETOKENdoNOTprint"


def sparkify(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out + err


@pytest.fixture(autouse=True)
def aws_secrets(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)


def assert_clean(text: str):
    for secret in (PASSWORD, AWS_SECRET, TOKEN):
        assert secret not in text


def test_a_password_in_the_url_appears_nowhere(capsys, tmp_path, postgres_url, pg_schema):
    # the test server trusts local connections, so any password is accepted
    url = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@")
    assert PASSWORD in url
    src = write_source(tmp_path / "src", [event()], [song()])
    (src / "log_data" / "bad.json").write_text("{oops\n")
    code, out = sparkify(capsys, "run", "--debug", "--max-errors", "1", "-s", str(src), "-w", url, "--schema", pg_schema)
    assert code == 0, out
    assert "postgres:***@" in out
    assert_clean(out)
    for args in (["check"], ["analytics"], ["report", "-o", str(tmp_path / "r.html")]):
        code, out = sparkify(capsys, *args, "-w", url, "--schema", pg_schema)
        assert code == 0, out
        assert_clean(out)
    assert_clean((tmp_path / "r.html").read_text())
    import psycopg

    with psycopg.connect(postgres_url) as con:
        for table in ("load_runs", "load_errors", "load_files"):
            rows = con.execute(f'select * from "{pg_schema}"."{table}"').fetchall()
            assert rows
            assert_clean(repr(rows))


def test_a_password_in_a_redshift_url_appears_nowhere(capsys, tmp_path, monkeypatch, request, pg_schema):
    from tests.conftest import IAM_ROLE, TEST_ENGINES, set_aws_env
    from tests.helpers.s3 import BUCKET, sync

    if "redshift" not in TEST_ENGINES:
        pytest.skip("SPARKIFY_TEST_ENGINES leaves out redshift")
    standin = request.getfixturevalue("redshift_standin")
    endpoint = request.getfixturevalue("s3_server")
    set_aws_env(monkeypatch, endpoint)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)  # moto does not check signatures
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    url = standin.url().replace("postgres@", f"postgres:{PASSWORD}@")  # the stand-in ignores passwords
    src = write_source(tmp_path / "src", [event()], [song()])
    (src / "log_data" / "bad.json").write_text("{oops\n")
    (src / "log_json_path.json").write_bytes((REPO / "data" / "sparkify-sample" / "log_json_path.json").read_bytes())
    uri = sync(endpoint, src, f"s3://{BUCKET}/secrets-{pg_schema}")
    common = ["-w", url, "--schema", pg_schema]
    code, out = sparkify(capsys, "run", "--debug", "--max-errors", "1", "-s", uri, "--iam-role", IAM_ROLE, *common)
    assert code == 0, out
    assert "postgres:***@" in out
    assert_clean(out)
    code, out = sparkify(capsys, "check", *common)
    assert code == 0, out
    assert_clean(out)
    wh = connect(url, schema=pg_schema)
    try:
        for table in ("load_runs", "load_errors", "load_files"):
            _, rows = wh.query(f"select * from {wh.qualified(table)}")
            assert rows
            assert_clean(repr(rows))
    finally:
        wh.close()


def test_errors_never_show_the_password(capsys):
    url = f"postgresql://someone:{PASSWORD}@127.0.0.1:1/nothing"  # nothing listens on port 1
    for debug in ([], ["--debug"]):
        code, out = sparkify(capsys, *debug, "check", "-w", url)
        assert code == 1
        assert "someone:***@" in out
        assert_clean(out)


def test_sparkify_sql_masks_secrets(capsys):
    for engine in ("duckdb", "postgres", "redshift"):
        code, out = sparkify(
            capsys, "sql", "--engine", engine, "-w", f"redshift://u:{PASSWORD}@h:5439/db",
            "--source", "s3://bucket/prefix", "--iam-role", "arn:aws:iam::123456789012:role/r",
        )
        assert code == 0, out
        assert_clean(out)


def test_a_bad_config_value_does_not_echo_a_password(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sparkify.toml").write_text(f'warehouse = "postgresql://u:{PASSWORD}@h/db"\nmax_errors = "many"\n')
    code, out = sparkify(capsys, "check")
    assert code == 2 and "max_errors" in out
    assert_clean(out)
