"""A daily run whose change reaches far back (an old day re-delivered, a late event) rebuilds the star
tables in full when that costs less than the increment (``REBUILD_FRACTION`` of the staged events from
the earliest change on); a new latest day stays incremental. Either way the tables equal the
plain-Python reference's."""

from __future__ import annotations

import json
import shutil

import pytest

from sparkify import pipeline
from sparkify.generate import generate
from tests.test_incremental_star import assert_equals_reference, touch

ENGINES = pytest.mark.engines(
    "duckdb", "postgres", reason="Redshift merges each star table whole (no incremental transform)"
)


@pytest.fixture
def fraction(monkeypatch):
    monkeypatch.setattr("sparkify.pipeline.incremental.REBUILD_FRACTION", 0.5)  # the shipped value


@ENGINES
@pytest.mark.usefixtures("fraction")
def test_a_change_reaching_most_of_the_history_rebuilds_and_a_new_day_does_not(warehouse, tmp_path):
    everything = tmp_path / "all"
    generate(everything, events=3_000, songs=40, users=20, seed=11)
    days = sorted((everything / "log_data").rglob("*.json"))
    src = tmp_path / "src"
    shutil.copytree(everything / "song_data", src / "song_data")
    for p in days[:-1]:  # all but the newest day
        dest = src / p.relative_to(everything)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest)
    assert not pipeline.run(warehouse, src).stage.incremental  # the first load

    newest = src / days[-1].relative_to(everything)  # a new latest day: a day's work
    shutil.copy(days[-1], newest)
    touch(newest)
    day = pipeline.run(warehouse, src)
    assert day.stage.incremental and all(
        c.check.description.endswith("(rows of this run)") for c in day.checks
    )
    assert_equals_reference(warehouse, src, "a new day")

    # the oldest day re-delivered with one event changed: every later play would be renumbered
    oldest = src / days[0].relative_to(everything)
    lines = oldest.read_text().splitlines()
    first = json.loads(lines[0])
    first["level"] = "paid" if first.get("level") == "free" else "free"
    oldest.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    touch(oldest)
    rebuilt = pipeline.run(warehouse, src)
    assert not rebuilt.stage.incremental  # a full rebuild, and every row checked
    assert rebuilt.checks and not any(
        c.check.description.endswith("(rows of this run)") for c in rebuilt.checks
    )
    assert not rebuilt.checks_failed
    assert_equals_reference(warehouse, src, "re-delivering the oldest day")

    # a late event: a new file whose one play is older than everything loaded
    late = dict(first, ts=first["ts"] - 86_400_000, itemInSession=9_999)
    (src / "log_data" / "late-events.json").write_text(json.dumps(late) + "\n")
    assert not pipeline.run(warehouse, src).stage.incremental
    assert_equals_reference(warehouse, src, "a late event")
