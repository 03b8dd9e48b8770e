"""Messages that tell the truth: data printed as text, the next step that works, the origin of a bad
value, quiet output, CSV that parses, `sparkify sql` that replays as it runs."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from sparkify.cli import cli
from tests.helpers.records import event, song, write_source

TITLES = [
    "Just the Way You Are [feat. Bruno Mars]",
    "Intro [/Outro]",
    "back\\slash [bold]not bold[/bold]",
    "bell\x07 escape\x1b[31mred tab\tnew\nline",
]


def sparkify(*args: str) -> tuple[int, str, str]:
    """Run ``sparkify ARGS...`` through click's CliRunner: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def tricky_source(tmp_path):
    """Four songs whose titles hold brackets, backslashes and control characters, each played once."""
    songs = [
        song(song_id=f"SO{i}", title=t, artist_id=f"AR{i}", artist_name=f"Band {i}")
        for i, t in enumerate(TITLES)
    ]
    events = [
        event(song=t, artist=f"Band {i}", ts=1541105830796 + i * 1000, itemInSession=i)
        for i, t in enumerate(TITLES)
    ]
    return write_source(tmp_path / "src", songs=songs, events=events)


def test_titles_print_as_text_never_as_markup(tmp_path, tricky_source):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify("run", "-q", "-s", str(tricky_source), "-w", wh)[0] == 0
    code, out, err = sparkify("analytics", "top_songs", "-w", wh)
    assert code == 0, err
    assert "Just the Way You Are [feat. Bruno Mars]" in out
    assert "Intro [/Outro]" in out
    assert "back\\slash [bold]not bold[/bold]" in out
    # control characters are shown escaped, never sent to the terminal
    assert "bell\\x07 escape\\x1b[31mred tab\\tnew\\nline" in out
    assert "\x1b" not in out and "\x07" not in out


def test_printable_escapes_control_characters():
    from sparkify.console import printable

    assert printable("a\x00b\x7fc\x9bd\te\nf\rg") == "a\\x00b\\x7fc\\x9bd\\te\\nf\\rg"
    assert printable("[red]ünïcode[/red] \\") == "[red]ünïcode[/red] \\"
    assert printable(None) == ""


def test_a_source_path_with_brackets_prints_whole(tmp_path, tricky_source):
    src = tricky_source.rename(tmp_path / "[nightly] src")
    code, out, _ = sparkify("run", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb")
    assert code == 0
    assert f"from {src} into" in out


def test_read_only_commands_never_create_a_database(tmp_path):
    missing = tmp_path / "nothing" / "here.duckdb"
    for args in (["check"], ["analytics", "top_songs"], ["report", "-o", str(tmp_path / "r.html")]):
        code, _, err = sparkify(*args, "-w", f"duckdb:///{missing}")
        assert code != 0
        assert (
            err == f"Error: There is no DuckDB database at {missing}. Run `sparkify run` first, or point "
            "--warehouse at an existing one.\n"
        )
    assert not missing.parent.exists()
    assert not (tmp_path / "r.html").exists()


def test_empty_warehouse_says_run_first_not_create_tables(tmp_path):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify("create-tables", "-w", wh)[0] == 0
    (tmp_path / "x.duckdb").touch()
    import duckdb

    duckdb.connect(str(tmp_path / "y.duckdb")).close()  # a database without sparkify's tables
    for args in (["check"], ["analytics", "top_songs"], ["report", "-o", str(tmp_path / "r.html")]):
        code, _, err = sparkify(*args, "-w", f"duckdb:///{tmp_path}/y.duckdb")
        assert code == 2
        assert err.startswith("Error: Tables ") and err.endswith("Run `sparkify run` first.\n"), err
        assert "create-tables" not in err
        code, _, err = sparkify(*args, "-w", wh)  # tables made by create-tables, never loaded
        assert code == 2
        assert (
            err
            == f"Error: The tables in {wh} are empty: nothing was ever loaded into them. Run `sparkify run` first.\n"
        )


def test_tables_in_another_schema_are_pointed_at(tmp_path, pg_database):
    schema, other = "nightly", "sparkify_empty"  # a database of its own: no other test's schemas
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    assert sparkify("run", "-q", "-s", str(src), "-w", pg_database, "--schema", schema)[0] == 0
    for args in (["check"], ["analytics", "top_songs"], ["runs"]):
        code, _, err = sparkify(*args, "-w", pg_database, "--schema", other)
        assert code == 2
        assert f"Found the tables in schema '{schema}': pass --schema {schema}." in err, err


@pytest.mark.parametrize(
    "env,toml,origin",
    [
        ({"SPARKIFY_WAREHOUSE": "mysql://x/y"}, "", "SPARKIFY_WAREHOUSE"),
        ({}, 'warehouse = "mysql://x/y"\n', "sparkify.toml key 'warehouse'"),
        ({"SPARKIFY_SOURCE": "/no/such/folder"}, "", "SPARKIFY_SOURCE"),
        ({}, 'source = "/no/such/folder"\n', "sparkify.toml key 'source'"),
    ],
)
def test_a_bad_value_names_where_it_came_from(tmp_path, monkeypatch, env, toml, origin):
    monkeypatch.chdir(tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if toml:
        (tmp_path / "sparkify.toml").write_text(toml)
    code, _, err = sparkify("run")  # the warehouse, if not the bad value, is ./sparkify.duckdb
    assert code != 0
    assert origin in err, err
    assert "--source" not in err and "--warehouse" not in err, err


def test_a_bad_flag_is_still_blamed_on_the_flag(tmp_path):
    code, _, err = sparkify("run", "-s", "/no/such/folder", "-w", str(tmp_path / "w.duckdb"))
    assert code != 0 and "--source" in err


def test_quiet_check_prints_only_the_final_line(tmp_path, tricky_source):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    code, out, err = sparkify("run", "-q", "-s", str(tricky_source), "-w", wh)
    assert code == 0 and err == ""
    assert out.count("\n") == 1 and out.startswith("Loaded 8 records (0 rejected) from ")
    code, out, err = sparkify("check", "-q", "-w", wh)
    assert (code, err) == (0, "")
    assert out == "Checks: 33 of 33 passed.\n"
    code, out, err = sparkify("check", "-w", wh)
    assert out.count("\n") > 26


def test_several_csv_results_need_a_folder(tmp_path, tricky_source):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    sparkify("run", "-q", "-s", str(tricky_source), "-w", wh)
    code, out, err = sparkify("analytics", "top_songs", "plays_by_hour", "--format", "csv", "-w", wh)
    assert code == 2 and out == "" and "--out DIR" in err
    code, out, err = sparkify(
        "analytics",
        "top_songs",
        "plays_by_hour",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "res"),
        "-w",
        wh,
    )
    assert code == 0, err
    with open(tmp_path / "res" / "top_songs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["title"] for r in rows) == sorted(TITLES)  # the newline inside a title survives CSV
    with open(tmp_path / "res" / "plays_by_hour.csv", newline="") as fh:
        assert list(csv.reader(fh)) == [["hour", "plays"], ["20", "4"]]
    code, out, _ = sparkify("analytics", "plays_by_hour", "--format", "csv", "-w", wh)
    assert code == 0 and list(csv.reader(io.StringIO(out))) == [["hour", "plays"], ["20", "4"]]


def test_sql_sets_the_search_path_so_a_replay_writes_where_a_run_does():
    code, out, _ = sparkify("sql", "--engine", "postgres", "--schema", "music", "transform")
    assert code == 0
    lines = out.splitlines()
    setup = lines.index('set search_path to "music";')
    first_insert = next(i for i, line in enumerate(lines) if line.startswith("insert into"))
    assert setup < first_insert
    code, out, _ = sparkify("sql", "--engine", "postgres", "create-tables")
    assert 'set search_path to "public";' in out


def test_one_record_is_counted_in_the_singular(tmp_path):
    src = write_source(tmp_path / "src", songs=[], events=[event()])
    (src / "song_data" / "s.json").write_text("")  # zero bytes: passed over; the song is the event's only
    (src / "song_data" / "t.json").write_text('{"song_id": "SO1"}\n')
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    code, out, err = sparkify("run", "-q", "-s", str(src), "-w", wh)
    assert (code, err) == (0, "") and out.startswith("Loaded 2 records (0 rejected) from ")
    (src / "log_data" / "2018" / "11" / "2018-11-02-events.json").write_text(
        json.dumps(event(ts=1541190000000, itemInSession=1)) + "\n"
    )
    code, out, err = sparkify("run", "-q", "-s", str(src), "-w", wh)
    assert (code, err) == (0, "") and out.startswith("Loaded 1 record (0 rejected) from ")
    (src / "log_data" / "2018" / "11" / "2018-11-03-events.json").write_text(
        json.dumps(event(ts=1541290000000, itemInSession=2)) + "\n"
    )
    code, out, err = sparkify("stage", "-q", "-s", str(src), "-w", wh)
    assert (code, err) == (0, "") and out.startswith("Staged 1 record (0 rejected) into ")


def test_advice_to_turn_a_switch_on_says_the_value_where_it_was_turned_off(tmp_path):
    """Tester finding: with SPARKIFY_WAIT=false a busy warehouse said "run with SPARKIFY_WAIT to
    queue behind it", not which value."""
    from sparkify.config import load_settings

    advice = "Wait for it to finish, or run with --wait to queue behind it."
    from_env = load_settings({}, env={"SPARKIFY_WAIT": "false"}, config_file=tmp_path / "none.toml")
    assert (
        from_env.blame(advice) == "Wait for it to finish, or run with SPARKIFY_WAIT=true to queue behind it."
    )
    (tmp_path / "sparkify.toml").write_text("wait = false\n")
    from_file = load_settings({}, env={}, config_file=tmp_path / "sparkify.toml")
    assert from_file.blame(advice) == (
        "Wait for it to finish, or run with sparkify.toml key 'wait' = true to queue behind it."
    )
    assert load_settings({"wait": False}, env={}, config_file=tmp_path / "none.toml").blame(advice) == advice
