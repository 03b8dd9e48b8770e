"""Tester finding F2: a day file overwritten with only whitespace (one newline, blanks, CRLF) is the
same accident as a zero-byte file: the rows it had stay (unless ``--prune``), and the run says the
file "is now empty" -- not "no longer in the source", which a zero-byte file still present is not.

Hand-made fixture: one song, two day files of three plays each (user 7, session 5, items 1-6);
every count below is worked out from it by hand.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from rich.console import Console

from sparkify import pipeline
from sparkify.cli.output import plan_summary, print_stage

LOCAL_ONLY = pytest.mark.engines(
    "duckdb", "postgres", reason="local folders: Redshift loads from S3 (the S3 test below runs on it)"
)

SONG = {
    "song_id": "SO1",
    "title": "T",
    "artist_id": "AR1",
    "artist_name": "X",
    "duration": 100.0,
    "year": 2000,
}
DAY1 = "2018-11-01-events.json"
DAY2 = "2018-11-02-events.json"


def play(item: int) -> dict:
    return {
        "artist": "X",
        "song": "T",
        "length": 100.0,
        "page": "NextSong",
        "userId": "7",
        "firstName": "A",
        "lastName": "L",
        "gender": "F",
        "level": "free",
        "sessionId": 5,
        "itemInSession": item,
        "ts": 1541030400000 + item * 1000,
    }


def write(root: Path) -> Path:
    (root / "song_data").mkdir(parents=True)
    (root / "song_data" / "s.json").write_text(json.dumps(SONG))
    days = root / "log_data"
    days.mkdir()
    (days / DAY1).write_text("".join(json.dumps(play(i)) + "\n" for i in (1, 2, 3)))
    (days / DAY2).write_text("".join(json.dumps(play(i)) + "\n" for i in (4, 5, 6)))
    return root


def count(wh, table: str) -> int:
    return int(wh.query(f"select count(*) from {wh.qualified(table)}")[1][0][0])


@LOCAL_ONLY
@pytest.mark.parametrize(
    "blank",
    [b"\n", b"  \r\n\t\n", b"\xef\xbb\xbf\n", gzip.compress(b"\n", mtime=0)],
    ids=["newline", "blanks-crlf", "bom", "gzip-of-newline"],
)
def test_a_file_overwritten_with_whitespace_keeps_its_rows(warehouse, tmp_path, blank):
    src = write(tmp_path / "src")
    day2 = str(src / "log_data" / DAY2)
    assert pipeline.run(warehouse, src).rows["songplays"] == 6
    (src / "log_data" / DAY2).write_bytes(blank)
    report = pipeline.run(warehouse, src)
    plan = report.stage.plans["events"]
    assert (plan.emptied, plan.emptied_rows, plan.kept, plan.changed) == ([day2], 3, [day2], 0)
    assert plan.history_summary() == (
        "events: 1 file loaded earlier is now empty: its 3 records are kept (pass --prune to remove them)"
    )
    # the listing's parts add up, and the file is told of once (tester finding: "2 files: 0 new, 1
    # already loaded", and "1 file held no records" beside the line above)
    assert plan_summary(plan) == "events: 2 files: 0 new, 1 already loaded, 1 now empty"
    console = Console(record=True, width=200)
    print_stage(console, report.stage)
    assert "held no records" not in console.export_text()
    assert (count(warehouse, "staging_events"), report.rows["songplays"]) == (6, 6)
    assert not report.checks_failed
    # a full refresh keeps them too; only --prune removes them, and says how many
    assert pipeline.run(warehouse, src, full_refresh=True).rows["songplays"] == 6
    assert count(warehouse, "staging_events") == 6
    pruned = pipeline.run(warehouse, src, prune=True)
    assert pruned.stage.plans["events"].history_summary() == (
        "events: --prune removed 1 file now empty, and its 3 records"
    )
    assert (count(warehouse, "staging_events"), pruned.rows["songplays"]) == (3, 3)
    # from then on the blank file is one that holds nothing: no history, no message, not new
    again = pipeline.run(warehouse, src)
    assert again.stage.plans["events"].history_summary() is None and again.rows["songplays"] == 3
    assert plan_summary(again.stage.plans["events"]) == "events: 2 files: 0 new, 2 already loaded"


@LOCAL_ONLY
def test_a_zero_byte_file_still_present_is_now_empty_not_gone(warehouse, tmp_path):
    src = write(tmp_path / "src")
    pipeline.run(warehouse, src)
    (src / "log_data" / DAY1).write_bytes(b"")
    (src / "log_data" / DAY2).write_bytes(b"\n")
    report = pipeline.run(warehouse, src)
    assert report.stage.plans["events"].history_summary() == (
        "events: 2 files loaded earlier are now empty: their 6 records are kept (pass --prune to remove them)"
    )
    assert report.rows["songplays"] == 6
    (src / "log_data" / DAY1).unlink()  # gone now, the other still empty: one line each
    report = pipeline.run(warehouse, src)
    assert report.stage.plans["events"].history_summary() == (
        "events: 1 file loaded earlier is no longer in the source: its 3 records are kept (pass --prune to "
        "remove them)\n"
        "events: 1 file loaded earlier is now empty: its 3 records are kept (pass --prune to remove them)"
    )
    assert report.rows["songplays"] == 6


def test_whitespace_objects_on_s3_keep_their_rows_too(warehouse, tmp_path, aws_env):
    from tests.conftest import S3_BUCKET
    from tests.helpers.s3 import client, sync

    local = write(tmp_path / "src")
    uri = sync(aws_env, local, f"s3://{S3_BUCKET}/f2-{warehouse.name}-{tmp_path.name}")
    assert pipeline.run(warehouse, uri).rows["songplays"] == 6
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    client(aws_env).put_object(Bucket=bucket, Key=f"{prefix}/log_data/{DAY2}", Body=b"\r\n")
    client(aws_env).put_object(Bucket=bucket, Key=f"{prefix}/log_data/{DAY1}", Body=b"")
    report = pipeline.run(warehouse, uri)
    plan = report.stage.plans["events"]
    assert plan.emptied == [f"{uri}/log_data/{DAY1}", f"{uri}/log_data/{DAY2}"]
    assert (count(warehouse, "staging_events"), report.rows["songplays"]) == (6, 6)


@LOCAL_ONLY
def test_a_file_that_staged_no_record_is_not_said_to_keep_zero_records(warehouse, tmp_path):
    """Tester finding: a day whose every record was rejected, emptied later, was "now empty: its 0
    records are kept (pass --prune to remove them)" -- there is nothing to keep or remove, only its
    ledger entry to forget."""
    src = write(tmp_path / "src")
    (src / "log_data" / DAY2).write_text("not json\n{\n")  # two records, both rejected (by hand)
    report = pipeline.run(warehouse, src, max_errors=2)
    assert (report.stage.results["events"].staged, report.stage.results["events"].rejected) == (3, 2)
    (src / "log_data" / DAY2).write_bytes(b"")
    report = pipeline.run(warehouse, src)
    assert report.stage.plans["events"].history_summary() == (
        "events: 1 file loaded earlier is now empty (it had staged no record; pass --prune to forget it)"
    )
    (src / "log_data" / DAY2).unlink()
    report = pipeline.run(warehouse, src, prune=True)
    assert report.stage.plans["events"].history_summary() == (
        "events: --prune removed 1 file no longer in the source (it had staged no record)"
    )
    assert report.rows["songplays"] == 3
    again = pipeline.run(warehouse, src)
    assert again.stage.plans["events"].history_summary() is None


@pytest.mark.parametrize(
    "broken",
    [
        b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>502</body>\n</html>\n",
        gzip.compress(b"".join(json.dumps(play(i)).encode() + b"\n" for i in (4, 5, 6)), mtime=0)[:40],
    ],
    ids=["error-page", "gzip-cut-short"],
)
@LOCAL_ONLY
def test_a_redelivery_whose_every_record_is_rejected_keeps_the_rows_loaded_earlier(
    warehouse, tmp_path, broken
):
    """Tester finding: under --max-errors, a day re-delivered as an error page (or a gzip file cut
    short) was a 'changed' file whose 3 earlier plays were silently replaced by nothing. Like a file
    now empty, it keeps its rows unless --prune, and the run says so."""
    src = write(tmp_path / "src")
    assert pipeline.run(warehouse, src).rows["songplays"] == 6
    (src / "log_data" / DAY2).write_bytes(broken)
    report = pipeline.run(warehouse, src, max_errors=10)
    plan = report.stage.plans["events"]
    assert report.stage.results["events"].staged == 0 and report.stage.results["events"].rejected >= 1
    assert plan.history_summary() == (
        "events: 1 file loaded earlier is now rejected whole: its 3 records are kept (pass --prune to remove them)"
    )
    assert plan_summary(plan) == "events: 2 files: 0 new, 1 already loaded, 1 now rejected whole"
    assert (count(warehouse, "staging_events"), report.rows["songplays"]) == (6, 6)
    assert not report.checks_failed
    again = pipeline.run(warehouse, src, max_errors=10)  # still broken: told again, still kept
    assert again.rows["songplays"] == 6 and again.stage.plans["events"].rejected_only
    pruned = pipeline.run(warehouse, src, max_errors=10, prune=True)
    assert pruned.stage.plans["events"].history_summary() == (
        "events: --prune removed 1 file now rejected whole, and its 3 records"
    )
    assert pruned.rows["songplays"] == 3
    # pruned as it is now: the next run finds it loaded, neither new nor its rejects recorded again
    after = pipeline.run(warehouse, src, max_errors=10)
    assert plan_summary(after.stage.plans["events"]) == "events: 2 files: 0 new, 2 already loaded"
    assert after.stage.rejected == 0 and after.rows["songplays"] == 3
    (src / "log_data" / DAY2).write_text(
        "".join(json.dumps(play(i)) + "\n" for i in (4, 5))
    )  # mended: 2 plays
    mended = pipeline.run(warehouse, src)
    assert mended.rows["songplays"] == 5 and mended.stage.plans["events"].history_summary() is None


@LOCAL_ONLY
def test_a_file_whose_records_new_ts_bounds_all_reject_leaves_it_is_not_held(warehouse, tmp_path):
    """Only a re-delivered file is held when every record is rejected: one read again, unchanged,
    because --ts-min moved past all its events is what the user asked to leave -- with or without
    --full-refresh."""
    import datetime as dt

    from sparkify.staging.rules import RecordRules

    src = write(tmp_path / "src")  # both days in November 2018: 6 plays
    assert pipeline.run(warehouse, src).rows["songplays"] == 6
    (src / "log_data" / "2020.json").write_text(  # a third day, in 2020: 2 plays
        "".join(json.dumps({**play(10 + i), "ts": 1577836800000 + i * 1000}) + "\n" for i in range(2))
    )
    rules = RecordRules(ts_min=dt.date(2019, 1, 1))
    for full_refresh in (False, True):
        report = pipeline.run(warehouse, src, max_errors=6, rules=rules, full_refresh=full_refresh)
        assert report.stage.plans["events"].history_summary() is None
        assert (report.rows["songplays"], count(warehouse, "staging_events")) == (2, 2)
