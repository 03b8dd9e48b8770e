"""Tester finding F9: a broken record that starts mid-line must not swallow the next valid line
because a stray, mismatched bracket "closes" it later (CONTRACT.md, Framing: text starting with
``{`` runs to where its brackets close -- a ``]`` closes no ``{``).

Hand-made file: line 1 = a valid event then `` {"b":``; line 2 = a valid event (item 9); line 3 = ``]``.
By the contract: 4 records -- the two events staged, ``{"b":`` rejected at line 1, ``]`` at line 3.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from sparkify.sources.local import LocalSource
from sparkify.staging.framing import frame
from sparkify.staging.reader import JsonReader

L1 = json.dumps({"ts": 1541200000001, "page": "NextSong", "sessionId": 5, "itemInSession": 1})
G = json.dumps({"ts": 1541200000009, "page": "NextSong", "sessionId": 5, "itemInSession": 9})
DATA = (L1 + ' {"b":\n' + G + "\n]\n").encode()


def test_a_mismatched_bracket_closes_nothing():
    records = list(frame(DATA))
    assert [(r.line, r.record is not None) for r in records] == [(1, True), (1, False), (2, True), (3, False)]
    assert records[2].record["itemInSession"] == 9
    assert records[1].raw == '{"b":'


def test_the_reader_stages_the_line_after_it(tmp_path):
    (tmp_path / "song_data").mkdir()
    (tmp_path / "song_data" / "s.json").write_text('{"song_id": "SO1"}')
    (tmp_path / "log_data").mkdir()
    (tmp_path / "log_data" / "m.json").write_bytes(DATA)
    source = LocalSource(tmp_path)
    con = duckdb.connect()
    result = JsonReader(con, tmp_path / "spool").read("events", source, source.list("events"), "out")
    assert sorted(r[0] for r in con.execute("select item_in_session from out").fetchall()) == [1, 9]
    assert [(r.line, r.field) for r in result.rejects] == [(1, None), (3, None)]


@pytest.mark.parametrize("where", ["middle", "end"])
def test_an_object_cut_off_after_a_key_costs_only_itself_on_every_engine(warehouse, tmp_path, where):
    """Tester findings: a pretty-printed object cut right after ``"song":`` must not swallow the
    object that starts on the next line (the cut one's brackets never close); cut at the end of the
    file, its remaining lines are that one reject, not one each."""
    from sparkify import pipeline
    from tests.conftest import source_for

    def pretty(item: int) -> str:
        return json.dumps(
            {
                "ts": 1541105830796 + item * 1000,
                "page": "NextSong",
                "sessionId": 1,
                "itemInSession": item,
                "userId": "7",
            },
            indent=1,
        )

    cut = '{\n "ts": 1541105831796,\n "song":'
    # cut in the middle of the day (the next object starts on the next line), or at its end
    objects = (
        [pretty(0), cut, pretty(2), pretty(3)]
        if where == "middle"
        else [pretty(0), pretty(2), pretty(3), cut]
    )
    day = "\n".join(objects) + "\n"
    (tmp_path / "song_data").mkdir()
    (tmp_path / "song_data" / "s.json").write_text('{"song_id": "SO1", "title": "T"}')
    (tmp_path / "log_data").mkdir()
    (tmp_path / "log_data" / "d1.json").write_text(day)
    cut_line = 1 + sum(o.count("\n") + 1 for o in objects[: objects.index(cut)])

    report = pipeline.run(warehouse, source_for(warehouse, tmp_path), max_errors=1)
    events = report.stage.results["events"]
    assert (events.read, events.staged, events.rejected) == (4, 3, 1)
    assert [(r.line, r.field) for r in report.stage.rejects] == [(cut_line, None)]
    _, rows = warehouse.query(f"select item_in_session from {warehouse.qualified('staging_events')}")
    assert sorted(r[0] for r in rows) == [0, 2, 3]


# -- tester finding: a comma (or other text) after each record read as if the record were rejected --

COMMA = "malformed JSON: text that is not JSON after the record that ends on this line (','): records are separated by whitespace, not commas"


def test_text_glued_after_a_record_is_named_as_what_it_is():
    ev = json.dumps({"ts": 1, "page": "NextSong"})
    records = list(frame(f"{ev},\n{ev},\n{ev} x\nhello\n".encode()))
    assert [(r.line, r.record is not None, r.problem) for r in records] == [
        (1, True, None),
        (1, False, (None, COMMA)),
        (2, True, None),
        (2, False, (None, COMMA)),
        (3, True, None),
        (
            3,
            False,
            (None, "malformed JSON: text that is not JSON after the record that ends on this line ('x')"),
        ),
        (4, False, (None, "malformed JSON: text that is not JSON ('hello')")),
    ]
    (nbsp,) = [r for r in frame(f"{ev}\u00a0\n".encode()) if r.problem]
    assert nbsp.problem == (
        None,
        "malformed JSON: text that is not JSON after the record that ends on this line ('\\xa0')",
    )


def test_commas_after_records_load_every_record_and_reject_each_comma_on_every_engine(warehouse, tmp_path):
    from sparkify import pipeline
    from tests.conftest import source_for
    from tests.helpers.records import event, song, write_source

    root = write_source(tmp_path / "src", songs=[song()], events=[])
    day = root / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    day.write_text("".join(json.dumps(event(itemInSession=i)) + ",\n" for i in range(3)))
    report = pipeline.run(warehouse, source_for(warehouse, root), max_errors=3)
    events = report.stage.results["events"]
    assert (events.read, events.staged, events.rejected) == (6, 3, 3)
    assert [(r.line, r.field, r.reason) for r in report.stage.rejects] == [
        (i, None, COMMA) for i in (1, 2, 3)
    ]
    assert report.rows["songplays"] == 3
