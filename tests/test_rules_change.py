"""A file's records are staged under the settings of the run that read it (ts_min / ts_max): when a
later run uses other settings, the files loaded under the old ones are read again, so the warehouse
holds what a fresh load with the new settings would hold (tester finding: the ledger saw the file
unchanged, kept its old rows and said "0 rejected")."""

from __future__ import annotations

import datetime as dt

from sparkify import pipeline
from sparkify.staging.rules import RecordRules
from tests.conftest import source_for
from tests.helpers.records import NOW, event, song, write_source

SINCE_1970 = RecordRules(ts_min=dt.date(1970, 1, 1))
SECONDS = NOW // 1000  # the same moment in epoch seconds: 1970-01-18 under ms, outside the default range


def start_times(wh) -> list[dt.datetime]:
    _, rows = wh.query(f"select start_time from {wh.qualified('songplays')}")
    return sorted(r[0].replace(tzinfo=None) if r[0].tzinfo else r[0] for r in rows)


def ms(ts: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ts)


def test_files_loaded_under_other_ts_bounds_are_read_again(warehouse, tmp_path):
    src = source_for(
        warehouse,
        write_source(
            tmp_path / "src",
            songs=[song()],
            events={
                "d1.json": [event(ts=NOW, itemInSession=0), event(ts=SECONDS, itemInSession=1)],
                "d2.json": [event(ts=NOW + 1000, sessionId=11)],
            },
        ),
    )
    # 1. loose bounds: the seconds are taken for milliseconds in January 1970
    first = pipeline.run(warehouse, src, rules=SINCE_1970)
    assert start_times(warehouse) == [ms(SECONDS), ms(NOW), ms(NOW + 1000)]

    # 2. the default bounds: both event files are read again (the song file is not: no bound applies)
    second = pipeline.run(warehouse, src, max_errors=1)
    events = second.stage.plans["events"]
    assert len(events.to_read) == 2 and len(events.rules_changed) == 2 and events.changed == 0
    assert second.stage.plans["songs"].to_read == []
    assert (second.stage.results["events"].staged, second.stage.results["events"].rejected) == (2, 1)
    (reject,) = second.stage.rejects
    assert (reject.line, reject.field) == (2, "ts") and "looks like epoch seconds" in reject.reason
    assert start_times(warehouse) == [ms(NOW), ms(NOW + 1000)]
    _, staged = warehouse.query(f"select count(*) from {warehouse.qualified('staging_events')}")
    assert staged == [(2,)]
    assert not second.checks_failed

    # 3. the same bounds again: nothing to read
    third = pipeline.run(warehouse, src)
    assert third.stage.plans["events"].to_read == [] and start_times(warehouse) == [ms(NOW), ms(NOW + 1000)]

    # 4. loosened again: the rejected record comes back
    fourth = pipeline.run(warehouse, src, rules=SINCE_1970)
    assert len(fourth.stage.plans["events"].rules_changed) == 2
    assert start_times(warehouse) == [ms(SECONDS), ms(NOW), ms(NOW + 1000)]
    assert not fourth.checks_failed and first.stage.staged == 1 + 3


def test_a_ledger_entry_from_before_the_bounds_were_recorded_counts_as_the_defaults(warehouse, tmp_path):
    src = source_for(warehouse, write_source(tmp_path / "src", songs=[song()], events=[event()]))
    pipeline.run(warehouse, src)
    warehouse.execute(f"update {warehouse.qualified('load_files')} set rules = null")  # as layout 4 left it
    assert pipeline.run(warehouse, src).stage.plans["events"].to_read == []
    assert len(pipeline.run(warehouse, src, rules=SINCE_1970).stage.plans["events"].rules_changed) == 1
