"""Messages say counts as English does (one helper, sparkify.wording), name the kind they are about,
and list each problem once. Expected texts are written by hand."""

from __future__ import annotations

import gzip
import json
import os

from click.testing import CliRunner

from sparkify.cli import cli
from sparkify.wording import agree, plural
from tests.helpers.records import event, song, write_source


def sparkify(*args) -> tuple[int, str, str]:
    """Run ``sparkify ARGS...`` through click's CliRunner: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_plural_agrees_with_the_count_on_the_head_noun():
    assert plural(1, "file") == "1 file"
    assert plural(0, "file") == "0 files"
    assert plural(1_500, "record") == "1,500 records"
    phrase = ("folder reached again", "folders reached again")  # the head noun takes the plural
    assert plural(1, *phrase) == "1 folder reached again"
    assert plural(2, *phrase) == "2 folders reached again"
    assert [agree(n, "it", "them") for n in (1, 2)] == ["it", "them"]


def test_folders_reached_again_through_links_are_counted_in_english(tmp_path):
    src = write_source(tmp_path / "src", events=[event()], songs=[song()])
    days = src / "log_data"
    os.symlink(days / "2018", days / "again-1")
    os.symlink(days / "2018", days / "again-2")
    code, out, err = sparkify("run", "-s", src, "-w", tmp_path / "w.duckdb")
    assert (code, err) == (0, "")
    assert (
        "events: passed over 2 links to a folder or file already read (nothing to read)" in out.splitlines()
    )


def test_one_kept_record_is_it_not_them(tmp_path):
    src = write_source(
        tmp_path / "src",
        events={
            "2018/11/2018-11-01-events.json": [event()],
            "2018/11/2018-11-02-events.json": [event(ts=event()["ts"] + 1000)],
        },
        songs=[song()],
    )
    sparkify("run", "-s", src, "-w", tmp_path / "w.duckdb")
    (src / "log_data" / "2018" / "11" / "2018-11-01-events.json").unlink()
    code, out, _ = sparkify("run", "-s", src, "-w", tmp_path / "w.duckdb")
    assert code == 0
    assert (
        "events: 1 file loaded earlier is no longer in the source: its 1 record is kept (pass --prune to remove it)"
        in out.splitlines()
    )
    assert "events: 1 file: 0 new, 1 already loaded" in out.splitlines()


def test_an_unreadable_gzip_is_listed_once(tmp_path):
    src = write_source(tmp_path / "src", events=[event()], songs=[song()])
    broken = src / "log_data" / "2018" / "11" / "2018-11-02-events.json.gz"
    broken.write_bytes(gzip.compress(json.dumps(event()).encode())[:-12])  # cut short: CRC and size gone
    code, out, _ = sparkify("run", "-s", src, "-w", tmp_path / "w.duckdb", "--max-errors", "1")
    assert code == 0
    assert "Could not read 1 file (whole or in part):" in out
    assert out.count(str(broken)) == 1
    assert "rejected (see the load_errors table)" not in out  # no other reject to list


def test_unknown_fields_are_named_with_their_kind(tmp_path):
    src = write_source(
        tmp_path / "src", events=[{**event(), "extraField": 1}], songs=[{**song(), "songExtra": "x"}]
    )
    code, out, _ = sparkify("run", "-s", src, "-w", tmp_path / "w.duckdb")
    assert code == 0
    lines = out.splitlines()
    assert "Unknown fields ignored in events: extraField (1)" in lines
    assert "Unknown fields ignored in songs: songExtra (1)" in lines


def test_an_empty_or_odd_unknown_key_is_shown_quoted(tmp_path):
    src = write_source(tmp_path / "src", events=[{**event(), "": 1, "a, b": 2, "plain": 3}], songs=[song()])
    code, out, _ = sparkify("run", "-s", src, "-w", tmp_path / "w.duckdb")
    assert code == 0
    assert 'Unknown fields ignored in events: "" (1), "a, b" (1), plain (1)' in out.splitlines()
