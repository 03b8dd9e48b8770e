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
