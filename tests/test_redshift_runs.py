"""sparkify's Redshift path end to end on the stand-in. Incremental COPY: a run COPYs only the
objects new since the last one, through a manifest it then deletes; a changed object replaces its
rows; the star tables always equal a full refresh of the same input (computed independently, on
DuckDB from the local folder). Rejects under --max-errors are read back from the load-error views."""

from __future__ import annotations

import json

import pytest

from sparkify import pipeline
from tests.conftest import TEST_ENGINES, open_engine, source_for
from tests.helpers.records import song, write_source
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


def copies(wh) -> list[str]:
    """The objects the session's last COPY read (STL_LOAD_COMMITS), sorted."""
    _, rows = wh.query(
        "select trim(filename) from stl_load_commits where query = pg_last_copy_id() order by 1"
    )
    return [r[0] for r in rows]


def traced(wh) -> list[str]:
    statements: list[str] = []
    wh.tracer = statements.append
    return statements


def keys(bucket: str, prefix: str, s3_server: str) -> list[str]:
    page = client(s3_server).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in page.get("Contents", [])]


def test_a_new_day_is_the_only_object_copied_and_the_star_equals_a_full_refresh(
    rs, local, tmp_path, s3_server
):
    uri = source_for(rs, local)
    first = pipeline.run(rs, uri)
    assert first.stage.rows == {"staging_events": 10, "staging_songs": 2}

    write_day(local, "2018-11-03-events.json", day_events(2, n=4))
    uri = source_for(rs, local)
    statements = traced(rs)
    second = pipeline.run(rs, uri)

    new_object = f"{uri}/log_data/2018/11/2018-11-03-events.json"
    assert copies(rs) == [new_object]
    assert sum(s.lstrip().startswith("copy") or "\ncopy " in s for s in statements) == 1  # no song COPY
    assert [f.name for f in second.stage.plans["events"].to_read] == [new_object]
    assert second.stage.rows["staging_events"] == 14
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
    assert keys(bucket, f"{prefix}/_sparkify/", s3_server) == []  # the manifests are deleted


def test_a_run_with_nothing_new_copies_nothing(rs, local):
    uri = source_for(rs, local)
    pipeline.run(rs, uri)
    statements = traced(rs)
    report = pipeline.run(rs, uri)
    assert not [s for s in statements if "copy " in s.lower() and "from 's3://" in s.lower()]
    assert report.stage.plans["events"].to_read == [] and report.stage.plans["songs"].to_read == []


def test_a_changed_object_replaces_its_rows(rs, local, tmp_path):
    pipeline.run(rs, source_for(rs, local))
    write_day(local, "2018-11-02-events.json", day_events(1, users=("9",), n=3))  # rewritten, fewer rows
    report = pipeline.run(rs, source_for(rs, local))
    assert report.stage.plans[
        "events"
    ].full_refresh  # the kind is reloaded: COPY cannot replace one object's rows
    _, staged = rs.query(f"select count(*) from {rs.qualified('staging_events')}")
    assert staged == [(8,)]
    assert star(rs) == full_refresh_star(tmp_path, local)
    _, users = rs.query(f"select user_id from {rs.qualified('users')} order by 1")
    assert [r[0] for r in users] == [7, 8, 9]


def test_the_manifest_goes_where_manifest_prefix_says_and_is_deleted(request, tmp_path, local, s3_server):
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
        used = [s for s in statements if f"from '{place}/" in s]
        assert len(used) == 2 and all(s.rstrip().endswith("compupdate off statupdate off") for s in used)
        assert keys(OTHER_BUCKET, f"manifests-{tmp_path.name}", s3_server) == []
    finally:
        wh.close()


def test_a_failed_copy_deletes_its_manifest_and_changes_nothing(rs, local, s3_server):
    uri = source_for(rs, local)
    pipeline.run(rs, uri)
    before = star(rs)
    write_day(local, "2018-11-03-events.json", day_events(2, n=2))
    (local / "log_data" / "2018" / "11" / "2018-11-03-events.json").write_text('{"ts": "not a number"}\n')
    uri = source_for(rs, local)
    from sparkify.errors import BadInputError

    with pytest.raises(BadInputError) as exc:
        pipeline.run(rs, uri)
    assert "2018-11-03-events.json" in str(exc.value)
    assert star(rs) == before
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    assert keys(bucket, f"{prefix}/_sparkify/", s3_server) == []


def test_max_errors_lets_bad_records_through_and_records_them_from_stl_load_errors(rs, local):
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
    message = str(exc.value)
    assert f"{bad_object}" in message and "session_id" in message and "Invalid digit" in message
    report = pipeline.run(rs, uri, max_errors=1)
    assert report.stage.rows["staging_events"] == 7
    _, errors = rs.query(f"select source, line, field, reason from {rs.qualified('load_errors')}")
    assert [tuple(e) for e in errors] == [
        (bad_object, 3, "session_id", "Invalid digit, Value '.', Pos 1, Type: Integer")
    ]
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


def test_gzip_objects_get_a_copy_of_their_own(rs, local, tmp_path):
    import gzip

    day = local / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    packed = day.with_name(day.name + ".gz")
    packed.write_bytes(gzip.compress(day.read_bytes()))
    day.unlink()
    uri = source_for(rs, local)  # .json files only: the .gz goes up by hand
    from tests.helpers.s3 import client

    bucket, _, prefix = uri[len("s3://") :].partition("/")
    client(rs.test_s3[0]).put_object(
        Bucket=bucket, Key=f"{prefix}/log_data/2018/11/{packed.name}", Body=packed.read_bytes()
    )
    statements = traced(rs)
    report = pipeline.run(rs, uri)
    assert report.stage.rows["staging_events"] == 10
    assert (
        sum(s.rstrip().endswith("compupdate off statupdate off") and "\ngzip\n" in s for s in statements) == 1
    )
    day.write_bytes(gzip.decompress(packed.read_bytes()))  # the reference reads the plain file
    packed.unlink()
    assert star(rs) == full_refresh_star(tmp_path, local)
