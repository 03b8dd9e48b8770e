"""The pipeline: steps and idempotence on every engine; on DuckDB, bad input changes nothing (errors
name the local file and line) and the checks find tables broken by hand."""

from __future__ import annotations

import json

import pytest

from sparkify import pipeline
from sparkify.errors import BadInputError, MissingTableError
from sparkify.schema import META_TABLES, STAGING_TABLES, STAR_TABLES
from tests.conftest import source_for
from tests.helpers.records import event, song, write_source

ALL_TABLES = [t.name for t in (*STAGING_TABLES, *STAR_TABLES)]
CREATED = [t.name for t in (*STAGING_TABLES, *STAR_TABLES, *META_TABLES)]


def snapshot(wh) -> dict[str, list[tuple]]:
    out = {}
    for name in ALL_TABLES:
        _cols, rows = wh.query(f'select * from "{name}"')
        out[name] = sorted(rows, key=repr)
    return out


@pytest.fixture
def small_source(tmp_path):
    return write_source(
        tmp_path / "src",
        songs=[song(), song(song_id="SO2", title="Other", artist_id="AR2", artist_name="Someone")],
        events=[event(ts=1541105830796 + i * 1000, itemInSession=i, userId=str(7 + i % 2)) for i in range(6)]
        + [event(page="Home", userId="", auth="Logged Out", firstName=None, ts=1541105830000)],
    )


def test_run_twice_leaves_every_table_identical(warehouse, small_source):
    first = pipeline.run(warehouse, source_for(warehouse, small_source))
    assert all(c.passed for c in first.checks)
    before = snapshot(warehouse)
    second = pipeline.run(warehouse, source_for(warehouse, small_source))
    assert second.created == [] and first.created == CREATED
    assert snapshot(warehouse) == before
    assert first.rows == {"users": 2, "songs": 2, "artists": 2, "songplays": 6, "time": 6}


def test_steps_need_their_tables(duckdb_wh, small_source):
    with pytest.raises(MissingTableError, match="sparkify create-tables"):
        pipeline.stage(duckdb_wh, small_source)
    with pytest.raises(MissingTableError, match="Run `sparkify run` first"):
        pipeline.transform(duckdb_wh)


def test_bad_input_fails_before_anything_changes(duckdb_wh, small_source, tmp_path):
    pipeline.run(duckdb_wh, small_source)
    before = snapshot(duckdb_wh)
    bad = small_source / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    bad.write_text(__import__("json").dumps(event(ts="soon")) + "\nnot json\n")
    with pytest.raises(BadInputError) as exc:
        pipeline.run(duckdb_wh, small_source)
    msg = str(exc.value)
    assert f"{bad}:1: field 'ts'" in msg and f"{bad}:2: malformed JSON" in msg
    assert "--max-errors" in msg
    assert snapshot(duckdb_wh) == before


def test_max_errors_tolerates_and_reports_rejects(duckdb_wh, small_source):
    bad = small_source / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    bad.write_text(f"not json\n{__import__('json').dumps(event(ts=1541105999000, itemInSession=99))}\n")
    with pytest.raises(BadInputError):
        pipeline.run(duckdb_wh, small_source, max_errors=0)
    report = pipeline.run(duckdb_wh, small_source, max_errors=1)
    assert (report.stage.read, report.stage.staged, report.stage.rejected) == (11, 10, 1)
    assert report.rows["songplays"] == 7
    assert all(c.passed for c in report.checks)


def test_checks_find_broken_tables(duckdb_wh, small_source):
    # DuckDB: PostgreSQL (and the Redshift stand-in on it) refuse the duplicate primary key outright
    pipeline.run(duckdb_wh, small_source)
    duckdb_wh.execute("delete from users where user_id = 7")
    duckdb_wh.execute("delete from artists where artist_id = 'AR2'")
    duckdb_wh.execute("delete from songplays where songplay_id = 1")
    duckdb_wh.execute("insert into songs select * from songs where song_id = 'SO2'")
    failed = {r.check.name: r.failures for r in pipeline.check(duckdb_wh) if not r.passed}
    assert failed == {
        "relationship:songplays.user_id->users.user_id": 2,  # user 7 played 3 times, one play deleted
        "relationship:songs.artist_id->artists.artist_id": 2,  # SO2 twice now
        "unique:songs.song_id": 1,
        "reconciliation:songplays.count": 1,
        "reconciliation:songplays.events": 1,
        "reconciliation:time.start_time": 1,  # the deleted play's instant, no other play at it
        "reconciliation:staging_events.user_id->users": 1,  # user 7 has events: one user left out
        "reconciliation:staging_songs.artist_id->artists": 1,
    }


def test_checks_find_dimension_rows_no_source_gives(duckdb_wh, small_source):
    """A dimension row the staging tables do not give (left behind, or written by hand) fails its
    reconciliation check; so does a time row no play has (a tester's finding: 26 of 26 passed)."""
    pipeline.run(duckdb_wh, small_source)
    duckdb_wh.execute("insert into users values (424242, 'No', 'Body', 'F', 'free')")
    duckdb_wh.execute("insert into songs values ('SOGHOST', 'Ghost', null, null, 1.0)")
    duckdb_wh.execute("insert into artists values ('ARGHOST', 'Nobody', null, null, null)")
    duckdb_wh.execute("insert into time values (timestamp '2030-01-01', 0, 1, 1, 1, 2030, 2)")
    duckdb_wh.execute("insert into time values (timestamp '2030-01-02', 0, 2, 1, 1, 2030, 3)")
    failed = {r.check.name: r.failures for r in pipeline.check(duckdb_wh) if not r.passed}
    assert failed == {
        "reconciliation:users.user_id": 1,
        "reconciliation:songs.song_id": 1,
        "reconciliation:artists.artist_id": 1,
        "reconciliation:time.start_time": 2,
    }


def test_checks_find_dimension_rows_left_out(warehouse, small_source):
    """Every non-empty user, song and artist id staging gives has its dimension row (a tester's
    finding: users without plays and songs nobody played deleted by hand, and 30 of 30 passed)."""
    extra = small_source / "log_data" / "2018" / "11" / "2018-11-03-events.json"
    extra.write_text(json.dumps(event(userId="9", page="Home", ts=1541205830796)) + "\n")
    pipeline.run(warehouse, source_for(warehouse, small_source))
    warehouse.execute(f"delete from {warehouse.qualified('users')} where user_id = 9")  # no plays
    warehouse.execute(f"delete from {warehouse.qualified('songs')} where song_id = 'SO2'")  # never played
    warehouse.execute(f"delete from {warehouse.qualified('artists')} where artist_id = 'AR2'")  # SO2's artist
    failed = {r.check.name: r.failures for r in pipeline.check(warehouse) if not r.passed}
    assert failed == {
        "reconciliation:staging_events.user_id->users": 1,
        "reconciliation:staging_songs.song_id->songs": 1,
        "reconciliation:staging_songs.artist_id->artists": 1,
    }


@pytest.mark.engines("duckdb", "postgres", reason="the scoped checks follow the incremental transform")
def test_the_scoped_checks_find_a_user_of_this_run_left_out(warehouse, small_source, monkeypatch):
    from sparkify import quality

    pipeline.run(warehouse, source_for(warehouse, small_source))
    day = small_source / "log_data" / "2018" / "11" / "2018-11-03-events.json"
    day.write_text(json.dumps(event(userId="99", page="Home", ts=1541205830796)) + "\n")
    checks = quality.run_checks

    def after_a_faulty_transform(wh, *, scoped=False):
        wh.execute(f"delete from {wh.qualified('users')} where user_id in (99, 8)")  # 8: not of this run
        return checks(wh, scoped=scoped)

    monkeypatch.setattr(quality, "run_checks", after_a_faulty_transform)
    report = pipeline.run(warehouse, source_for(warehouse, small_source))
    assert report.stage.incremental
    failed = {c.check.name: c.failures for c in report.checks_failed}
    # user 8 (plays, no change this run) is caught by the plays' relationship only when unscoped
    assert failed == {"reconciliation:staging_events.user_id->users": 1}
    monkeypatch.undo()
    failed = {r.check.name: r.failures for r in pipeline.check(warehouse) if not r.passed}
    assert failed == {
        "reconciliation:staging_events.user_id->users": 2,
        "relationship:songplays.user_id->users.user_id": 3,
    }


def test_user_ids_with_leading_zeros_are_one_user(warehouse, tmp_path):
    src = write_source(
        tmp_path / "z",
        songs=[song()],
        events=[
            event(userId="7", ts=1541105830001, firstName="Old"),
            event(userId="007", ts=1541105830002, firstName="New"),
            event(userId="007", ts=1541105830003, itemInSession=0, firstName="New"),
        ],
    )
    report = pipeline.run(warehouse, source_for(warehouse, src))
    assert warehouse.query("select user_id, first_name from users")[1] == [(7, "New")]
    assert report.rows["songplays"] == 1 and not report.checks_failed
