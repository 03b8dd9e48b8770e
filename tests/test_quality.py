"""The quality checks: the not-null checks of a table run as one scan and count what each check's
own query counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sparkify import pipeline, quality


def test_batched_not_null_counts_equal_each_checks_own_query(duckdb_wh, sample_dir):
    pipeline.run(duckdb_wh, sample_dir)
    for col in ("user_id", "session_id", "level"):
        duckdb_wh.execute(f"alter table songplays alter column {col} drop not null")
    duckdb_wh.execute("update songplays set user_id = null where songplay_id in (1, 2)")
    duckdb_wh.execute("update songplays set session_id = null where songplay_id = 3")
    results = {r.check.name: r.failures for r in quality.run_checks(duckdb_wh)}
    assert {n: f for n, f in results.items() if f and n.startswith("not_null")} == {
        "not_null:songplays.user_id": 2,
        "not_null:songplays.session_id": 1,
    }
    for check in quality.checks(duckdb_wh):  # each check's own query agrees
        assert duckdb_wh.query(check.sql)[1][0][0] == results[check.name], check.name


def test_the_time_key_checks_count_what_each_own_query_counts_in_one_pass_or_three(warehouse, tmp_path):
    from tests.conftest import source_for
    from tests.helpers.records import NOW, event, song, write_source

    # plays at three instants, two of them at the second (hand-made: the counts below follow)
    plays = [event(ts=NOW, itemInSession=0), event(ts=NOW + 1000, itemInSession=1)]
    plays.append(event(ts=NOW + 1000, itemInSession=2, sessionId=11))
    plays.append(event(ts=NOW + 2000, itemInSession=3))
    pipeline.run(
        warehouse, source_for(warehouse, write_source(tmp_path / "src", songs=[song()], events=plays))
    )
    t = warehouse.qualified("time")
    instant = [datetime(1970, 1, 1) + timedelta(milliseconds=NOW + k * 1000) for k in (0, 1)]
    first, second = (f"cast('{i.isoformat(sep=' ', timespec='milliseconds')}' as timestamp)" for i in instant)
    assert warehouse.query(f"select count(*) from {t} where start_time in ({first}, {second})")[1] == [(2,)]
    twice = 0 if warehouse.declares_primary_keys else 1  # a declared key refuses the same instant twice
    if twice:
        warehouse.execute(f"insert into {t} select * from {t} where start_time = {first}")  # a key twice
    warehouse.execute(f"delete from {t} where start_time = {second}")  # its two plays lose their row
    warehouse.execute(
        f"insert into {t} (start_time, hour, day, week, month, year, weekday) "
        "values (cast('2001-01-01 00:00:00' as timestamp), 0, 1, 1, 1, 2001, 1)"  # an instant no play has
    )
    shared = [answered for _, answered in quality.queries(quality.checks(warehouse)) if len(answered) == 3]
    one_pass = [list(quality.TIME_KEY_CHECKS)] if warehouse.time_checks_in_one_pass else []
    assert [[c.name for c in a] for a in shared] == one_pass
    results = {r.check.name: r.failures for r in quality.run_checks(warehouse)}
    expected = {
        "unique:time.start_time": twice,
        "relationship:songplays.start_time->time.start_time": 2,
        "reconciliation:time.start_time": 1,
    }
    assert {n: f for n, f in results.items() if f} == {n: f for n, f in expected.items() if f}
    for check in quality.checks(warehouse):  # and each check's own query agrees
        assert int(warehouse.query(check.sql)[1][0][0] or 0) == results[check.name], check.name


def test_null_instants_in_time_count_as_each_own_query_counts_them(duckdb_wh, sample_dir):
    pipeline.run(duckdb_wh, sample_dir)
    (shared_instant,) = duckdb_wh.query(
        "select count(*) from songplays where start_time = (select start_time from songplays where songplay_id = 1)"
    )[1]
    duckdb_wh.execute("alter table time alter column start_time drop not null")
    duckdb_wh.execute("alter table songplays alter column start_time drop not null")
    for _ in range(2):
        duckdb_wh.execute(
            "insert into time (start_time, hour, day, week, month, year, weekday) values (null, 0, 1, 1, 1, 2001, 1)"
        )
    duckdb_wh.execute(
        "update songplays set start_time = null where songplay_id = 1"
    )  # no instant: no time row needed
    results = {r.check.name: r.failures for r in quality.run_checks(duckdb_wh)}
    # the two NULL instants are one key twice and two rows no play has; play 1's old instant has no
    # play left unless another play shares it
    assert results["unique:time.start_time"] == 1
    assert results["relationship:songplays.start_time->time.start_time"] == 0
    assert results["reconciliation:time.start_time"] == 2 + (shared_instant[0] == 1)
    for check in quality.checks(duckdb_wh):
        assert int(duckdb_wh.query(check.sql)[1][0][0] or 0) == results[check.name], check.name
