"""Shared fixtures. Engines under test are chosen by SPARKIFY_TEST_ENGINES (default: all three;
``redshift`` is the Redshift stand-in of tests/redshift_standin, backed by the PostgreSQL test server
and moto's S3, started once per session)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.helpers.s3 import ACCESS_KEY as S3_ACCESS_KEY
from tests.helpers.s3 import BUCKET as S3_BUCKET
from tests.helpers.s3 import SECRET_KEY as S3_SECRET_KEY

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sparkify-sample"

TEST_ENGINES = tuple(
    e.strip()
    for e in os.environ.get("SPARKIFY_TEST_ENGINES", "duckdb,postgres,redshift").split(",")
    if e.strip()
)
"""Engines the ``warehouse`` fixture runs each test on (env SPARKIFY_TEST_ENGINES, comma-separated)."""

CLIENT_ENGINES = tuple(e for e in TEST_ENGINES if e != "redshift")
"""The engines under test that read the input on this machine (all but Redshift, whose COPY reads S3):
for fixtures that load a local folder."""

POSTGRES_URL = os.environ.get("SPARKIFY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""The PostgreSQL server the tests use (env SPARKIFY_TEST_POSTGRES_URL)."""


SLOW_MODULES = frozenset({"test_signals", "test_wheel", "test_benchmarks"})
"""Modules whose every test starts sparkify processes and signals them, builds and installs the wheel,
or runs a benchmark: marked ``slow`` here, so ``make test-fast`` (``-m "not slow"``) leaves them out.
``make test`` and CI run them."""


def pytest_collection_modifyitems(config, items):
    """Mark every test of :data:`SLOW_MODULES` slow (beside those marked slow one by one)."""
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The real Sparkify sample shipped in the repo."""
    return SAMPLE


@pytest.fixture
def duckdb_wh(tmp_path):
    """A fresh DuckDB warehouse in a temp file."""
    from sparkify.warehouse import connect

    wh = connect(f"duckdb:///{tmp_path}/test.duckdb")
    yield wh
    wh.close()


def _unavailable(reason: str):
    """Skip a test that needs a service this machine lacks -- but under CI=true, fail: CI must run it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL, once it answers; skips (fails under CI=true) when none does."""
    if "postgres" not in TEST_ENGINES:
        pytest.skip(f"SPARKIFY_TEST_ENGINES={','.join(TEST_ENGINES)} leaves out postgres")
    return _postgres_server()


def _postgres_server() -> str:
    from sparkify.config import mask_url

    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'sparkify[postgres]'")
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=5).close()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _unavailable(
            f"no PostgreSQL server at {mask_url(POSTGRES_URL)} ({first}); "
            "start one or set SPARKIFY_TEST_POSTGRES_URL"
        )
    return POSTGRES_URL


@pytest.fixture
def pg_schema():
    """A fresh schema name on the test server; the schema (if created) is dropped afterwards."""
    import psycopg

    url = _postgres_server()
    name = f"sparkify_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'drop schema if exists "{name}" cascade')


@pytest.fixture
def pg_database():
    """The URL of a fresh, empty database on the test server, dropped afterwards: for a test whose
    outcome depends on every schema the database holds (other tests' schemas live in ``test``)."""
    import psycopg

    url = _postgres_server()
    name = f"sparkify_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    base, _, query = url.partition("?")
    yield base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def s3_server():
    """moto's standalone S3 on 127.0.0.1 (a free port), per test module: its endpoint URL.

    Per module, not per session: moto keeps S3 in process-wide state, which every ``mock_aws``
    block (test_infra) wipes on exit, buckets and all; a module's server makes its buckets anew."""
    try:
        from tests.helpers.s3 import start_server

        server, endpoint = start_server()
    except ImportError as exc:
        _unavailable(
            f"moto[server] and boto3 are needed for S3 and Redshift tests: pip install -e '.[dev]' ({exc})"
        )
    yield endpoint
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, s3_server):
    """The standard AWS settings pointing at the moto server, with fake credentials; nothing of the
    developer's own ~/.aws is read."""
    return set_aws_env(monkeypatch, s3_server)


def set_aws_env(monkeypatch, s3_server: str) -> str:
    """Point the standard AWS settings at the moto server ``s3_server`` through ``monkeypatch``."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/sparkify-test/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/sparkify-test/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return s3_server


IAM_ROLE = "arn:aws:iam::123456789012:role/sparkify-standin"
"""The role the Redshift tests pass to COPY (the stand-in requires one and reads S3 with its own keys)."""


@pytest.fixture(scope="module")
def redshift_standin(s3_server):
    """The Redshift stand-in on a free loopback port (per module, like the S3 it reads), backed by
    the PostgreSQL test server and moto's S3; skips (fails under CI=true) without them."""
    url = _postgres_server()
    try:
        import redshift_connector  # noqa: F401 -- the product's driver, needed to talk to it
    except ImportError:
        _unavailable("redshift_connector is not installed: pip install 'sparkify[redshift]'")
    from tests.helpers.s3 import standin_s3
    from tests.redshift_standin import Standin

    with Standin(url, s3_client=standin_s3(s3_server)) as server:
        yield server


def open_engine(engine: str, request, tmp_path):
    """A fresh, empty warehouse of ``engine``: a DuckDB file, or a new schema on the test server."""
    from sparkify.warehouse import connect

    if engine == "duckdb":
        return connect(f"duckdb:///{tmp_path}/{uuid.uuid4().hex[:8]}.duckdb")
    if engine == "postgres":
        url = request.getfixturevalue("postgres_url")
        return connect(url, schema=request.getfixturevalue("pg_schema"))
    if engine == "redshift":
        standin = request.getfixturevalue("redshift_standin")
        request.getfixturevalue("aws_env")  # sparkify lists and writes S3 objects (moto) too
        wh = connect(standin.url(), schema=request.getfixturevalue("pg_schema"), iam_role=IAM_ROLE)
        wh.test_s3 = (
            request.getfixturevalue("s3_server"),
            f"s3://{S3_BUCKET}/redshift-{uuid.uuid4().hex[:10]}",
        )
        return wh
    raise pytest.UsageError(
        f"SPARKIFY_TEST_ENGINES names {engine!r}; the fixture knows duckdb, postgres and redshift"
    )


@pytest.fixture(params=TEST_ENGINES)
def warehouse(request, tmp_path):
    """A fresh, empty warehouse, once per engine in SPARKIFY_TEST_ENGINES.

    A test marked ``@pytest.mark.engines("duckdb", "postgres", reason=...)`` is about a behaviour
    only those engines have: on the others it is reported skipped with that reason."""
    marker = request.node.get_closest_marker("engines")
    if marker is not None and request.param not in marker.args:
        pytest.skip(
            f"{request.param}: {marker.kwargs.get('reason', 'not an engine this behaviour applies to')}"
        )
    wh = open_engine(request.param, request, tmp_path)
    yield wh
    wh.close()


def source_for(wh, local: Path) -> str | Path:
    """What a test passes to ``pipeline.run`` for the hand-made source folder ``local``: the folder
    itself, or -- for an engine that loads from S3 (Redshift's COPY) -- the S3 prefix of ``wh`` made
    to hold the folder's files, every one byte for byte."""
    if not wh.copies_from_s3:
        return local
    from tests.helpers.s3 import client, sync

    for folder in ("song_data", "log_data"):
        if not any(p.is_file() and p.stat().st_size for p in (Path(local) / folder).rglob("*")):
            # S3 sources refuse an empty place on every engine (sources/s3.py: almost always a typo)
            pytest.skip(
                f"no {folder} objects: an S3 source refuses an empty prefix, so {wh.name} cannot load this input"
            )
    endpoint, uri = wh.test_s3
    sync(endpoint, local, uri)
    # sync() carries the .json files; every other file is input too (.json.gz, no suffix, ...)
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    s3 = client(endpoint)
    for path in sorted(p for p in Path(local).rglob("*") if p.is_file() and p.suffix != ".json"):
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}/{path.relative_to(local).as_posix()}", Body=path.read_bytes()
        )
    return uri


@pytest.fixture(scope="module")
def sample_on_s3(s3_server) -> str:
    """The real sample (and its JSONPaths file) at s3://BUCKET/sample, for engines that load from S3."""
    from tests.helpers.s3 import put_directly

    return put_directly(s3_server, SAMPLE, f"s3://{S3_BUCKET}/sample")


def sample_for(wh, request) -> str | Path:
    """The real sample as ``wh`` loads it: the folder, or its S3 copy (Redshift)."""
    return request.getfixturevalue("sample_on_s3") if wh.copies_from_s3 else SAMPLE


@pytest.fixture(scope="module")
def tricky_duckdb(tmp_path_factory) -> str:
    """The URL of a DuckDB warehouse loaded with the tricky source (tests/helpers/tricky.py: its star
    tables worked out by hand), one per test module that asks for it."""
    from sparkify import pipeline
    from sparkify.warehouse import connect
    from tests.helpers import tricky

    tmp = tmp_path_factory.mktemp("tricky")
    url = f"duckdb:///{tmp / 'tricky.duckdb'}"
    with connect(url) as wh:
        pipeline.run(wh, tricky.write(tmp / "source"))
    return url


def sparkify(capsys, *args) -> tuple[int, str, str]:
    """Run the CLI in this process on ``args`` (each made a string); return (exit code, stdout, stderr)."""
    from sparkify.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A CLI test's surroundings: the working folder is ``tmp_path`` and no ``SPARKIFY_*`` variable is set."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("SPARKIFY_")]:
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _always_incremental(monkeypatch):
    """In-process runs take the incremental path whenever it applies, however much of the history a
    change reaches, so the tests that compare it with a full rebuild exercise it; a run falls back to
    a full rebuild when that costs less (``REBUILD_FRACTION``), which tests/test_incremental_fallback.py
    sets back to test."""
    monkeypatch.setattr("sparkify.pipeline.incremental.REBUILD_FRACTION", None)
