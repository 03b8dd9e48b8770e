"""Tester findings (eighth session): records at the limits of what a JSON reader holds must have
one fate whatever path reads them -- alone in a small file, beside a broken line, in a file of
1 MB or more read in place, gzipped -- and on every engine.

* an integer of more than 4,300 digits (Python's conversion limit) crashed the run on the precise
  path and was staged on the fast path: now rejected wherever it is ("a number of N digits");
* values nested deeper than Python's recursion limit were staged by DuckDB and rejected by Python
  (at a depth that moved with the call stack): now rejected beyond 500 levels on every path;
* ``"userId": -0`` was staged as user '0' by DuckDB (which renders -0 as 0) and rejected by the rules;
* a second byte order mark was dropped on the path for small files (one mark stripped there, one
  more by the rules) and rejected in a large file: now rejected on every path, naming the mark;
* an unpaired surrogate escape in a key no column takes (or in a key's name) was staged, against
  CONTRACT.md's strict-JSON rule; a NaN there was already rejected.

Expected fates are written by hand from CONTRACT.md, not computed by the code under test.
"""

from __future__ import annotations

import gzip
import json

import duckdb
import pytest

from sparkify import pipeline
from sparkify.sources.local import LocalSource
from sparkify.staging.framing import frame
from sparkify.staging.reader import JsonReader
from sparkify.staging.rules import type_record
from sparkify.staging.spool import SMALL_FILE
from tests.conftest import source_for

T = 1541105830796
BASE = {"page": "NextSong", "ts": T, "sessionId": 1, "userId": "5", "level": "free", "artist": "A"}


def line(item: int, extra: str = "") -> str:
    """One event (item ``item``) as one JSON line; ``extra`` is raw JSON text put before its last key."""
    record = {**BASE, "itemInSession": item}
    if extra.startswith('"userId"'):  # the extra text gives the user
        del record["userId"]
    body = json.dumps(record)
    return body[:-1] + (", " + extra if extra else "") + "}"


# (raw JSON for one field, the field a reject names, the start of its reason); None: staged
HOSTILE = {
    "long_int_unknown": ('"x": ' + "9" * 5000, "x", "a number of 5000 digits: at most 4300 are read"),
    "long_int_text": ('"song": ' + "9" * 4301, "song", "a number of 4301 digits"),
    "long_negative_int": ('"status": -' + "1" * 4400, "status", "a number of 4400 digits"),
    "long_int_nested": ('"song": [' + "7" * 4500 + "]", "song", "a number of 4500 digits"),
    "int_at_the_limit_in_text": ('"song": ' + "9" * 4300, None, None),
    "deep_unknown": ('"x": ' + "[" * 3000 + "]" * 3000, None, "values nested more than 500 levels deep"),
    "deep_text": ('"song": ' + "[" * 600 + "]" * 600, None, "values nested more than 500 levels deep"),
    "deep_at_the_limit": ('"x": ' + "[" * 499 + "]" * 499, None, None),  # the record's object is level 1
    "deep_just_over": ('"x": [' + "{}, " * 600 + "[" * 499 + "]" * 500, None, "values nested more than 500"),
    "user_id_minus_zero": ('"userId": -0', "userId", 'expected a string of at most 9 digits or "", got -0'),
    "user_id_zero_number": ('"userId": 0', None, None),
    "surrogate_unknown": ('"x": "\\ud800"', "x", "text holds an unpaired surrogate \\ud800"),
    "surrogate_nested_unknown": ('"x": {"a": ["\\udc01"]}', "x", "text holds an unpaired surrogate \\udc01"),
    "surrogate_key": ('"\\udc00y": 1', "\\udc00y", "text holds an unpaired surrogate \\udc00"),
    "paired_surrogates_unknown": ('"x": "\\ud83d\\ude00"', None, None),
    # a number beyond DOUBLE in an array a text column takes would be written Infinity: not JSON
    "huge_in_text_array": (
        '"song": [1e400]',
        "song",
        "number out of range for DOUBLE inside the array: 1e400",
    ),
    "huge_in_text_object": (
        '"song": {"a": -1e999}',
        "song",
        "number out of range for DOUBLE inside the object",
    ),
}
"""Each a field that splits JSON readers, written into event item 1."""

EXPECTED_USER = {"user_id_zero_number": "0"}


def fate(name: str) -> tuple[str | None, str | None] | None:
    """The reject (field, reason start) HOSTILE says, or None when the record is staged."""
    _, field, reason = HOSTILE[name]
    return None if reason is None else (field, reason)


# -- the rules themselves -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_rules_name_the_field_and_the_reason(name):
    (raw,) = list(frame(line(1, HOSTILE[name][0]).encode()))
    problem = raw.problem or type_record("events", raw.record)[1]
    expected = fate(name)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem[0] == expected[0] and problem[1].startswith(expected[1])


def test_a_second_byte_order_mark_is_named_on_its_line():
    bom = b"\xef\xbb\xbf"
    records = list(frame(bom + line(1).encode() + b"\n" + bom + line(2).encode() + b"\n"))
    assert [r.problem for r in records] == [
        None,
        (
            None,
            "a byte order mark (U+FEFF) where a record starts: only one, at the very start of a file, is ignored",
        ),
    ]


# -- every path of the reader ---------------------------------------------------------------------


def layouts(record: str) -> dict[str, bytes]:
    """``record`` (item 1) in files that send it down each path, each file with a clean event 0."""
    clean = line(0) + "\n"
    filler = "".join(line(i) + "\n" for i in range(10, 10 + SMALL_FILE // 100))  # >= 1 MB: read in place
    return {
        "alone.json": (clean + record + "\n").encode(),
        "beside-a-broken-line.json": (clean + record + "\n{broken\n").encode(),
        "pretty.json": (json.dumps({**BASE, "itemInSession": 0}, indent=2) + "\n" + record + "\n").encode(),
        "large.json": (clean + record + "\n" + filler).encode(),
        "zipped.json.gz": gzip.compress((clean + record + "\n").encode(), mtime=0),
        "no-suffix": (clean + record + "\n").encode(),
    }


def read_all(tmp_path, files: dict[str, bytes]):
    (tmp_path / "song_data").mkdir(parents=True)
    (tmp_path / "song_data" / "s.json").write_text('{"song_id": "SO1"}')
    folder = tmp_path / "log_data"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    source = LocalSource(tmp_path)
    con = duckdb.connect()
    result = JsonReader(con, tmp_path / "spool").read("events", source, source.list("events"), "out")
    rows = con.execute("select source_file, item_in_session, user_id from out").fetchall()
    return result, rows


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_one_fate_on_every_path(tmp_path, name):
    files = layouts(line(1, HOSTILE[name][0]))
    result, rows = read_all(tmp_path, files)
    expected = fate(name)
    for file in files:
        staged = sorted(item for src, item, _ in rows if src.endswith("/" + file) and item < 10)
        mine = [r for r in result.rejects if r.source.endswith("/" + file) and r.raw != "{broken"]
        if expected is None:
            assert staged == [0, 1], file
            assert mine == [], file
        else:
            assert staged == [0], file
            assert [(r.field, r.reason[: len(expected[1])]) for r in mine] == [expected], file
        if file == "large.json":
            assert (
                len([1 for src, item, _ in rows if src.endswith("/large.json") and item >= 10])
                == SMALL_FILE // 100
            )
    if name in EXPECTED_USER:
        assert {u for _, item, u in rows if item == 1} == {EXPECTED_USER[name]}
    assert result.read == result.staged + result.rejected


def test_a_second_mark_has_one_fate_in_small_and_large_files(tmp_path):
    bom = b"\xef\xbb\xbf"
    record = bom + bom + line(1).encode() + b"\n"
    filler = "".join(line(i) + "\n" for i in range(10, 10 + SMALL_FILE // 100)).encode()
    files = {
        "small.json": record,
        "large.json": record + filler,
        # a large file DuckDB cannot read in place (gzip, a name with glob characters) is spooled whole:
        # a tester's finding, the spool dropped one mark and DuckDB the other
        "large.json.gz": gzip.compress(record + filler, mtime=0),
        "g_big[1].json": record + filler,
    }
    result, rows = read_all(tmp_path, files)
    assert sorted(src.rsplit("/", 1)[1] for src, item, _ in rows if item == 1) == []
    assert sorted((r.source.rsplit("/", 1)[1], r.line, r.reason[:20]) for r in result.rejects) == [
        ("g_big[1].json", 1, "a byte order mark (U"),
        ("large.json", 1, "a byte order mark (U"),
        ("large.json.gz", 1, "a byte order mark (U"),
        ("small.json", 1, "a byte order mark (U"),
    ]


def test_unknown_fields_count_only_staged_records(tmp_path):
    files = {
        "a.json": "\n".join(
            [line(0, '"extra": 1'), line(1, '"extra": NaN'), line(2, '"extra": 2, "": 3'), "{broken"]
        ).encode()
        + b"\n",
        "b.json": (line(3, '"extra": 4') + "\n").encode(),  # a clean file: the fast path
    }
    result, _ = read_all(tmp_path, files)
    assert result.unknown_fields == {"extra": 3, "": 1}


# -- every engine ---------------------------------------------------------------------------------


def test_every_engine_stages_and_rejects_the_same(warehouse, tmp_path):
    fields = [HOSTILE[n][0] for n in sorted(HOSTILE)]
    clean = "".join(line(i + 1, f) + "\n" for i, f in enumerate(fields))
    root = tmp_path / "src"
    (root / "song_data").mkdir(parents=True)
    (root / "song_data" / "s.json").write_text(
        json.dumps({"song_id": "SO1", "title": "T", "artist_id": "AR1", "artist_name": "A", "duration": 1.0})
    )
    (root / "log_data").mkdir()
    (root / "log_data" / "clean.json").write_text(line(0) + "\n" + clean)
    (root / "log_data" / "broken.json").write_text(
        clean.replace('"sessionId": 1', '"sessionId": 2') + "{oops\n"
    )
    report = pipeline.run(warehouse, source_for(warehouse, root), max_errors=100)
    rejected = [n for n in sorted(HOSTILE) if fate(n) is not None]
    by_file: dict[str, list] = {}
    for r in report.stage.rejects:
        by_file.setdefault(r.source.rsplit("/", 1)[1], []).append((r.line, r.field))
    expected = [(i + 2, HOSTILE[n][1]) for i, n in enumerate(sorted(HOSTILE)) if n in rejected]
    assert sorted(by_file["clean.json"]) == expected
    assert sorted(by_file["broken.json"]) == [(i - 1, f) for i, f in expected] + [(len(HOSTILE) + 1, None)]
    _, rows = warehouse.query(
        f"select session_id, item_in_session, user_id from {warehouse.qualified('staging_events')} "
        "order by session_id, item_in_session"
    )
    staged = [i + 1 for i, n in enumerate(sorted(HOSTILE)) if n not in rejected]
    assert [(int(s), int(i)) for s, i, _ in rows] == [(1, 0)] + [(1, i) for i in staged] + [
        (2, i) for i in staged
    ]
    zero = sorted(HOSTILE).index("user_id_zero_number") + 1
    assert {u for s, i, u in rows if int(i) == zero} == {"0"}
