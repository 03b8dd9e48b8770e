"""sparkify's Redshift path end to end on the stand-in. A run reads only the objects new or changed
since the last one, with the record rules of every engine, and COPYs their checked rows through
staged parts and a manifest it then deletes; a changed object replaces its own rows (by lineage);
an object gone from the source keeps its rows unless --prune; the star tables always equal a full
refresh of the same input (computed independently, on DuckDB from the local folder). Per-part
counts are cross-checked with STL_LOAD_COMMITS, or SYS_LOAD_DETAIL on Serverless."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from sparkify import pipeline
from sparkify.errors import WarehouseError
from sparkify.warehouse import connect
from sparkify.warehouse.redshift import RedshiftWarehouse, staged
from tests.conftest import TEST_ENGINES, open_engine, source_for
from tests.helpers.records import event, song, write_source
from tests.helpers.s3 import BUCKET, OTHER_BUCKET, client
from tests.test_incremental import day_events, full_refresh_star, star, write_day

pytestmark = pytest.mark.skipif(
    "redshift" not in TEST_ENGINES, reason="SPARKIFY_TEST_ENGINES leaves out redshift"
)


@pytest.fixture
def rs(request, tmp_path):
    wh = open_engine("redshift", request, tmp_path)
    yield wh
    wh.close()


@pytest.fixture
def local(tmp_path):
    return write_source(
        tmp_path / "src",
        songs=[song(), song(song_id="SO2", artist_id="AR2", title="B")],
        events={
            "2018/11/2018-11-01-events.json": day_events(0),
            "2018/11/2018-11-02-events.json": day_events(1),
        },
    )


def copies(wh) -> list[tuple[str, int]]:
    """(object, lines scanned) of the session's last COPY (STL_LOAD_COMMITS), sorted."""
    _, rows = wh.query(
        "select trim(filename), lines_scanned from stl_load_commits where query = pg_last_copy_id() order by 1"
    )
    return [(r[0], int(r[1])) for r in rows]


def traced(wh) -> list[str]:
    statements: list[str] = []
    wh.tracer = statements.append
    return statements


def copy_statements(statements: list[str]) -> list[str]:
    return [s for s in statements if "\ncopy " in s or s.lstrip().startswith("copy ")]


def keys(bucket: str, prefix: str, s3_server: str) -> list[str]:
    page = client(s3_server).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in page.get("Contents", [])]


def lineage(wh) -> dict[str, int]:
    """Staged event rows per source object (file name only)."""
    _, rows = wh.query(f"select source_file, count(*) from {wh.qualified('staging_events')} group by 1")
    return {r[0].rsplit("/", 1)[1]: int(r[1]) for r in rows}


def test_a_new_day_is_the_only_object_read_and_the_star_equals_a_full_refresh(rs, local, tmp_path, s3_server):
    uri = source_for(rs, local)
    first = pipeline.run(rs, uri)
    assert first.stage.rows == {"staging_events": 10, "staging_songs": 2}

    write_day(local, "2018-11-03-events.json", day_events(2, n=4))
    uri = source_for(rs, local)
    statements = traced(rs)
    second = pipeline.run(rs, uri)

    new_object = f"{uri}/log_data/2018/11/2018-11-03-events.json"
    assert [f.name for f in second.stage.plans["events"].to_read] == [new_object]
    assert second.stage.plans["songs"].to_read == []
    (copy,) = copy_statements(statements)  # events only: no song COPY
    assert copy.splitlines()[1].startswith(f"copy {rs.qualified('staging_events')}")
    # the COPY read one staged part of the new object's 4 checked rows, under the staging prefix
    ((part, lines),) = copies(rs)
    assert part.startswith(f"{uri}/_sparkify/manifests/") and part.endswith(".json.gz") and lines == 4
    assert lineage(rs) == {
        "2018-11-01-events.json": 5,
        "2018-11-02-events.json": 5,
        "2018-11-03-events.json": 4,
    }
    _, ledger = rs.query(
        f"select file, records_read, records_staged, records_rejected, load_id from {rs.qualified('load_files')} "
        "where kind = 'events' order by file"
    )
    assert [(r[0].rsplit("/", 1)[1], r[1], r[2], r[3], r[4] == second.load_id) for r in ledger] == [
        ("2018-11-01-events.json", 5, 5, 0, False),
        ("2018-11-02-events.json", 5, 5, 0, False),
        ("2018-11-03-events.json", 4, 4, 0, True),
    ]
    assert star(rs) == full_refresh_star(tmp_path, local)
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    assert keys(bucket, f"{prefix}/_sparkify/", s3_server) == []  # staged parts and manifests are deleted


def from_line(statement: str) -> str:
    (line,) = [line for line in statement.splitlines() if line.startswith("from 's3://")]
    return line


def test_sparkify_sql_shows_the_manifest_a_run_copies_from(rs, local):
    # the review of `sparkify sql --source URI` names the place a real run then writes its
    # manifests: under the source's staging prefix, each named <random id>-<staging table>
    uri = source_for(rs, local)
    statements = traced(rs)
    pipeline.run(rs, uri)

    def table(line: str) -> str:  # ...<id>-staging_songs.manifest'
        return line.rsplit("-", 1)[1]

    used = sorted((from_line(s) for s in copy_statements(statements)), key=table)
    review = pipeline.statements(RedshiftWarehouse.offline(iam_role="arn:r"), "stage", source=uri)
    shown = sorted((from_line(s) for s in copy_statements(review)), key=table)
    assert len(used) == len(shown) == 2
    for real, review in zip(used, shown, strict=True):
        pattern = re.escape(review).replace(re.escape("<random id>"), "[0-9a-f]{32}")
        assert re.fullmatch(pattern, real), (real, review)
        assert review.startswith(f"from '{uri}/_sparkify/manifests/<random id>-staging_")


def test_a_run_with_nothing_new_copies_nothing(rs, local):
    uri = source_for(rs, local)
    pipeline.run(rs, uri)
    statements = traced(rs)
    report = pipeline.run(rs, uri)
    assert copy_statements(statements) == []
    assert report.stage.plans["events"].to_read == [] and report.stage.plans["songs"].to_read == []


def test_a_changed_object_replaces_its_own_rows_only(rs, local, tmp_path):
    pipeline.run(rs, source_for(rs, local))
    write_day(local, "2018-11-02-events.json", day_events(1, users=("9",), n=3))  # rewritten, fewer rows
    statements = traced(rs)
    report = pipeline.run(rs, source_for(rs, local))
    plan = report.stage.plans["events"]
    assert not plan.full_refresh and [f.name.rsplit("/", 1)[1] for f in plan.to_read] == [
        "2018-11-02-events.json"
    ]
    assert lineage(rs) == {"2018-11-01-events.json": 5, "2018-11-02-events.json": 3}
    assert any('where "source_file" in' in s for s in statements)  # deleted by lineage, not the whole kind
    assert star(rs) == full_refresh_star(tmp_path, local)
    _, users = rs.query(f"select user_id from {rs.qualified('users')} order by 1")
    assert [r[0] for r in users] == [7, 8, 9]


def test_an_object_gone_from_the_source_keeps_its_rows_unless_prune(rs, local):
    uri = source_for(rs, local)
    pipeline.run(rs, uri)
    (local / "log_data" / "2018" / "11" / "2018-11-01-events.json").unlink()
    uri = source_for(rs, local)  # sync deletes the object
    report = pipeline.run(rs, uri)
    assert [a.rsplit("/", 1)[1] for a in report.stage.plans["events"].absent] == ["2018-11-01-events.json"]
    assert lineage(rs) == {"2018-11-01-events.json": 5, "2018-11-02-events.json": 5}  # history kept
    pipeline.run(rs, uri, prune=True)
    assert lineage(rs) == {"2018-11-02-events.json": 5}


def test_the_staged_parts_go_where_manifest_prefix_says_and_are_deleted(request, tmp_path, local, s3_server):
    from sparkify.warehouse import connect
    from tests.conftest import IAM_ROLE

    standin = request.getfixturevalue("redshift_standin")
    request.getfixturevalue("aws_env")
    place = f"s3://{OTHER_BUCKET}/manifests-{tmp_path.name}"
    wh = connect(
        standin.url(), schema=request.getfixturevalue("pg_schema"), iam_role=IAM_ROLE, manifest_prefix=place
    )
    wh.test_s3 = (s3_server, f"s3://{BUCKET}/elsewhere-{tmp_path.name}")
    try:
        statements = traced(wh)
        pipeline.run(wh, source_for(wh, local))
        used = [s for s in copy_statements(statements) if f"from '{place}/" in s]
        assert len(used) == 2 and all(s.rstrip().endswith("compupdate off statupdate off") for s in used)
        assert keys(OTHER_BUCKET, f"manifests-{tmp_path.name}", s3_server) == []
    finally:
        wh.close()


def test_rows_redshift_refuses_fail_the_run_name_the_fault_and_leave_no_staged_object(
    rs, local, s3_server, monkeypatch
):
    # Nothing the rules accepted can be refused by the COPY; should Redshift refuse a row anyway, the
    # run fails whole with Redshift's load errors, and its staged objects are gone.
    uri = source_for(rs, local)
    pipeline.run(rs, uri)
    before = star(rs)
    write_day(local, "2018-11-03-events.json", day_events(2, n=2))
    uri = source_for(rs, local)
    real = staged.write_parts

    def corrupt(reader_con, table, relation, folder):
        parts = real(reader_con, table, relation, folder)
        path, _ = parts[0]
        text = gzip.decompress(path.read_bytes())
        path.write_bytes(
            gzip.compress(text.replace(b'"ts":', b'"ts":"x","was_ts":', 1))
        )  # valid JSON, bad ts
        return parts

    monkeypatch.setattr(staged, "write_parts", corrupt)
    with pytest.raises(WarehouseError) as exc:
        pipeline.run(rs, uri)
    assert "Redshift refused rows of staging_events that sparkify had checked" in str(exc.value)
    assert "column ts" in str(exc.value)
    assert star(rs) == before
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    assert keys(bucket, f"{prefix}/_sparkify/", s3_server) == []


def test_counts_that_disagree_with_the_rows_staged_fail_the_run(rs, local, monkeypatch):
    real = staged.write_parts

    def miscount(reader_con, table, relation, folder):
        return [(path, n + 1) for path, n in real(reader_con, table, relation, folder)]

    monkeypatch.setattr(staged, "write_parts", miscount)
    with pytest.raises(WarehouseError) as exc:
        pipeline.run(rs, source_for(rs, local))
    assert "Redshift loaded 2 rows into staging_songs of the 3 sparkify staged (STL_LOAD_COMMITS: " in str(
        exc.value
    )
    assert not rs.table_exists("songplays") or rs.query("select count(*) from songplays")[1] == [(0,)]


@pytest.mark.parametrize("serverless", [False, True])
def test_per_part_counts_come_from_stl_or_sys_load_detail(rs, local, serverless, monkeypatch):
    rs.serverless = serverless
    asked: list[str] = []
    real = staged.counts_sql
    monkeypatch.setattr(staged, "counts_sql", lambda s: asked.append(real(s)) or real(s))
    report = pipeline.run(rs, source_for(rs, local))
    assert report.stage.rows == {"staging_events": 10, "staging_songs": 2}
    view = "sys_load_detail" if serverless else "stl_load_commits"
    assert len(asked) == 2 and all(f"from {view}" in q for q in asked)


def test_max_errors_lets_bad_records_through_with_the_rules_of_every_engine(rs, local, tmp_path):
    (local / "log_data" / "2018" / "11" / "2018-11-02-events.json").write_text(
        "".join(json.dumps(e) + "\n" for e in day_events(1)[:2])
        + json.dumps({**day_events(1)[2], "sessionId": 1.5})
        + "\n"
    )
    uri = source_for(rs, local)
    bad_object = f"{uri}/log_data/2018/11/2018-11-02-events.json"
    from sparkify.errors import BadInputError

    with pytest.raises(BadInputError) as exc:
        pipeline.run(rs, uri)
    assert f"{bad_object}:3: field 'sessionId'" in str(exc.value)
    report = pipeline.run(rs, uri, max_errors=1)
    assert report.stage.rows["staging_events"] == 7
    _, errors = rs.query(f"select source, line, field, reason from {rs.qualified('load_errors')}")
    # the same reject as DuckDB's, from the local folder
    with connect(str(tmp_path / "ref.duckdb")) as ref:
        pipeline.run(ref, local, max_errors=1)
        _, expected = ref.query("select source, line, field, reason from load_errors")
    assert [(s.rsplit("/", 1)[1], line, f, r) for s, line, f, r in errors] == [
        (s.rsplit("/", 1)[1], line, f, r) for s, line, f, r in expected
    ]
    assert [tuple(e)[:3] for e in errors] == [(bad_object, 3, "sessionId")]
    _, ledger = rs.query(
        f"select records_read, records_staged, records_rejected from {rs.qualified('load_files')} where file = %s",
        [bad_object],
    )
    assert [tuple(r) for r in ledger] == [(3, 2, 1)]


def test_a_statement_may_outlast_the_connect_timeout(rs, monkeypatch):
    # Found by the stand-in: the driver's timeout=30 applied to every statement, so a COPY of the
    # full sample failed after 30 s. The connect timeout must not limit statements.
    from sparkify.warehouse.redshift import RedshiftWarehouse

    monkeypatch.setattr(RedshiftWarehouse, "connect_timeout", 1)
    rs.reconnect()
    _, result = rs.query("select pg_sleep(2), 1")
    assert result[0][1] == 1


def test_gzip_is_recognised_by_content_whatever_the_name(rs, local, tmp_path):
    day = local / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    uri = source_for(rs, local)  # .json files only: the gzipped objects go up by hand
    s3 = client(rs.test_s3[0])
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    packed = gzip.compress(day.read_bytes())
    # one gzipped under a plain name (COPY's GZIP would not know it), one under .gz
    s3.put_object(Bucket=bucket, Key=f"{prefix}/log_data/2018/11/2018-11-02-events.json", Body=packed)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/log_data/2018/11/2018-11-03-events.json.gz", Body=packed)
    report = pipeline.run(rs, uri)
    assert (report.stage.rows["staging_events"], report.stage.rejected) == (15, 0)
    assert lineage(rs) == {
        "2018-11-01-events.json": 5,
        "2018-11-02-events.json": 5,
        "2018-11-03-events.json.gz": 5,
    }


def test_no_secret_is_printed_or_staged(rs, local, capsys, s3_server, monkeypatch):
    """The URL's password and the AWS secret key appear in no output, no error, no staged object."""
    from sparkify.cli import main
    from tests.conftest import IAM_ROLE
    from tests.helpers.s3 import SECRET_KEY

    uri = source_for(rs, local)
    host, port = rs.url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
    url = f"redshift://postgres:Hunter2-secret@{host}:{port}/test?sslmode=disable"
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    seen: list[bytes] = []
    from sparkify.sources import s3 as s3_module

    real_write = s3_module.write_object

    def spy(source, target, body):
        seen.append(body)
        return real_write(source, target, body)

    monkeypatch.setattr(s3_module, "write_object", spy)
    args = ["run", "-s", uri, "-w", url, "--schema", rs.schema, "--iam-role", IAM_ROLE]
    with pytest.raises(SystemExit) as ok:
        main(args)
    monkeypatch.setattr(staged, "check_counts", lambda *a: (_ for _ in ()).throw(WarehouseError("injected")))
    write_day(local, "2018-11-03-events.json", day_events(2, n=2))
    source_for(rs, local)
    with pytest.raises(SystemExit) as failed:
        main(args)
    out, err = capsys.readouterr()
    assert ok.value.code == 0, err
    assert failed.value.code != 0 and "injected" in err
    assert seen and keys(bucket, f"{prefix}/_sparkify/", s3_server) == []
    for text in (out, err, *(gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b for b in seen)):
        text = text if isinstance(text, str) else text.decode()
        assert "Hunter2-secret" not in text and SECRET_KEY not in text


def test_sparkify_compare_and_query_agree_between_duckdb_and_the_standin(rs, tmp_path, capsys):
    """`sparkify compare` finds DuckDB's and Redshift's star tables identical on the tricky source,
    and `sparkify query` (Redshift SQL) answers the same on both."""
    from sparkify.cli import main
    from tests.helpers import tricky

    local = tricky.write(tmp_path / "tricky")
    duck_url = f"duckdb:///{tmp_path / 'tricky.duckdb'}"
    with connect(duck_url) as duck:
        pipeline.run(duck, local)
    pipeline.run(rs, source_for(rs, local))

    def sparkify(*args) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    code, out, err = sparkify("compare", "-w", duck_url, "--against", rs.url, "--against-schema", rs.schema)
    assert (code, err) == (0, ""), out
    assert "DIFFERS" not in out and "songplays: identical (8 rows)" in out  # tricky.py: 8 plays
    sql = "select top 3 user_id, count(*) as plays from songplays group by 1 order by 2 desc, 1"
    answers = [
        sparkify("query", "--dialect", "redshift", sql, "--format", "csv", *where)
        for where in (["-w", duck_url], ["-w", rs.url, "--schema", rs.schema])
    ]
    assert answers[0] == answers[1] and answers[0][0] == 0 and answers[0][1].startswith("user_id,plays\n")


def test_a_long_source_prefix_loads(rs, local):
    """STL_LOAD_COMMITS keeps a file name in CHAR(256). A tester's finding: under a source prefix
    of about 230 characters every staged part's name came back cut, and every load failed with
    'Redshift loaded 5 rows ... of the 5 sparkify staged'."""
    endpoint, uri = rs.test_s3
    rs.test_s3 = (endpoint, uri + "/" + "/".join(f"level{i:02d}" for i in range(28)))
    long_uri = source_for(rs, local)
    assert len(f"{long_uri}/_sparkify/manifests/") > 256 - 60  # the parts' names pass 256 characters
    report = pipeline.run(rs, long_uri)
    assert report.stage.rows == {"staging_events": 10, "staging_songs": 2}
    assert not report.checks_failed


def test_a_staging_prefix_inside_the_source_or_in_no_bucket_is_named(request, tmp_path, local, s3_server):
    """Tester findings: a staging prefix inside log_data/ was taken (a part left behind would be
    read as input), and one in a bucket that does not exist was reported as reading the source."""
    from sparkify.errors import ConfigError, SourceError
    from tests.conftest import IAM_ROLE

    standin = request.getfixturevalue("redshift_standin")
    request.getfixturevalue("aws_env")
    schema = request.getfixturevalue("pg_schema")
    uri = f"s3://{BUCKET}/placed-{tmp_path.name}"
    for place, error, words in (
        (f"{uri}/log_data/staging", ConfigError, "is inside the events the source lists"),
        (
            f"s3://no-such-bucket-{tmp_path.name[-8:].lower()}/staging",
            SourceError,
            "(writing s3://no-such-bucket",
        ),
    ):
        wh = connect(standin.url(), schema=schema, iam_role=IAM_ROLE, manifest_prefix=place)
        wh.test_s3 = (s3_server, uri)
        try:
            with pytest.raises(error) as caught:
                pipeline.run(wh, source_for(wh, local))
            assert words in str(caught.value), str(caught.value)
            if error is SourceError:
                assert "manifest_prefix" in str(caught.value) and "--source" not in str(caught.value)
            _, rows = wh.query(f"select count(*) from {wh.qualified('staging_events')}")
            assert rows == [(0,)]  # nothing was loaded
        finally:
            wh.close()


def test_a_re_run_keeps_every_play_whatever_order_the_identity_gave_their_ids(rs, tmp_path):
    """Redshift hands out IDENTITY values unique but in no set order (the stand-in gives them in
    order). A tester's finding: plays sharing user, session and start time were paired with the
    computed rows by id order, so with ids out of order a re-run deleted and inserted them again.
    Here the ids are scrambled by hand, as Redshift may leave them: a re-run must change nothing."""
    t = 1541105830796
    plays = [  # three plays of one user in one session at one instant, each of another song
        event(ts=t, itemInSession=i, sessionId=5, userId="7", song=title, artist="A", length=1.0)
        for i, title in enumerate(["Zed", "Alpha", "Mid"])
    ] + [event(ts=t + 1000, itemInSession=3, sessionId=5, userId="7")]
    songs = [
        song(song_id=f"SO{i}", title=x, artist_name="A", duration=1.0)
        for i, x in enumerate(["Zed", "Alpha", "Mid"])
    ]
    uri = source_for(rs, write_source(tmp_path / "same", songs=songs, events=plays))
    pipeline.run(rs, uri)
    table = rs.qualified("songplays")
    # the reverse of the query's order (the stand-in's identity is GENERATED ALWAYS: rows go in again)
    rs.execute(f"create temp table scrambled as select * from {table}")
    rs.execute(f"delete from {table}")
    rs.execute(
        f"insert into {table} overriding system value select 100 - songplay_id, start_time, user_id, level, "
        "song_id, artist_id, session_id, location, user_agent from scrambled"
    )
    _, before = rs.query(f"select * from {table} order by songplay_id")
    again = pipeline.run(rs, uri, full_refresh=True)  # every star table merged again from all of staging
    assert not again.checks_failed
    _, after = rs.query(f"select * from {table} order by songplay_id")
    assert after == before


def test_a_local_source_is_a_configuration_error_not_a_crash(rs, local):
    """Tester finding: --source pointing at a local folder crashed with exit 70 ('LocalSource' object
    has no attribute 'bucket'); Redshift's COPY reads S3, and the run says so before making anything."""
    from sparkify.errors import ConfigError
    from sparkify.sources import open_source

    for source in (local, open_source(local)):
        with pytest.raises(ConfigError, match=r"^Redshift loads from S3: pass --source s3://bucket/prefix"):
            pipeline.run(rs, source)
        with pytest.raises(ConfigError, match=r"^Redshift loads from S3"):
            pipeline.stage(rs, source)
    assert not rs.table_exists("load_runs")


def test_song_and_log_prefixes_without_a_source_stage_beside_them(rs, local, s3_server):
    """Tester finding: --song-source and --log-source with no --source put the default staging prefix
    inside the songs (s3://b/p/song_data/_sparkify/manifests) and refused it. Now it is their parent's
    (s3://b/p/_sparkify/manifests)."""
    from sparkify.sources import open_source
    from sparkify.warehouse.redshift.staged import default_root

    uri = source_for(rs, local)
    src = open_source(song_source=f"{uri}/song_data", log_source=f"{uri}/log_data", s3_endpoint=s3_server)
    assert default_root(src.bucket, src.prefix) == f"{uri}/_sparkify/manifests"
    report = pipeline.run(rs, src)
    assert report.stage.rows == {"staging_events": 10, "staging_songs": 2}
    assert not report.checks_failed
