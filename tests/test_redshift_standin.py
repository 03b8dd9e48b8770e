"""The Redshift stand-in, from a plain driver (redshift_connector, as the product uses it), before the
product touches it: each behaviour the AWS documentation describes and the stand-in models."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import IAM_ROLE, REPO
from tests.helpers.s3 import BUCKET, client

redshift_connector = pytest.importorskip("redshift_connector")


@pytest.fixture
def rs(redshift_standin, pg_schema):
    """A redshift_connector connection to the stand-in (autocommit), in a fresh schema."""
    con = redshift_connector.connect(
        host=redshift_standin.host,
        port=redshift_standin.port,
        database="test",
        user="postgres",
        password="unused",
        ssl=False,
    )
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f'create schema "{pg_schema}"')
    cur.execute(f'set search_path to "{pg_schema}"')
    yield con
    con.close()


@pytest.fixture
def s3(s3_server):
    return client(s3_server)


@pytest.fixture
def prefix() -> str:
    return f"standin-{uuid.uuid4().hex[:8]}"


def run(con, sql, params=None):
    cur = con.cursor()
    cur.execute(sql, params)
    return cur


def rows(con, sql, params=None):
    return [tuple(r) for r in run(con, sql, params).fetchall()]


def sqlstate(exc) -> str:
    return exc.value.args[0]["C"]


def put(s3, key: str, records: list | None = None, *, text: str | None = None, gz: bool = False) -> str:
    body = (text if text is not None else "".join(json.dumps(r) + "\n" for r in records)).encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(body) if gz else body)
    return f"s3://{BUCKET}/{key}"


def copy(con, table: str, source: str, options: str = "format as json 'auto'", role: bool = True):
    role_clause = f"iam_role '{IAM_ROLE}'" if role else ""
    run(con, f"copy {table} from '{source}' {role_clause} {options}")


# -- start-up -------------------------------------------------------------------------------------


def test_reports_redshift_server_version_and_accepts_its_startup_parameters(rs):
    # redshift_connector sends client_protocol_version (PostgreSQL would refuse it) and parses
    # server_version: Redshift reports 8.0.2.
    statuses = dict(rs.parameter_statuses)
    assert statuses[b"server_version"] == b"8.0.2"
    assert rows(rs, "select 1 + 1") == [(2,)]


def test_a_plain_postgresql_client_can_connect_and_inspect(redshift_standin, rs, pg_schema):
    psycopg = pytest.importorskip("psycopg")
    run(rs, "create table t (a integer)")
    run(rs, "insert into t values (7)")
    with psycopg.connect(
        host=redshift_standin.host,
        port=redshift_standin.port,
        dbname="test",
        user="postgres",
        sslmode="disable",
    ) as con:
        assert con.info.parameter_status("server_version") == "8.0.2"
        assert con.execute(f'select a from "{pg_schema}".t').fetchall() == [(7,)]


def test_command_line_prints_ready_and_serves(tmp_path, s3_server):
    from tests.conftest import _postgres_server

    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.redshift_standin", "--postgres", _postgres_server(), "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "ready" in line
        port = int(line.split(" on ", 1)[1].split(";")[0].rsplit(":", 1)[1])
        con = redshift_connector.connect(
            host="127.0.0.1", port=port, database="test", user="postgres", password="unused", ssl=False
        )
        assert dict(con.parameter_statuses)[b"server_version"] == b"8.0.2"
        con.close()
    finally:
        proc.terminate()
        try:  # it closes its sessions first (each deletes its COPY bookkeeping on the server)
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise


# -- DDL ------------------------------------------------------------------------------------------


def test_distribution_sort_keys_and_encodings_are_accepted(rs):
    run(
        rs,
        """create table t (
        id bigint identity(0, 1),
        k integer encode az64 distkey,
        v varchar(10) encode zstd
    ) diststyle key distkey (k) compound sortkey (k, v)""",
    )
    run(rs, "create table u (a integer) diststyle all sortkey auto")
    run(rs, "create table w (a integer) diststyle even")
    run(rs, "insert into t (k, v) values (5, 'a'), (6, 'b'), (7, 'c')")
    assert rows(rs, "select id, k from t order by id") == [(0, 5), (1, 6), (2, 7)]


def test_identity_takes_seed_and_step_and_refuses_explicit_values(rs):
    run(rs, "create table t (id bigint identity(10, 5), v integer)")
    run(rs, "insert into t (v) values (1), (2)")
    assert rows(rs, "select id, v from t order by v") == [(10, 1), (15, 2)]
    with pytest.raises(redshift_connector.ProgrammingError):
        run(rs, "insert into t (id, v) values (99, 3)")


def test_varchar_lengths_are_bytes_at_most_65535(rs):
    run(rs, "create table t (v varchar(4), w text)")
    run(rs, "insert into t (v) values ('abcd')")
    run(rs, "insert into t (v) values ('éé')")  # 4 bytes
    with pytest.raises(redshift_connector.ProgrammingError):
        run(rs, "insert into t (v) values ('ééé')")  # 3 characters, 6 bytes
    with pytest.raises(redshift_connector.ProgrammingError):
        run(rs, "insert into t (w) values (%s)", ["x" * 257])  # TEXT is VARCHAR(256)
    with pytest.raises(redshift_connector.ProgrammingError) as exc:
        run(rs, "create table too_long (v varchar(65536))")
    assert "65535" in str(exc.value)
    run(rs, "create table widest (v varchar(65535))")


@pytest.mark.parametrize(
    "statement, state",
    [
        ("insert into t (a) values (1) on conflict do nothing", "42601"),
        ("select pg_try_advisory_lock(1)", "42883"),
        ("select pg_advisory_lock(hashtext('x'))", "42883"),
        ("create unlogged table u (a integer)", "42601"),
        ("create table u (a integer[])", "0A000"),
        ("select array[1, 2]", "0A000"),
        ("create index i on t (a)", "0A000"),
        ("insert into t (a) values (1) returning a", "42601"),
        ('create table u (a varchar(10) collate "C")', "42704"),
    ],
)
def test_what_redshift_lacks_is_refused_and_aborts_the_transaction(rs, statement, state):
    run(rs, "create table t (a integer)")
    run(rs, "begin")
    run(rs, "insert into t (a) values (5)")
    with pytest.raises(redshift_connector.ProgrammingError) as exc:
        run(rs, statement)
    assert sqlstate(exc) == state
    with pytest.raises(redshift_connector.ProgrammingError) as aborted:
        run(rs, "select 1")
    assert sqlstate(aborted) == "25P02"  # current transaction is aborted
    run(rs, "rollback")
    assert rows(rs, "select count(*) from t") == [(0,)]


def test_a_literal_that_mentions_a_refused_word_is_fine(rs):
    assert rows(rs, "select 'on conflict returning array[1]'") == [("on conflict returning array[1]",)]


# -- transactions ---------------------------------------------------------------------------------


def test_truncate_commits_the_open_transaction(rs):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html
    run(rs, "create table t (a integer)")
    run(rs, "create table u (a integer)")
    run(rs, "insert into u values (1)")
    run(rs, "begin")
    run(rs, "insert into t values (1)")
    run(rs, "truncate table u")
    run(rs, "rollback")  # too late for both: TRUNCATE committed the insert, and itself
    assert rows(rs, "select count(*) from t") == [(1,)]
    assert rows(rs, "select count(*) from u") == [(0,)]


def test_an_error_aborts_the_transaction(rs):
    run(rs, "create table t (a integer)")
    run(rs, "begin")
    run(rs, "insert into t values (1)")
    with pytest.raises(redshift_connector.ProgrammingError):
        run(rs, "select * from no_such_table")
    with pytest.raises(redshift_connector.ProgrammingError):
        run(rs, "insert into t values (2)")
    run(rs, "rollback")
    assert rows(rs, "select count(*) from t") == [(0,)]


# -- COPY -----------------------------------------------------------------------------------------

SONGS = "create table s (song_id varchar(18), title varchar(256), year integer, duration double precision)"


def test_copy_json_auto_matches_keys_to_columns_and_ignores_the_rest(rs, s3, prefix):
    run(rs, SONGS)
    src = put(
        s3,
        f"{prefix}/a.json",
        [
            {"song_id": "SO1", "title": "One", "year": 2001, "duration": 1.5, "extra": "ignored"},
            {"song_id": "SO2", "title": 42, "Year": 1999},  # a number into VARCHAR is its text; Year != year
        ],
    )
    copy(rs, "s", src)
    assert rows(rs, "select song_id, title, year, duration from s order by song_id") == [
        ("SO1", "One", 2001, 1.5),
        ("SO2", "42", None, None),
    ]
    assert rows(rs, "select pg_last_copy_count()") == [(2,)]


def test_copy_auto_ignorecase_matches_keys_whatever_their_case(rs, s3, prefix):
    run(rs, SONGS)
    src = put(s3, f"{prefix}/a.json", [{"Song_ID": "SO1", "YEAR": 1999}])
    copy(rs, "s", src, "format as json 'auto ignorecase'")
    assert rows(rs, "select song_id, year from s") == [("SO1", 1999)]


def test_copy_reads_every_object_whose_key_starts_with_the_prefix(rs, s3, prefix):
    run(rs, SONGS)
    put(s3, f"{prefix}/log-1.json", [{"song_id": "A"}])
    put(s3, f"{prefix}/log-2.json", [{"song_id": "B"}])
    put(s3, f"{prefix}/logs/deeper.json", [{"song_id": "C"}])
    put(s3, f"{prefix}/other.json", [{"song_id": "D"}])
    copy(rs, "s", f"s3://{BUCKET}/{prefix}/log")
    assert rows(rs, "select song_id from s order by 1") == [("A",), ("B",), ("C",)]
    commits = rows(
        rs,
        "select trim(filename), lines_scanned from stl_load_commits "
        "where query = pg_last_copy_id() order by 1",
    )
    assert commits == [
        (f"s3://{BUCKET}/{prefix}/log-1.json", 1),
        (f"s3://{BUCKET}/{prefix}/log-2.json", 1),
        (f"s3://{BUCKET}/{prefix}/logs/deeper.json", 1),
    ]


def test_copy_with_a_column_list_and_jsonpaths_maps_paths_in_order(rs, s3, prefix):
    run(rs, "create table e (id bigint identity(0, 1), user_id varchar(10), ts bigint, page varchar(20))")
    paths = put(
        s3, f"{prefix}/paths.json", text=json.dumps({"jsonpaths": ["$['userId']", "$.ts", "$['page']"]})
    )
    src = put(s3, f"{prefix}/data/e.json", [{"ts": 1541105830796, "page": "NextSong", "userId": 7}])
    copy(rs, "e (user_id, ts, page)", src, f"format as json '{paths}' compupdate off statupdate off")
    assert rows(rs, "select id, user_id, ts, page from e") == [(0, "7", 1541105830796, "NextSong")]


def test_copy_refuses_a_jsonpaths_file_whose_length_differs_from_the_columns(rs, s3, prefix):
    run(rs, "create table e (user_id varchar(10), ts bigint)")
    paths = put(s3, f"{prefix}/paths.json", text=json.dumps({"jsonpaths": ["$.userId", "$.ts", "$.page"]}))
    src = put(s3, f"{prefix}/data/e.json", [{"ts": 1, "userId": "7"}])
    with pytest.raises(redshift_connector.ProgrammingError) as exc:
        copy(rs, "e (user_id, ts)", src, f"format as json '{paths}'")
    assert "Number of jsonpaths and the number of columns should match" in str(exc.value)
    assert "JSONPath size: 3, Number of columns in table or column list: 2" in str(exc.value)


def test_copy_requires_an_iam_role(rs, s3, prefix):
    run(rs, SONGS)
    src = put(s3, f"{prefix}/a.json", [{"song_id": "SO1"}])
    with pytest.raises(redshift_connector.ProgrammingError) as exc:
        copy(rs, "s", src, "format as json 'auto'", role=False)
    assert "credentials" in str(exc.value).lower()


def test_copy_gzip_manifest_and_region(rs, s3, prefix):
    run(rs, SONGS)
    a = put(s3, f"{prefix}/a.json.gz", [{"song_id": "A"}], gz=True)
    put(s3, f"{prefix}/b.json.gz", [{"song_id": "B"}], gz=True)  # not in the manifest
    c = put(s3, f"{prefix}/c.json.gz", [{"song_id": "C"}], gz=True)
    manifest = put(
        s3,
        f"{prefix}/load.manifest",
        text=json.dumps({"entries": [{"url": a, "mandatory": True}, {"url": c, "mandatory": True}]}),
    )
    copy(rs, "s", manifest, "region 'us-east-1' format as json 'auto' manifest gzip")
    assert rows(rs, "select song_id from s order by 1") == [("A",), ("C",)]

    missing = put(
        s3,
        f"{prefix}/missing.manifest",
        text=json.dumps({"entries": [{"url": f"s3://{BUCKET}/{prefix}/nope.json.gz", "mandatory": True}]}),
    )
    with pytest.raises(redshift_connector.ProgrammingError) as exc:
        copy(rs, "s", missing, "format as json 'auto' manifest gzip")
    assert "mandatory" in str(exc.value)


def test_copy_timeformat_epochmillisecs(rs, s3, prefix):
    run(rs, "create table t (ts timestamp)")
    src = put(s3, f"{prefix}/t.json", [{"ts": 1541105830796}])
    copy(rs, "t", src, "format as json 'auto' timeformat as 'epochmillisecs'")
    import datetime as dt

    assert rows(rs, "select ts from t") == [(dt.datetime(2018, 11, 1, 20, 57, 10, 796000),)]


BAD = [
    {"song_id": "SO1", "year": 2001},
    {"song_id": "SO2", "year": 12.5},  # not an integer
    {"song_id": "S" * 19, "year": 2002},  # 19 bytes into VARCHAR(18)
    {"song_id": "SO4", "year": 99999999999},  # out of INTEGER's range
    {"song_id": "SO5", "year": 2005},
]


def test_values_that_do_not_fit_fail_the_copy_and_their_errors_survive_the_rollback(rs, s3, prefix):
    run(rs, SONGS)
    src = put(s3, f"{prefix}/bad.json", BAD)
    run(rs, "begin")
    with pytest.raises(redshift_connector.ProgrammingError) as exc:
        copy(rs, "s", src)
    assert "Load into table 's' failed.  Check 'stl_load_errors' system table for details." in str(exc.value)
    run(rs, "rollback")
    assert rows(rs, "select count(*) from s") == [(0,)]
    errors = rows(
        rs,
        """select trim(filename), line_number, trim(colname), err_code, trim(raw_line)
        from stl_load_errors where session = pg_backend_pid()
        and query = (select max(query) from stl_load_errors where session = pg_backend_pid())
        order by line_number""",
    )
    assert errors == [
        (src, 2, "year", 1207, json.dumps(BAD[1])),
        (src, 3, "song_id", 1204, json.dumps(BAD[2])),
        (src, 4, "year", 1216, json.dumps(BAD[3])),
    ]
    reasons = rows(
        rs,
        "select trim(err_reason) from stl_load_errors where session = pg_backend_pid() order by line_number",
    )
    assert reasons[0] == ("Invalid digit, Value '.', Pos 2, Type: Integer",)
    assert reasons[1] == ("String length exceeds DDL length",)
    detail = rows(
        rs,
        """select trim(file_name), line_number, trim(column_name), trim(error_message)
        from sys_load_error_detail where session_id = pg_backend_pid() order by line_number""",
    )
    assert [d[:3] for d in detail] == [e[:3] for e in errors]


def test_maxerror_skips_that_many_bad_records(rs, s3, prefix):
    run(rs, SONGS)
    src = put(s3, f"{prefix}/bad.json", BAD)
    with pytest.raises(redshift_connector.ProgrammingError):
        copy(rs, "s", src, "format as json 'auto' maxerror 2")  # 3 bad records > 2
    copy(rs, "s", src, "format as json 'auto' maxerror as 3")
    assert rows(rs, "select song_id, year from s order by 1") == [("SO1", 2001), ("SO5", 2005)]
    assert rows(rs, "select pg_last_copy_count()") == [(2,)]
    (copy_id,) = rows(rs, "select pg_last_copy_id()")[0]
    assert rows(
        rs,
        "select count(*), min(session) = pg_backend_pid() from stl_load_errors where query = %s",
        [copy_id],
    ) == [(3, True)]
    assert rows(
        rs, "select trim(filename), lines_scanned, errors from stl_load_commits where query = %s", [copy_id]
    ) == [(src, 5, 3)]


def test_broken_json_is_a_load_error_on_its_line(rs, s3, prefix):
    run(rs, SONGS)
    src = put(s3, f"{prefix}/broken.json", text='{"song_id": "A"}\n{"song_id": \n{"song_id": "C"}\n')
    copy(rs, "s", src, "format as json 'auto' maxerror 1")
    assert rows(rs, "select song_id from s order by 1") == [("A",), ("C",)]
    assert rows(rs, "select line_number from stl_load_errors where query = pg_last_copy_id()") == [(2,)]


def test_pg_last_copy_functions_before_any_copy(rs):
    assert rows(rs, "select pg_last_copy_count(), pg_last_copy_id()") == [(-1, -1)]


KILLED_CLIENT = """
import os, signal, sys, redshift_connector
con = redshift_connector.connect(host="127.0.0.1", port=int(sys.argv[1]), database="test", user="postgres",
                                 password="unused", ssl=False)
con.autocommit = True
cur = con.cursor()
cur.execute("begin")
cur.execute(f'lock table "{sys.argv[2]}".t')
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_client_killed_mid_transaction_releases_its_locks(redshift_standin, rs, pg_schema):
    run(rs, "create table t (a integer)")
    proc = subprocess.run([sys.executable, "-c", KILLED_CLIENT, str(redshift_standin.port), pg_schema])
    assert proc.returncode == -9
    run(rs, "set statement_timeout to 10000")  # a lock still held fails this test in 10 s, not never
    run(rs, "begin")
    run(rs, "lock table t")
    run(rs, "rollback")


# -- Redshift's functions the analytics queries use -----------------------------------------------


def test_redshift_date_and_text_functions(rs):
    # values worked out from the AWS documentation's definitions, by hand
    run(rs, "create table t (ts timestamp, name varchar(20), level varchar(10))")
    run(
        rs, "insert into t values ('2018-11-30 23:59:30', 'abc ', null), ('2018-12-01 00:00:10', 'é', 'paid')"
    )
    assert rows(rs, "select trunc(ts) from t order by ts") == [
        (__import__("datetime").date(2018, 11, 30),),
        (__import__("datetime").date(2018, 12, 1),),
    ]
    assert rows(rs, "select trunc(2.7::numeric), trunc(-2.7::float8)") == [(2, -2.0)]
    # DATEDIFF counts boundaries crossed: 40 s apart across a minute, an hour, a day, a month, a year
    assert rows(
        rs,
        "select datediff(minute, min(ts), max(ts)), datediff(hour, min(ts), max(ts)), datediff(day, min(ts), max(ts)), "
        "datediff(month, min(ts), max(ts)), datediff(year, min(ts), max(ts)) from t",
    ) == [(1, 1, 1, 1, 0)]
    assert rows(rs, "select dateadd(day, -7, max(ts)) from t") == [
        (__import__("datetime").datetime(2018, 11, 24, 0, 0, 10),)
    ]
    # CONVERT_TIMEZONE(target, ts) reads ts as UTC: Los Angeles is UTC-8 in November
    assert rows(rs, "select convert_timezone('America/Los_Angeles', min(ts)) from t") == [
        (__import__("datetime").datetime(2018, 11, 30, 15, 59, 30),)
    ]
    assert rows(
        rs, "select len(name), nvl(level, 'unknown'), decode(level, null, 1, 0) from t order by ts"
    ) == [
        (4, "unknown", 1),
        (1, "paid", 0),
    ]


def test_serverless_views_count_each_file_and_each_copy(rs, s3, prefix):
    # Serverless keeps no STL views: SYS_LOAD_DETAIL has a row per file (lines_scanned), and
    # SYS_LOAD_HISTORY a row per COPY (loaded_rows, file_count); the stand-in serves both.
    run(rs, SONGS)
    put(s3, f"{prefix}/a.json", [{"song_id": "A"}, {"song_id": "B"}])
    put(s3, f"{prefix}/b.json", [{"song_id": "C"}])
    copy(rs, "s", f"s3://{BUCKET}/{prefix}/")
    assert rows(
        rs,
        "select trim(file_name), lines_scanned from sys_load_detail where query_id = pg_last_copy_id() order by 1",
    ) == [(f"s3://{BUCKET}/{prefix}/a.json", 2), (f"s3://{BUCKET}/{prefix}/b.json", 1)]
    assert rows(
        rs,
        "select trim(status), loaded_rows, file_count from sys_load_history where query_id = pg_last_copy_id()",
    ) == [("completed", 3, 2)]
