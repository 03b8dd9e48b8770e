"""Secrets -- passwords in URLs, AWS keys, session tokens -- never reach output, errors, `sparkify sql`,
or the load_runs / load_errors tables."""

from __future__ import annotations

import pytest

from sparkify.cli import main
from sparkify.warehouse import connect
from tests.conftest import REPO
from tests.helpers.records import event, song, write_source

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
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    (src / "log_data" / "bad.json").write_text("{oops\n")
    code, out = sparkify(
        capsys, "run", "--debug", "--max-errors", "1", "-s", str(src), "-w", url, "--schema", pg_schema
    )
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
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    (src / "log_data" / "bad.json").write_text("{oops\n")
    (src / "log_json_path.json").write_bytes(
        (REPO / "data" / "sparkify-sample" / "log_json_path.json").read_bytes()
    )
    uri = sync(endpoint, src, f"s3://{BUCKET}/secrets-{pg_schema}")
    common = ["-w", url, "--schema", pg_schema]
    code, out = sparkify(
        capsys, "run", "--debug", "--max-errors", "1", "-s", uri, "--iam-role", IAM_ROLE, *common
    )
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
        assert code == 75  # connection refused: a temporary failure
        assert "someone:***@" in out
        assert_clean(out)


def test_sparkify_sql_masks_secrets(capsys):
    for engine in ("duckdb", "postgres", "redshift"):
        code, out = sparkify(
            capsys,
            "sql",
            "--engine",
            engine,
            "-w",
            f"redshift://u:{PASSWORD}@h:5439/db",
            "--source",
            "s3://bucket/prefix",
            "--iam-role",
            "arn:aws:iam::123456789012:role/r",
        )
        assert code == 0, out
        assert_clean(out)


def test_a_bad_config_value_does_not_echo_a_password(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sparkify.toml").write_text(
        f'warehouse = "postgresql://u:{PASSWORD}@h/db"\nmax_errors = "many"\n'
    )
    code, out = sparkify(capsys, "check")
    assert code == 2 and "max_errors" in out
    assert_clean(out)


RAW = "p@ss/w#rd?x"
"""A password holding every character a URL must percent-encode."""


def url_forms(base: str) -> list[str]:
    """Each way libpq accepts a password, on the server ``base`` (postgresql://user@host:port/db)."""
    from urllib.parse import quote

    head, tail = base.split("://", 1)
    user, rest = tail.split("@", 1)
    return [
        f"{head}://{user}:{PASSWORD}@{rest}",
        f"{head}://{user}@{rest}?password={PASSWORD}",
        f"{head}://{user}@{rest}?application_name=x&password={PASSWORD}&sslmode=disable",
        f"{head}://{user}:{quote(RAW, safe='')}@{rest}",
        # the passphrase of the client key (tester finding: printed in clear in output, --json, report)
        f"{head}://{user}@{rest}?sslmode=disable&sslpassword={PASSWORD}",
    ]


def assert_no_password(text: str):
    from urllib.parse import quote

    for secret in (PASSWORD, RAW, quote(RAW, safe=""), "w#rd", "rd?x", "ss/w"):
        assert secret not in text, secret


def test_every_libpq_password_form_is_masked_everywhere(
    capsys, tmp_path, postgres_url, pg_schema, monkeypatch
):
    monkeypatch.delenv("PGPASSWORD")
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    (src / "log_data" / "bad.json").write_text("{oops\n")
    for i, url in enumerate(url_forms(postgres_url)):
        schema = f"{pg_schema}_{i}" if i else pg_schema
        code, out = sparkify(
            capsys, "run", "--max-errors", "1", "-s", str(src), "-w", url, "--schema", schema
        )
        assert code == 0, out
        assert "***" in out
        assert_no_password(out)
        for args in (
            ["check"],
            ["analytics", "top_songs"],
            ["report", "-o", str(tmp_path / "r.html")],
            ["sql"],
        ):
            code, out = sparkify(capsys, *args, "-w", url, "--schema", schema)
            assert code == 0, out
            assert_no_password(out)
        assert_no_password((tmp_path / "r.html").read_text())
        # and in errors: the same URL pointed at a port nothing listens on
        broken = url.replace(postgres_url.rsplit("@", 1)[1].split("/")[0], "127.0.0.1:1")
        code, out = sparkify(capsys, "--debug", "check", "-w", broken)
        assert code != 0 and "***" in out
        assert_no_password(out)
    import psycopg

    with psycopg.connect(postgres_url) as con:
        for i in range(len(url_forms(postgres_url))):
            schema = f"{pg_schema}_{i}" if i else pg_schema
            for table in ("load_runs", "load_errors", "load_files"):
                assert_no_password(repr(con.execute(f'select * from "{schema}"."{table}"').fetchall()))
            if i:
                con.execute(f'drop schema "{schema}" cascade')


@pytest.mark.parametrize("char,encoded", [("@", "%40"), ("/", "%2F"), ("#", "%23"), ("?", "%3F")])
def test_a_password_that_needs_percent_encoding_is_refused_masked(capsys, char, encoded):
    url = f"postgresql://me:Zq1{char}Wv2{char}Kx3@db.example:5432/music"
    for args in (["check", "-w", url], ["sql", "-w", url], ["run", "-w", url]):
        code, out = sparkify(capsys, *args)
        assert code == 2, out
        assert f"{char} as {encoded}" in out and "percent-encode" in out and "--warehouse" in out
        assert "Zq1" not in out and "Wv2" not in out and "Kx3" not in out


@pytest.mark.parametrize("password", ["pa%ZZss", "pa%2", "pa%"])
def test_a_percent_that_starts_no_escape_is_a_configuration_error(capsys, password):
    # a tester's finding: libpq's "invalid percent-encoded token" was exit 75, "retry later"
    url = f"postgresql://me:{password}@127.0.0.1:1/music"
    for args in (["check", "-w", url], ["run", "-w", url]):
        code, out = sparkify(capsys, *args)
        assert code == 2, out
        assert "% as %25" in out and "percent-encode" in out
        assert password not in out and "***" in out


def test_a_percent_escape_in_a_password_is_taken_as_written(capsys):
    # %40 is an @: the URL is well formed, and the connection (nothing listens on port 1) fails
    code, out = sparkify(capsys, "check", "-w", "postgresql://me:pa%40ss@127.0.0.1:1/music")
    assert code == 75, out
    assert "%25" not in out and "pa%40ss" not in out and "pa@ss" not in out


def test_mask_url_forms():
    from sparkify.urls import mask_url

    assert mask_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u@h/db?password=s3cret") == "postgresql://u@h/db?password=***"
    assert (
        mask_url("postgresql://u@h/db?sslmode=require&PASSWORD=s3&x=1")
        == "postgresql://u@h/db?sslmode=require&PASSWORD=***&x=1"
    )
    assert mask_url("host=h password=s3cret dbname=d") == "host=h password=*** dbname=d"
    assert mask_url("host=h password='s3 cret' dbname=d") == "host=h password=*** dbname=d"
    for leaky in (
        "postgresql://u:pa/ss@h/db",
        "postgresql://u:pa#ss@h/db",
        "postgresql://u:p@ss@h/db",
        "postgresql://u:pa?ss@h/db",
    ):
        masked = mask_url(leaky)
        assert masked == "postgresql://u:***@h/db", masked
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("duckdb:///x.duckdb") == "duckdb:///x.duckdb"
