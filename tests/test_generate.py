"""sparkify generate: deterministic, in the real layout and format, every real quirk, exact counts,
and a `sparkify run` on it whose row counts match counts computed here from the raw files.

Every expected value is computed in this file with plain ``json`` from the files on disk (or from
the real sample), never taken from the generator.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sparkify.cli import main
from sparkify.errors import ConfigError
from sparkify.generate import generate, json_text

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sparkify-sample"
REAL_SONG = SAMPLE / "song_data" / "A" / "G" / "G" / "TRAGGGV128F9303219.json"
REAL_LOG = SAMPLE / "log_data" / "2018" / "11" / "2018-11-03-events.json"

SIZE = {"events": 3000, "songs": 300, "users": 40}
"""Small enough to be fast, large enough that a missing quirk is a bug, not bad luck."""


# -- reading the generated files with plain Python ------------------------------------------------


class Raw:
    """Every generated file, read with ``json``: song records, and log lines in file order."""

    def __init__(self, root: Path):
        self.root = root
        self.song_paths = sorted((root / "song_data").rglob("*"))
        self.song_paths = [p for p in self.song_paths if p.is_file()]
        self.log_paths = sorted(p for p in (root / "log_data").rglob("*") if p.is_file())
        self.song_bytes = {p: p.read_bytes() for p in self.song_paths}
        self.songs = [json.loads(b) for b in self.song_bytes.values()]
        self.lines: list[tuple[Path, bytes]] = []
        for p in self.log_paths:
            data = p.read_bytes()
            self.lines.extend((p, line) for line in data.split(b"\n"))
        self.events = [json.loads(line) for _, line in self.lines]

    def unique_events(self) -> list[dict]:
        """Events with second deliveries (identical lines) removed, first occurrence kept."""
        seen, out = set(), []
        for (_, line), e in zip(self.lines, self.events):
            if line not in seen:
                seen.add(line)
                out.append(e)
        return out


def tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def canonical(obj: dict) -> bytes:
    """How the real files serialize a record: compact, ASCII with \\u escapes, slashes escaped."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts / 1000, tz=UTC).date()


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Raw:
    out = tmp_path_factory.mktemp("gen") / "data"
    report = generate(out, seed=7, **SIZE)
    r = Raw(out)
    r.report = report
    return r


@pytest.fixture(scope="module")
def real() -> Raw:
    r = Raw.__new__(Raw)
    r.song_bytes = {REAL_SONG: REAL_SONG.read_bytes()}
    r.songs = [json.loads(REAL_SONG.read_bytes())]
    data = REAL_LOG.read_bytes()
    r.lines = [(REAL_LOG, line) for line in data.split(b"\n")]
    r.events = [json.loads(line) for _, line in r.lines]
    return r


# -- determinism ----------------------------------------------------------------------------------


def test_same_seed_same_bytes_even_in_another_process(tmp_path):
    args = {"events": 1500, "songs": 120, "users": 20, "seed": 3}
    generate(tmp_path / "a", **args)
    generate(tmp_path / "b", **args)
    # another interpreter with another string-hash seed must write the same bytes too
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO / "src")}
    cmd = [
        sys.executable,
        "-m",
        "sparkify",
        "generate",
        "--out",
        str(tmp_path / "c"),
        "--events",
        "1500",
        "--songs",
        "120",
        "--users",
        "20",
        "--seed",
        "3",
        "--quiet",
    ]
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    a = tree(tmp_path / "a")
    assert (
        len(a) == 120 + len(list((tmp_path / "a" / "log_data").rglob("*.json"))) + 1
    )  # + log_json_path.json
    assert a == tree(tmp_path / "b")
    assert a == tree(tmp_path / "c")


def test_song_files_depend_only_on_songs_and_seed(tmp_path):
    generate(tmp_path / "a", events=200, songs=50, users=5, seed=4)
    generate(tmp_path / "b", events=900, songs=50, users=30, seed=4)
    assert tree(tmp_path / "a" / "song_data") == tree(tmp_path / "b" / "song_data")


@given(st.text())
def test_json_text_is_ascii_json_with_escaped_slashes(text):
    encoded = json_text(text)
    assert encoded.isascii() and json.loads(encoded) == text
    assert "/" not in encoded.replace("\\/", "")


def test_different_seed_different_data(tmp_path):
    args = {"events": 1500, "songs": 120, "users": 20}
    generate(tmp_path / "a", seed=1, **args)
    generate(tmp_path / "b", seed=2, **args)
    a, b = Raw(tmp_path / "a"), Raw(tmp_path / "b")
    assert {s["song_id"] for s in a.songs}.isdisjoint({s["song_id"] for s in b.songs})
    assert [line for _, line in a.lines] != [line for _, line in b.lines]
    assert sorted(e["ts"] for e in a.events) != sorted(e["ts"] for e in b.events)


# -- counts ---------------------------------------------------------------------------------------


def test_counts_are_what_was_asked(raw):
    assert len(raw.song_paths) == SIZE["songs"] == raw.report.song_files
    assert len(raw.lines) == SIZE["events"] == raw.report.events
    assert len(raw.log_paths) == raw.report.log_files
    assert len({e["userId"] for e in raw.events if e["userId"] != ""}) == SIZE["users"]
    assert len({s["song_id"] for s in raw.songs}) == SIZE["songs"]


@pytest.mark.parametrize("events,users", [(1, 1), (7, 7), (60, 59), (100, 3)])
def test_tiny_sets_keep_exact_counts(tmp_path, events, users):
    generate(tmp_path / "d", events=events, songs=1, users=users)
    r = Raw(tmp_path / "d")
    assert len(r.lines) == events and len(r.song_paths) == 1
    assert len({e["userId"] for e in r.events if e["userId"]}) == users


def test_refuses_impossible_or_unsafe_requests(tmp_path):
    with pytest.raises(ConfigError, match="--events"):
        generate(tmp_path / "x", events=5, songs=1, users=6)
    generate(tmp_path / "y", events=10, songs=2, users=2)
    with pytest.raises(ConfigError, match="already exists"):
        generate(tmp_path / "y", events=10, songs=2, users=2)
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="is a file"):
        generate(tmp_path / "f", events=10, songs=2, users=2)


class StopAfter:
    """A progress that raises KeyboardInterrupt (as a Ctrl-C would) at the ``n``-th log file."""

    def __init__(self, n: int):
        self.n = n

    def start(self, task, total):
        pass

    def advance(self, task, amount=1, nbytes=0):
        if task == "generate logs":
            self.n -= 1
            if self.n == 0:
                raise KeyboardInterrupt

    def finish(self, task):
        pass


def test_an_interrupted_run_leaves_nothing_behind(tmp_path):
    # a tester's finding: Ctrl-C left 1,117 files that then loaded as if the set were whole
    new = tmp_path / "new"
    with pytest.raises(KeyboardInterrupt):
        generate(new, events=3_000, songs=10, users=5, progress=StopAfter(3))
    assert not new.exists()
    mine = tmp_path / "mine"
    (mine / "song_data").mkdir(parents=True)  # an empty folder is allowed, and stays
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(KeyboardInterrupt):
        generate(mine, events=3_000, songs=10, users=5, progress=StopAfter(3))
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "song_data"]
    assert list((mine / "song_data").iterdir()) == []
    report = generate(mine, events=3_000, songs=10, users=5)  # and it can be run again there
    assert sorted(p.name for p in mine.iterdir()) == [
        "log_data",
        "log_json_path.json",
        "notes.txt",
        "song_data",
    ]
    assert len(list((mine / "log_data").rglob("*.json"))) == report.log_files


def test_cli_generate_says_what_it_wrote_or_what_to_fix(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["generate", "--out", str(tmp_path / "a"), "--events", "500", "--songs", "20", "--users", "9"])
    assert exited.value.code == 0
    assert re.search(
        r"Wrote 20 song files and 7 log files \(500 events\) and log_json_path.json to \S+ in [0-9.]+s",
        capsys.readouterr().out,
    )
    with pytest.raises(SystemExit) as exited:
        main(["generate", "--out", str(tmp_path / "b"), "--events", "5", "--users", "6"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "Error: --events (5) must be at least --users (6): every user has at least one event.\n"
    )


# -- layout and format ----------------------------------------------------------------------------


def test_song_files_have_the_real_layout_and_key_order(raw, real):
    real_keys = list(real.songs[0])
    for path, data in raw.song_bytes.items():
        rel = path.relative_to(raw.root)
        track = path.stem
        assert re.fullmatch(r"TR[A-Z]{5}[0-9A-Z]{11}", track), track
        assert rel.parts == ("song_data", track[2], track[3], track[4], f"{track}.json")
        record = json.loads(data)
        assert list(record) == real_keys
        assert data == canonical(record), f"{rel} is not written like the real files"
        assert re.fullmatch(r"SO[A-Z0-9]{16}", record["song_id"]) and re.fullmatch(
            r"AR[A-Z0-9]{16}", record["artist_id"]
        )
        assert record["num_songs"] == 1 and isinstance(record["duration"], float)
    # the canonical form really is the real files' form
    for data in real.song_bytes.values():
        assert data == canonical(json.loads(data))


def test_log_files_have_the_real_layout_and_key_order(raw, real):
    real_keys = list(real.events[0])
    assert len(real_keys) == 18
    first = date(2018, 11, 1)
    expected_names = [
        Path("log_data") / f"{d:%Y}" / f"{d:%m}" / f"{d:%Y-%m-%d}-events.json"
        for d in (first + timedelta(days=i) for i in range(len(raw.log_paths)))
    ]
    assert [p.relative_to(raw.root) for p in raw.log_paths] == expected_names
    for (_path, line), e in zip(raw.lines, raw.events):
        assert list(e) == real_keys
        assert line == canonical(e)
        assert (
            isinstance(e["ts"], int)
            and isinstance(e["sessionId"], int)
            and isinstance(e["itemInSession"], int)
        )
        assert isinstance(e["userId"], str) and re.fullmatch(r"[0-9]*", e["userId"])
        if e["registration"] is not None:
            assert isinstance(e["registration"], float)
            assert re.search(rb'"registration":[0-9]{13}\.0,', line)
    for _, line in real.lines:
        assert line == canonical(json.loads(line))
    for path in [*raw.log_paths, *raw.song_paths]:
        data = path.read_bytes()
        assert data.isascii() and not data.endswith(b"\n")


def test_log_files_hold_their_day_sorted_by_ts(raw):
    previous: set[bytes] = set()
    for path in raw.log_paths:
        day = date.fromisoformat(path.name[:10])
        lines = path.read_bytes().split(b"\n")
        events = [json.loads(line) for line in lines]
        own = [e["ts"] for e in events if day_of(e["ts"]) == day]
        assert own == sorted(own)
        for line, e in zip(lines, events):
            if day_of(e["ts"]) != day:  # a second delivery of yesterday's line
                assert day_of(e["ts"]) == day - timedelta(days=1) and line in previous
        previous = set(lines)


def test_pages_use_the_real_method_status_and_fields(raw):
    real_pages: dict[str, set] = defaultdict(set)
    for path in (SAMPLE / "log_data").rglob("*.json"):
        for line in path.read_text().splitlines():
            e = json.loads(line)
            real_pages[e["page"]].add((e["method"], e["status"], e["auth"]))
    for e in raw.events:
        assert (e["method"], e["status"], e["auth"]) in real_pages[e["page"]], e
        play = e["page"] == "NextSong"
        assert (e["artist"] is not None) == play and (e["song"] is not None) == play
        assert (e["length"] is not None) == play
        assert e["level"] in ("free", "paid")
    assert {e["page"] for e in raw.events} == set(real_pages)


# -- every quirk of the real data -----------------------------------------------------------------


def test_song_quirks(raw):
    songs = raw.songs
    assert any(isinstance(s["title"], int) for s in songs), "a title written as an integer"
    assert any(isinstance(s["title"], float) for s in songs), "a title written as a float"
    assert any(isinstance(s["artist_name"], int) for s in songs), "a numeric artist_name"
    assert any(isinstance(s["artist_location"], int) for s in songs), "a numeric artist_location"
    assert any(s["year"] == 0 for s in songs) and any(s["year"] > 1900 for s in songs)
    assert any(s["artist_location"] == "" for s in songs)
    assert any(s["artist_location"] is None for s in songs)
    assert any(s["artist_latitude"] is None and s["artist_longitude"] is None for s in songs)
    assert any(s["artist_latitude"] is not None for s in songs)
    assert any(isinstance(s["title"], str) and not s["title"].isascii() for s in songs)
    assert any(isinstance(s["artist_name"], str) and not s["artist_name"].isascii() for s in songs)
    assert any(b"\\u" in data for data in raw.song_bytes.values())
    assert any(b"\\/" in data for data in raw.song_bytes.values())
    details = defaultdict(set)
    for s in songs:
        details[s["artist_id"]].add(
            (s["artist_name"], s["artist_location"], s["artist_latitude"], s["artist_longitude"])
        )
    assert any(len(d) > 1 for d in details.values()), "an artist_id with conflicting details"
    assert len(details) < len(songs), "artists with several songs"
    same = Counter((str(s["title"]), str(s["artist_name"]), s["duration"]) for s in songs)
    assert any(n > 1 for n in same.values()), "one song under two song_ids"


def test_event_quirks(raw):
    events = raw.events
    out = [e for e in events if e["userId"] == ""]
    assert out and all(e["auth"] == "Logged Out" for e in out)
    for e in out:
        assert [
            e[k] for k in ("firstName", "lastName", "gender", "location", "registration", "userAgent")
        ] == [None] * 6
    assert all(e["auth"] == "Logged In" for e in events if e["userId"] != "")
    agents = [e["userAgent"] for e in events if e["userAgent"]]
    assert any(a.startswith('"') and a.endswith('"') for a in agents), "userAgent with literal quotes"
    assert any(not a.startswith('"') for a in agents)
    assert all(b"\\/" in line for (_, line), e in zip(raw.lines, events) if e["userAgent"])
    assert any(not (e["firstName"] or "").isascii() or not (e["song"] or "").isascii() for e in events)
    assert all(e["ts"] > 10**12 for e in events), "epoch milliseconds"
    assert any(e["ts"] % 1000 for e in events), "millisecond precision"
    unique = raw.unique_events()
    assert sum(n - 1 for n in Counter(e["ts"] for e in unique).values()) >= 3, "several events with one ts"


def test_levels_move_both_ways(raw):
    history = defaultdict(list)
    for e in sorted(raw.unique_events(), key=lambda e: (e["ts"], e["sessionId"], e["itemInSession"])):
        if e["userId"] and (not history[e["userId"]] or history[e["userId"]][-1] != e["level"]):
            history[e["userId"]].append(e["level"])
    moves = Counter(pair for h in history.values() for pair in pairwise(h))
    assert moves[("free", "paid")] >= 1 and moves[("paid", "free")] >= 1
    assert any(h == ["free"] for h in history.values()) and any(h == ["paid"] for h in history.values())


def test_sessions_number_items_in_order(raw):
    sessions = defaultdict(list)
    for e in raw.unique_events():
        sessions[e["sessionId"]].append(e)
    assert len(sessions) > 50
    for sid, events in sessions.items():
        events.sort(key=lambda e: e["itemInSession"])
        assert [e["itemInSession"] for e in events] == list(range(len(events))), sid
        assert [e["ts"] for e in events] == sorted(e["ts"] for e in events), sid
        assert len({e["userId"] for e in events} - {""}) <= 1, "one user per session"
    assert any(len({e["userId"] for e in ev}) == 2 for ev in sessions.values()), "logs out and in again"
    assert any({e["userId"] for e in ev} == {""} for ev in sessions.values()), "a session never logged in"


def test_plays_match_songs_for_a_realistic_share(raw):
    exact = {(str(s["title"]), str(s["artist_name"]), s["duration"]) for s in raw.songs}
    loose = {(str(s["title"]), str(s["artist_name"])) for s in raw.songs}
    plays = [e for e in raw.unique_events() if e["page"] == "NextSong"]
    matched = [e for e in plays if (e["song"], e["artist"], e["length"]) in exact]
    near = [
        e
        for e in plays
        if (e["song"], e["artist"]) in loose and (e["song"], e["artist"], e["length"]) not in exact
    ]
    assert 0.2 < len(matched) / len(plays) < 0.45
    assert len(plays) - len(matched) - len(near) > len(plays) / 2, "most plays are of songs outside the files"
    assert near, "same title and artist, another length"
    numeric = {str(s["title"]) for s in raw.songs if not isinstance(s["title"], str)}
    assert any(e["song"] in numeric for e in matched), "a play of a song whose title is a number"


def test_some_events_are_delivered_twice(raw):
    copies = Counter(line for _, line in raw.lines)
    twice = [line for line, n in copies.items() if n > 1]
    assert 1 <= len(twice) <= len(raw.lines) * 0.005
    assert all(copies[line] == 2 for line in twice)
    assert any(b'"page":"NextSong"' in line and b'"userId":""' not in line for line in twice)
    files = defaultdict(set)
    for path, line in raw.lines:
        if line in twice:
            files[line].add(path)
    assert any(len(f) == 2 for f in files.values()), "a copy in the next day's file"


def test_many_events_cross_iso_weeks_and_a_year_end(tmp_path):
    report = generate(tmp_path / "big", events=40_000, songs=50, users=50)
    names = sorted(p.name for p in (tmp_path / "big" / "log_data").rglob("*.json"))
    assert report.log_files == len(names) > 60
    assert names[0] == "2018-11-01-events.json"
    assert "2018-12-31-events.json" in names and "2019-01-01-events.json" in names


# -- end to end: sparkify run on generated data -----------------------------------------------------


def expected_tables(raw: Raw) -> dict:
    """The star tables' contents as CONTRACT.md defines them, from the raw files."""
    events = raw.unique_events()  # a second delivery is the identical line: same natural key
    plays: dict[tuple, dict] = {}
    for e in events:
        if e["page"] == "NextSong" and e["userId"] != "":
            plays.setdefault((e["userId"], e["sessionId"], e["itemInSession"]), e)
    by_match = defaultdict(list)
    for s in raw.songs:
        by_match[(str(s["title"]), str(s["artist_name"]), s["duration"])].append(s["song_id"])
    songplays = Counter()
    for (uid, sid, _), e in plays.items():
        ids = by_match.get((e["song"], e["artist"], e["length"]))
        songplays[(int(uid), sid, e["ts"], min(ids) if ids else None)] += 1
    latest = {}
    for e in events:
        if e["userId"] != "":
            key = (e["ts"], e["sessionId"], e["itemInSession"])
            if e["userId"] not in latest or key > latest[e["userId"]][0]:
                latest[e["userId"]] = (key, e)
    users = sorted(
        (int(u), e["firstName"], e["lastName"], e["gender"], e["level"]) for u, (_, e) in latest.items()
    )
    return {
        "staging_events": len(raw.lines),
        "staging_songs": len(raw.songs),
        "users": users,
        "songs": len({s["song_id"] for s in raw.songs}),
        "artists": len({s["artist_id"] for s in raw.songs}),
        "songplays": songplays,
        "time": len({e["ts"] for e in plays.values()}),
    }


def test_sparkify_run_on_generated_data(raw, tmp_path):
    from sparkify.cli import cli
    from sparkify.warehouse import connect

    db = tmp_path / "gen.duckdb"
    result = CliRunner().invoke(cli, ["run", "--source", str(raw.root), "--warehouse", f"duckdb:///{db}"])
    assert result.exit_code == 0, result.output
    passed = re.search(r"Checks: (\d+) of (\d+) passed", result.output)
    assert passed and passed.group(1) == passed.group(2), result.output

    expected = expected_tables(raw)
    assert expected["users"] and len(expected["users"]) == SIZE["users"]
    assert sum(expected["songplays"].values()) < sum(1 for e in raw.events if e["page"] == "NextSong")
    with connect(f"duckdb:///{db}") as wh:

        def count(table: str) -> int:
            return wh.query(f'select count(*) from "{table}"')[1][0][0]

        for table in ("staging_events", "staging_songs", "songs", "artists", "time"):
            assert count(table) == expected[table], table
        _, users = wh.query(
            "select user_id, first_name, last_name, gender, level from users order by user_id"
        )
        assert users == expected["users"]
        _, plays = wh.query("select user_id, session_id, epoch_ms(start_time), song_id from songplays")
        assert Counter(plays) == expected["songplays"]
        assert count("songplays") == sum(expected["songplays"].values())
