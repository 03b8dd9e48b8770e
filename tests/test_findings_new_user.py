"""Smaller findings of a tester new to sparkify: a field renamed by an export gets a hint, schemas of
the server's own are refused before connecting, and a driver message of several lines reads as
sentences."""

from __future__ import annotations

import pytest

from sparkify.errors import ConfigError
from sparkify.warehouse import connect
from sparkify.wording import one_line
from tests.conftest import sparkify
from tests.helpers.records import plain_event, plain_song, write_source


def test_a_field_renamed_by_an_export_gets_a_did_you_mean(tmp_path, capsys):
    """``userID`` for ``userId``: every event staged as logged out, 0 songplays, exit 0 -- the only
    sign was "Unknown fields ignored in events: userID (2)"."""
    events = []
    for i in range(2):
        e = plain_event(itemInSession=i)
        e["userID"] = e.pop("userId")
        events.append(e)
    song = plain_song()
    song["Artist_Name"] = song.pop("artist_name")
    src = write_source(tmp_path / "src", songs=[song], events=events)
    code, out, _ = sparkify(capsys, "run", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb")
    assert "Unknown fields ignored in events: userID (2; did you mean userId?)" in out
    assert "Unknown fields ignored in songs: Artist_Name (1; did you mean artist_name?)" in out
    events = [plain_event(extra=1)]  # a field of its own: no hint
    src = write_source(tmp_path / "src2", songs=[plain_song()], events=events)
    code, out, _ = sparkify(capsys, "run", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w2.duckdb")
    assert code == 0 and "Unknown fields ignored in events: extra (1)\n" in out


@pytest.mark.parametrize("schema", ["information_schema", "pg_catalog", "pg_temp", "pg_toast", "pg_mine"])
@pytest.mark.parametrize("url", ["postgresql://u@127.0.0.1:1/db", "redshift://u@127.0.0.1:1/dev"])
def test_a_schema_of_the_server_is_refused_before_connecting(schema, url):
    """--schema information_schema made 11 tables in the catalog's schema; pg_temp was a raw server
    error (exit 69). Port 1: nothing listens there, so reaching it would be another error."""
    with pytest.raises(
        ConfigError, match=rf"^Schema '{schema}' belongs to the server .* --schema sparkify\.$"
    ):
        connect(url, schema=schema)


def test_a_schema_named_like_one_but_not_reserved_is_not_refused():
    for schema in ("information", "pgdata", "my_pg_schema", "sparkify"):
        with pytest.raises(Exception) as exc:  # refused by the server that is not there, not by the name
            connect("postgresql://u@127.0.0.1:1/db", schema=schema)
        assert not isinstance(exc.value, ConfigError) or "belongs to the server" not in str(exc.value)


def test_a_driver_message_of_several_lines_reads_as_sentences():
    libpq = (
        'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )
    assert one_line(libpq) == (
        'connection to server at "127.0.0.1", port 1 failed: Connection refused. Is the server running on that '
        "host and accepting TCP/IP connections?"
    )
    assert one_line('relation "x" does not exist\nLINE 1: select * from x\n') == (
        'relation "x" does not exist. LINE 1: select * from x'
    )
    assert one_line("a:\n  b") == "a: b" and one_line("  one   line  ") == "one line"


def test_a_failed_run_names_every_reject_in_json_and_the_max_errors_it_needs(tmp_path, capsys):
    """41 bad records: the error showed 10 and "... and 31 more", --json capped them at 10 too, and
    load_errors was rolled back -- the other 31 were nowhere. And "pass --max-errors N" was said to
    a run already given --max-errors 5."""
    import json

    events = [plain_event(itemInSession=i, ts="soon") for i in range(12)] + [plain_event(itemInSession=99)]
    src = write_source(tmp_path / "src", songs=[plain_song()], events=events)
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    code, out, err = sparkify(capsys, "run", "-s", str(src), "-w", wh, "--max-errors", "5")
    assert code == 65  # stdout: the progress lines only
    assert "(at most 5 allowed)" in err and "  ... and 2 more (--json lists every one)\n" in err
    assert err.endswith(
        "Fix the input, or pass --max-errors 12 (or more) to load the rest and record these as rejected.\n"
    )
    code, out, _ = sparkify(capsys, "run", "-s", str(src), "-w", wh, "--max-errors", "5", "--json")
    summary = json.loads(out)
    assert code == 65 and summary["status"] == "failed"
    assert sorted(int(r.split(":")[-3]) for r in summary["rejects"]) == list(
        range(1, 13)
    )  # lines 1-12, each once
    code, out, _ = sparkify(capsys, "run", "-s", str(src), "-w", wh, "--max-errors", "12", "--json")
    summary = json.loads(out)
    assert code == 0 and len(summary["rejects"]) == 10  # loaded: load_errors holds every one


def test_a_reader_that_stops_reading_is_no_disk_error(tmp_path):
    """Tester finding: `sparkify runs --json | head -1` ended with "Error: cannot write a file: Broken
    pipe ... check the disk" (exit 74), and rich's output exited 1 whatever the outcome. Now the rest
    of the output is dropped silently and the command keeps its own exit code: a failed check is
    still 1."""
    import subprocess
    import sys

    import duckdb

    src = write_source(tmp_path / "src", songs=[plain_song()], events=[plain_event()])
    db = tmp_path / "w.duckdb"
    assert (
        subprocess.run(
            [sys.executable, "-m", "sparkify", "run", "-q", "-s", str(src), "-w", str(db)]
        ).returncode
        == 0
    )

    def closed_reader(*args: str) -> tuple[int, str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sparkify", *args, "-w", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        proc.stdout.close()  # the reader is gone before the first byte
        err = proc.stderr.read().decode()
        return proc.wait(timeout=60), err

    for args in (["runs", "--json"], ["runs"], ["query", "select 1"], ["check"], ["check", "--json"]):
        assert closed_reader(*args) == (0, ""), args
    with duckdb.connect(str(db)) as con:
        con.execute("delete from time")  # a songplay now has no time row: a check fails
    code, err = closed_reader("check")
    assert code == 1 and "check failed" in err
    code, err = closed_reader("check", "--json")  # tester finding: a traceback and exit 1 whatever
    assert code == 1 and "Traceback" not in err


def test_many_unknown_fields_are_named_most_frequent_first_and_the_rest_counted(tmp_path, capsys):
    """Tester finding: a record of 3,002 unknown keys made the "Unknown fields ignored" line 38 KB."""
    import json

    many = {f"k{i:02d}": 1 for i in range(30)}
    events = [plain_event(itemInSession=0, **many), plain_event(itemInSession=1, k29=1, k28=1)]
    src = write_source(tmp_path / "src", songs=[plain_song()], events=events)
    code, out, _ = sparkify(capsys, "run", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb")
    named = ", ".join(["k28 (2)", "k29 (2)", *(f"k{i:02d} (1)" for i in range(18))])
    assert code == 0
    assert f"Unknown fields ignored in events: {named} and 10 more (--json lists every one)\n" in out
    code, out, _ = sparkify(
        capsys, "run", "--json", "--full-refresh", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb"
    )
    assert len(json.loads(out)["staged"]["events"]["unknown_fields"]) == 30
