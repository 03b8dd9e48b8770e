"""The SQL file loader: engine folders over default/, macros, and parts that files include."""

from __future__ import annotations

import pytest

from sparkify import sql as sqlfiles
from sparkify.warehouse import ENGINES, offline

FILES = {
    ("default", "stmt"): "select 1\n@include(_part)\nfrom t\n",
    ("default", "_part"): "-- (part of stmt.sql: its middle)\n\n    , @twice(x) as y\n",
    ("eng", "_part"): "    , 3 as z",  # the engine's own part, no note, no final newline
    ("default", "loop"): "@include(_loop)\n",
    ("default", "_loop"): "@include(_loop2)\n",
    ("default", "_loop2"): "@include(_loop)\n",
    ("default", "lost"): "select\n@include(_missing)\n",
    ("default", "inline"): "select 1 -- not a part: @include(_part) only on a line of its own\n",
}


@pytest.fixture
def files(monkeypatch):
    monkeypatch.setattr(sqlfiles, "_read", lambda folder, name: FILES.get((folder, name)))


def test_a_part_is_included_in_place_without_its_note_and_its_macros_expanded(files):
    assert sqlfiles.load("stmt", ("other",), {"twice": "2 * {0}"}) == "select 1\n    , 2 * x as y\nfrom t\n"


def test_an_engine_folder_part_comes_before_default(files):
    assert sqlfiles.load("stmt", ("eng",), {}) == "select 1\n    , 3 as z\nfrom t\n"


def test_a_missing_part_names_it_and_the_file_including_it(files):
    with pytest.raises(KeyError, match=r"no SQL file named _missing\.sql \(included by lost\.sql\)"):
        sqlfiles.load("lost", (), {})


def test_a_part_that_includes_itself_is_refused(files):
    with pytest.raises(ValueError, match=r"_loop2\.sql includes _loop\.sql, which includes it in turn"):
        sqlfiles.load("loop", (), {})


def test_include_is_a_whole_line_only(files):
    with pytest.raises(KeyError, match="macro @include"):  # inside a line it is an (unknown) macro
        sqlfiles.load("inline", (), {})


def test_parts_are_not_statements_of_their_own():
    names = sqlfiles.names()
    assert "insert_songplays" in names and not [n for n in names if n.startswith("_")]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_matches_plays_to_songs_with_the_same_lines(engine):
    # duckdb/insert_songplays.sql numbers plays its own way; the song match, the columns and the
    # header with the rules are default/'s parts, so a change to the rule reaches every engine
    wh = offline(engine)
    statement = wh.statement("insert_songplays")
    assert "@include" not in statement
    for part in ("_songplays_song_match", "_songplays_select", "_songplays_logged_in"):
        body = sqlfiles._read("default", part).split("\n\n", 1)[1]
        expected = sqlfiles.expand(body, {**sqlfiles.FULL_SCOPE, **wh.macros})
        assert statement.count(expected) == 1, f"{engine}: {part} not included once"
    assert statement.startswith("-- songplays: one row per NextSong event of a logged-in user")
