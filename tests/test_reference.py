"""The reference itself is right: it reproduces SOURCE.md's independently computed facts on the sample,
the hand-worked star tables and answers of the tricky fixture, and the committed expected CSVs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sparkify import analytics
from tests.helpers import make_expected, reference, tricky

EXPECTED = Path(__file__).resolve().parent / "expected" / "sample"


@pytest.fixture(scope="module")
def star(sample_dir) -> reference.Star:
    return reference.build_cached(str(sample_dir.resolve()))


@pytest.fixture(scope="module")
def tricky_source(tmp_path_factory) -> Path:
    return tricky.write(tmp_path_factory.mktemp("tricky"))


# -- SOURCE.md's computed facts -----------------------------------------------------------------


def test_sample_record_counts(sample_dir):
    events = list(reference.event_records(sample_dir))
    assert len(list(reference.song_records(sample_dir))) == 14896
    assert len(events) == 8056
    assert sum(1 for e in events if e["page"] == "NextSong") == 6820
    assert len({e["userId"] for e in events if e["userId"] != ""}) == 97
    assert len({e["userId"] for e in events if e["userId"] != "" and e["page"] == "NextSong"}) == 96


def test_sample_star_facts(star):
    assert len(star.songplays) == 6820  # every NextSong event has a userId in the sample
    assert len(star.users) == 97
    assert len(star.songs) == 14896
    assert len(star.artists) == 9553
    assert len(star.time) == 6813  # distinct ts of NextSong events
    assert sum(1 for s in star.songs if s[3] is None) == 4762  # year 0


def test_sample_matches(star):
    matched = [p for p in star.songplays if p[3] is not None]
    assert len(matched) == 319
    assert len({p[3] for p in matched}) == 209
    assert len({p[4] for p in matched}) == 194
    assert all(p[4] is not None for p in matched)


def test_sample_time_range(star):
    assert star.time[0][0] == dt.datetime(2018, 11, 1, 21, 1, 46, 796000)
    assert star.time[-1][0] == dt.datetime(2018, 11, 30, 19, 54, 24, 796000)


def test_numbers_in_text_fields_become_text(star):
    songs = {s[0]: s for s in star.songs}
    titles = [s[1] for s in star.songs]
    assert all(isinstance(t, str) for t in titles)
    assert "66" in titles and "4.6" in titles
    assert all(isinstance(a[1], str) for a in star.artists)
    assert all(a[2] is None or isinstance(a[2], str) for a in star.artists)
    assert len(songs) == 14896


def test_users_take_the_latest_level(star, sample_dir):
    """8 users have both levels in the sample; each user's level is that of their latest event."""
    events = [e for e in reference.event_records(sample_dir) if e["userId"] != ""]
    levels: dict[str, set] = {}
    for e in events:
        levels.setdefault(e["userId"], set()).add(e["level"])
    assert sum(1 for v in levels.values() if len(v) == 2) == 8
    latest = {}
    for e in sorted(events, key=lambda e: (e["ts"], e["sessionId"], e["itemInSession"])):
        latest[int(e["userId"])] = e["level"]
    assert {u[0]: u[4] for u in star.users} == latest


# -- the tricky fixture, worked by hand ---------------------------------------------------------


@pytest.mark.parametrize("table", list(tricky.STAR))
def test_tricky_star_tables(tricky_source, table):
    assert reference.build(tricky_source).table(table) == tricky.STAR[table]


def test_tricky_songplay_ids_follow_time_then_natural_key(tricky_source):
    rows = reference.build(tricky_source).songplays_with_ids()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, tricky.NYE, 10),
        (2, tricky.NY, 10),
        (3, tricky.NY, 11),
        (4, tricky.SUN, 12),  # item 0
        (5, tricky.SUN, 12),  # item 1
        (6, tricky.MON, 9),  # 9 before 10: user_id orders as a number
        (7, tricky.MON, 10),
        (8, tricky.MON, 13),
    ]
    assert rows[3][4] is None and rows[4][4] == "SOJJJ"


def test_tricky_analytics_answers(tricky_source):
    assert make_expected.expected_csvs(tricky_source) == tricky.ANSWERS_CSV


# -- the committed expected results -------------------------------------------------------------


def test_reference_answers_every_catalog_query():
    assert sorted(reference.ANSWERS) == sorted(analytics.catalog()) == make_expected.query_names()


def test_committed_csvs_are_what_the_reference_gives(sample_dir):
    """Regenerate with `python -m tests.helpers.make_expected` after changing the reference."""
    fresh = make_expected.expected_csvs(sample_dir)
    committed = {p.name[:-4]: p.read_text(encoding="utf-8") for p in sorted(EXPECTED.glob("*.csv"))}
    assert sorted(committed) == sorted(fresh), "tests/expected/sample/ must hold one CSV per catalog query"
    for name in fresh:
        assert committed[name] == fresh[name], f"tests/expected/sample/{name}.csv is stale"


def test_reference_refuses_what_the_contract_does_not_decide(tmp_path):
    """Two deliveries of one play with different details: the contract gives no rule, so no guess."""
    first = tricky.event("10", tricky.T_LATE, 1, 0, song="x", artist="y", length=1.0)
    second = dict(first, level="paid")
    tricky._write(tmp_path / "log_data" / "a.json", [first, second], compact=True)
    (tmp_path / "song_data").mkdir()
    with pytest.raises(reference.ReferenceInputError, match="delivered twice"):
        reference.build(tmp_path)
