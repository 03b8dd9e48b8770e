"""The quality checks: the not-null checks of a table run as one scan and count what each check's
own query counts."""

from __future__ import annotations

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
