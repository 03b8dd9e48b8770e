"""The incremental transform equals a full rebuild: after every run of a sequence of incremental
loads, each star table (songplay_id included) equals the plain-Python reference's on the files in
the source (tests/helpers/reference.py), on every engine.

Each run but the first must take the incremental path (``report.stage.incremental``): a test where
it silently rebuilt everything would prove nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkify import pipeline
from sparkify import sql as sqlfiles
from sparkify.generate import generate
from sparkify.warehouse import connect
from tests.helpers import reference

STAR = ("users", "songs", "artists", "songplays", "time")


def star_rows(wh) -> dict[str, list[tuple]]:
    """Each star table in the reference's columns, sorted; songplays with their ids, by id."""
    out = {}
    for name in STAR:
        _, rows = wh.query(f"select {', '.join(reference.COLUMNS[name])} from {name}")
        out[name] = sorted(rows, key=repr)
    _, out["songplay_ids"] = wh.query(
        f"select songplay_id, {', '.join(reference.COLUMNS['songplays'])} from songplays order by songplay_id"
    )
    return out


def reference_rows(src: Path) -> dict[str, list[tuple]]:
    ref = reference.build(src)
    out = {name: sorted(ref.table(name), key=repr) for name in STAR}
    out["songplay_ids"] = ref.songplays_with_ids()
    return out


def assert_equals_reference(wh, src: Path, step: str) -> None:
    got, want = star_rows(wh), reference_rows(src)
    for name in (*STAR, "songplay_ids"):
        g, w = got[name], want[name]
        missing = [r for r in w if r not in set(g)][:3]
        extra = [r for r in g if r not in set(w)][:3]
        assert g == w, (
            f"after {step}: {name} differs from the reference ({len(g)} rows, reference {len(w)}); "
            f"missing {missing}, unexpected {extra}"
        )


_clock = [1_700_000_000]


def touch(path: Path) -> None:
    """Give ``path`` a new mtime (its version), later than any before: a rewrite is always a change."""
    _clock[0] += 10
    os.utime(path, (_clock[0], _clock[0]))


def run_incremental(wh, src: Path, *, prune: bool = False) -> pipeline.RunReport:
    report = pipeline.run(wh, src, prune=prune)
    assert report.stage.incremental, "this run rebuilt the star tables instead of updating them"
    assert not report.checks_failed, [c.check.name for c in report.checks_failed]
    assert report.checks and all(c.check.description.endswith("(rows of this run)") for c in report.checks)
    return report


@pytest.fixture
def generated(tmp_path) -> tuple[Path, Path]:
    """A generated source (about 40 day files, 80 songs) in ``all/``, and an empty ``src/``."""
    everything = tmp_path / "all"
    generate(everything, events=4_000, songs=80, users=30, seed=5)
    return everything, tmp_path / "src"


@pytest.mark.engines(
    "duckdb",
    "postgres",
    reason="Redshift merges each star table whole (no incremental transform); its staging increments "
    "are tested in test_redshift_runs.py",
)
def test_a_sequence_of_increments_equals_the_reference_at_every_step(warehouse, generated):
    everything, src = generated
    days = sorted((everything / "log_data").rglob("*.json"))
    songs = sorted((everything / "song_data").rglob("*.json"))
    assert len(days) >= 6 and len(songs) >= 20

    def add(path: Path) -> Path:
        dest = src / path.relative_to(everything)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
        touch(dest)
        return dest

    # start: the first three days and half of the songs
    for p in days[:3] + songs[: len(songs) // 2]:
        add(p)
    first = pipeline.run(warehouse, src)
    assert not first.stage.incremental
    assert_equals_reference(warehouse, src, "the first run")

    # days added, one at a time
    for p in days[3:5]:
        add(p)
        run_incremental(warehouse, src)
        assert_equals_reference(warehouse, src, f"adding {p.name}")

    # songs added that match plays loaded earlier (the generator's plays name its songs)
    for p in songs[len(songs) // 2 :]:
        add(p)
    run_incremental(warehouse, src)
    assert_equals_reference(warehouse, src, "adding the other half of the songs")

    # an old day re-delivered under another name: each event stays one play
    redelivered = src / days[1].relative_to(everything).with_name("redelivered-" + days[1].name)
    shutil.copy(src / days[1].relative_to(everything), redelivered)
    touch(redelivered)
    run_incremental(warehouse, src)
    assert_equals_reference(warehouse, src, "re-delivering a day")

    # an old day changed: events dropped, levels flipped, one event moved a day earlier
    changed = src / days[2].relative_to(everything)
    events = [json.loads(line) for line in changed.read_text().splitlines() if line.strip()]
    events = events[::2]
    for e in events[:5]:
        e["level"] = "paid" if e.get("level") == "free" else "free"
    events[-1]["ts"] -= 86_400_000
    changed.write_text("".join(json.dumps(e) + "\n" for e in events))
    touch(changed)
    run_incremental(warehouse, src)
    assert_equals_reference(warehouse, src, "changing a day")

    # a song file changed: another duration, so the plays it matched no longer match it
    song_file = src / songs[0].relative_to(everything)
    record = json.loads(song_file.read_text())
    record["duration"] = float(record["duration"] or 0) + 1.25
    song_file.write_text(json.dumps(record))
    touch(song_file)
    run_incremental(warehouse, src)
    assert_equals_reference(warehouse, src, "changing a song")

    # files pruned: the first day and a song file leave the source and take their rows with them
    (src / days[0].relative_to(everything)).unlink()
    (src / songs[1].relative_to(everything)).unlink()
    run_incremental(warehouse, src, prune=True)
    assert_equals_reference(warehouse, src, "pruning a day and a song")

    # the latest day pruned: users whose newest events it held fall back to older ones
    (src / days[4].relative_to(everything)).unlink()
    run_incremental(warehouse, src, prune=True)
    assert_equals_reference(warehouse, src, "pruning the latest day")

    # nothing new: nothing changes
    before = star_rows(warehouse)
    run_incremental(warehouse, src)
    assert star_rows(warehouse) == before


@pytest.mark.engines(
    "duckdb",
    "postgres",
    reason="Redshift merges its star tables whole (no incremental transform): its checks are always full",
)
def test_an_increments_checks_see_its_new_rows_and_sparkify_check_sees_every_row(
    warehouse, generated, monkeypatch
):
    from sparkify import quality

    everything, src = generated
    days = sorted((everything / "log_data").rglob("*.json"))
    for p in [*days[:3], *(everything / "song_data").rglob("*.json")]:
        dest = src / p.relative_to(everything)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest)
    pipeline.run(warehouse, src)
    dest = src / days[3].relative_to(everything)  # a later day: its plays get the highest ids
    shutil.copy(days[3], dest)
    unchecked = quality.run_checks
    orphan = "relationship:songplays.song_id->songs.song_id"

    def corrupt_then_check(wh, *, scoped=False):
        # a bad new play (the newest) and a bad old one (the first), made before the run's checks
        wh.execute(
            "update songplays set song_id = 'NO_SUCH_SONG' where songplay_id = (select max(songplay_id) from songplays)"
        )
        wh.execute("update songplays set song_id = 'NO_SUCH_SONG' where songplay_id = 1")
        return unchecked(wh, scoped=scoped)

    monkeypatch.setattr(quality, "run_checks", corrupt_then_check)
    report = pipeline.run(warehouse, src)
    monkeypatch.setattr(quality, "run_checks", unchecked)
    assert report.stage.incremental
    assert {c.check.name: c.failures for c in report.checks_failed} == {orphan: 1}  # the new row only
    full = pipeline.check(warehouse)  # `sparkify check`: every row
    assert {c.check.name: c.failures for c in full if not c.passed} == {orphan: 2}
    assert [c.check.name for c in full] == [c.check.name for c in report.checks]  # the same checks


@pytest.mark.engines(
    "duckdb", "postgres", reason="Redshift merges its star tables whole: no incremental transform to rebuild"
)
def test_a_stage_alone_makes_the_next_run_rebuild(warehouse, generated):
    """``stage`` changes staging without the star tables: the next run cannot trust them to match."""
    everything, src = generated
    shutil.copytree(everything, src)
    day = sorted((src / "log_data").rglob("*.json"))[-1]
    held_back = day.read_bytes()
    day.unlink()
    pipeline.run(warehouse, src)
    day.write_bytes(held_back)
    pipeline.stage(warehouse, src)
    report = pipeline.run(warehouse, src)
    assert not report.stage.incremental
    assert_equals_reference(warehouse, src, "a run after a stage")


# -- random sequences ---------------------------------------------------------------------------

T0 = 1_541_030_400_000  # 2018-11-01 00:00:00 UTC
TITLES = ("Uprising", "Yellow", "Creep")
ARTISTS = ("Muse", "Coldplay")
LENGTHS = (200.5, 180.0)

events_st = st.builds(
    lambda user, session, item, sec, page, level, title, artist, length, first: {
        "artist": artist,
        "auth": "Logged In" if user else "Logged Out",
        "firstName": first,
        "gender": "F",
        "itemInSession": item,
        "lastName": "Lee",
        "length": length,
        "level": level,
        "location": "Here, CA",
        "method": "PUT",
        "page": page,
        "registration": 1540919166796.0,
        "sessionId": session,
        "song": title,
        "status": 200,
        "ts": T0 + sec * 1000,
        "userAgent": "Mozilla",
        "userId": user,
    },
    user=st.sampled_from(["7", "8", "07", ""]),
    session=st.integers(1, 2),
    item=st.integers(0, 2),
    sec=st.integers(0, 6),
    page=st.sampled_from(["NextSong", "NextSong", "Home"]),
    level=st.sampled_from(["free", "paid"]),
    title=st.sampled_from(TITLES),
    artist=st.sampled_from(ARTISTS),
    length=st.sampled_from(LENGTHS),
    first=st.sampled_from(["Ann", "Bo"]),
)

songs_st = st.builds(
    lambda song_id, artist_id, title, artist, length, located: {
        "artist_id": artist_id,
        "artist_latitude": 1.5 if located else None,
        "artist_location": "Paris" if located else "",
        "artist_longitude": 2.5 if located else None,
        "artist_name": artist,
        "duration": length,
        "num_songs": 1,
        "song_id": song_id,
        "title": title,
        "year": 2009,
    },
    song_id=st.sampled_from(["SO1", "SO2", "SO3"]),
    artist_id=st.sampled_from(["AR1", "AR2"]),
    title=st.sampled_from(TITLES),
    artist=st.sampled_from(ARTISTS),
    length=st.sampled_from(LENGTHS),
    located=st.booleans(),
)

step_st = st.one_of(
    st.tuples(st.just("events"), st.integers(0, 2), st.lists(events_st, min_size=1, max_size=6)),
    st.tuples(st.just("songs"), st.integers(0, 2), st.lists(songs_st, min_size=1, max_size=2)),
    st.tuples(st.sampled_from(["events", "songs"]), st.integers(0, 2), st.none()),  # None: remove, with prune
)


def _path(src: Path, kind: str, i: int) -> Path:
    return src / ("log_data/2018/11" if kind == "events" else "song_data/A/B") / f"{kind}-{i}.json"


def _write(src: Path, kind: str, i: int, records: list[dict]) -> None:
    path = _path(src, kind, i)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    touch(path)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    first_events=st.lists(events_st, min_size=1, max_size=6),
    first_songs=st.lists(songs_st, min_size=1, max_size=2),
    steps=st.lists(step_st, min_size=1, max_size=6),
)
def test_random_increments_equal_one_full_load(first_events, first_songs, steps):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        _write(src, "events", 0, first_events)
        _write(src, "songs", 0, first_songs)
        with connect(f"duckdb:///{tmp}/incremental.duckdb") as wh:
            pipeline.run(wh, src)
            for kind, i, records in steps:
                if records is None:
                    path = _path(src, kind, i)
                    if path.exists() and len(list(path.parent.glob("*.json"))) > 1:  # a kind never empties
                        path.unlink()
                else:
                    _write(src, kind, i, records)
                run_incremental(wh, src, prune=True)
                try:
                    want = reference_rows(src)
                except reference.ReferenceInputError:  # a play re-delivered with other details
                    want = None
                if want is not None:
                    assert star_rows(wh) == want, (
                        f"{kind} file {i} {'removed' if records is None else 'written'}"
                    )
            incremental = star_rows(wh)
        with connect(f"duckdb:///{tmp}/full.duckdb") as wh:
            pipeline.run(wh, src)
            assert star_rows(wh) == incremental


def test_the_incremental_scope_writes_its_bound_as_a_literal():
    # 2018-11-01T00:00:00Z is 1,541,030,400 s after the epoch
    scope = sqlfiles.incremental_scope(datetime(2018, 11, 1, 0, 0, 0, 123000))
    assert scope["since_bound"] == "cast('2018-11-01 00:00:00.123000' as timestamp)"
    assert scope["since_ms"] == str(1_541_030_400_123 - 1)  # a millisecond of slack below
    assert sqlfiles.expand("@since(p.start_time)", scope) == (
        "p.start_time >= cast('2018-11-01 00:00:00.123000' as timestamp)"
    )
    # a driver that returns an aware timestamp: the same instant in UTC
    aware = datetime(2018, 11, 1, 1, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))
    assert sqlfiles.incremental_scope(aware) == scope
    # nothing can change: no row is at or after the bound
    none = sqlfiles.incremental_scope(None)
    assert none["since_bound"] == "cast(null as timestamp)" and none["since_ms"] == "null"
