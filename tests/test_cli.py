"""The CLI through click's CliRunner (in process, as sqlite-utils tests its CLI): exact output, exit
codes, help with examples. The group's own ``main`` handles every error, so the runner sees exactly
what a terminal would; tests of real process behaviour (signals, ``python -m``, the wheel) use
subprocesses elsewhere."""

from __future__ import annotations

import re

import click
import duckdb
import pytest
from click.testing import CliRunner

from sparkify.cli import cli
from tests.helpers.records import event, song, write_source


def sparkify(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``sparkify ARGS...``: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def all_commands(group: click.Group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, (*prefix, name))


@pytest.mark.parametrize(
    "path,cmd", list(all_commands(cli)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_help_with_an_example(path, cmd):
    code, out, _ = sparkify(*path, "--help")
    assert code == 0
    assert "Example:" in out and "sparkify " in out.split("Example:", 1)[1]


def test_top_level_help_lists_every_command():
    code, out, _ = sparkify("--help")
    assert code == 0
    for name in cli.commands:
        assert name in out


@pytest.fixture
def source(tmp_path):
    return write_source(
        tmp_path / "src",
        songs=[song()],
        events=[
            event(ts=1541105830796, itemInSession=0),
            event(ts=1541105831796, itemInSession=1, song="Nope"),
            event(ts=1541105832796, itemInSession=0, userId="8", level="paid", sessionId=11),
            event(ts=1541105833000, page="Home", userId="", auth="Logged Out", firstName=None),
        ],
    )


def mask_times(text: str) -> str:
    text = re.sub(r"│ +\d+\.\d │$", "│     N.N │", text, flags=re.M)  # the seconds column
    return re.sub(r"\d+\.\d+s", "N.Ns", text)


def test_run_prints_counts_rejects_checks_and_time(tmp_path, source):
    db = tmp_path / "w.duckdb"
    code, out, err = sparkify("run", "--source", str(source), "--warehouse", f"duckdb:///{db}")
    assert code == 0, err
    assert (
        mask_times(out)
        == f"""\
stage songs: 1 file, 208 B in N.Ns
stage events: 1 file, 1.4 kB in N.Ns
transform: 5 tables in N.Ns
songs: 1 file: 1 new
events: 1 file: 1 new
Staged this run
┏━━━━━━━━┳━━━━━━━━━━━━┳━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━┓
┃ input  ┃ files read ┃  MB ┃ records read ┃ staged ┃ rejected ┃ seconds ┃
┡━━━━━━━━╇━━━━━━━━━━━━╇━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━┩
│ songs  │          1 │ 0.0 │            1 │      1 │        0 │     N.N │
│ events │          1 │ 0.0 │            4 │      4 │        0 │     N.N │
└────────┴────────────┴─────┴──────────────┴────────┴──────────┴─────────┘
Star schema
┏━━━━━━━━━━━┳━━━━━━┓
┃ table     ┃ rows ┃
┡━━━━━━━━━━━╇━━━━━━┩
│ users     │    2 │
│ songs     │    1 │
│ artists   │    1 │
│ songplays │    3 │
│ time      │    3 │
└───────────┴──────┘
Checks: 33 of 33 passed.
Loaded 5 records (0 rejected) from {source} into duckdb:///{db} in N.Ns.
"""
    )


def test_quiet_run_prints_only_the_result(tmp_path, source):
    code, out, _ = sparkify("run", "-q", "--source", str(source), "--warehouse", str(tmp_path / "w.duckdb"))
    assert code == 0
    assert mask_times(out).splitlines() == [
        f"Loaded 5 records (0 rejected) from {source} into {tmp_path / 'w.duckdb'} in N.Ns.",
    ]


def test_steps_one_at_a_time(tmp_path, source):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify("transform", "-w", wh)[0] == 2  # no tables yet: run `sparkify run` first
    code, out, _ = sparkify("create-tables", "-w", wh)
    assert (code, out) == (
        0,
        "Created 11 tables: staging_events, staging_songs, users, songs, artists, songplays, time, "
        "load_runs, load_files, load_errors, load_schema\n",
    )
    assert sparkify("create-tables", "-w", wh)[1] == "All tables already exist.\n"
    code, out, _ = sparkify("stage", "-q", "-s", str(source), "-w", wh)
    assert code == 0 and out.startswith("Staged 5 records (0 rejected) into ")  # -q: the final result alone
    code, out, _ = sparkify("transform", "-q", "-w", wh)
    assert code == 0 and ", songplays 3, " in out and len(out.splitlines()) == 1
    code, out, _ = sparkify("check", "-w", wh)
    assert code == 0 and out.endswith("Checks: 33 of 33 passed.\n") and "not_null:songplays.start_time" in out


def test_failed_checks_exit_1_and_name_each_failure(tmp_path, source):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify("run", "-q", "-s", str(source), "-w", wh)[0] == 0
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("delete from time")
    con.close()
    code, out, err = sparkify("check", "-w", wh)
    assert code == 1
    assert "│ relationship:songplays.start_time->time.start_time  │ FAILED │         3 │" in out
    assert err == "Error: 1 check failed: relationship:songplays.start_time->time.start_time\n"


def test_missing_tables_error_says_what_to_run(tmp_path):
    code, out, err = sparkify("check", "-w", f"duckdb:///{tmp_path}/w.duckdb")
    assert (code, out) == (2, "")
    assert err.startswith("Error: There is no DuckDB database at ") and "Run `sparkify run` first" in err
    assert "Traceback" not in err
    sparkify("create-tables", "-w", f"duckdb:///{tmp_path}/w.duckdb")
    src = write_source(tmp_path / "src", songs=[song()], events=[event()])  # a source that is there
    code, _out, err = sparkify("stage", "-w", f"duckdb:///{tmp_path}/other.duckdb", "-s", str(src))
    # stage fills tables: it names the command that makes them (tester finding: it said `run` only)
    assert err == (
        f"Error: There is no DuckDB database at {tmp_path}/other.duckdb. Run `sparkify create-tables` first "
        "(or `sparkify run`, which also loads), or point --warehouse at an existing one.\n"
    )
    assert not (tmp_path / "other.duckdb").exists()
    # a database without the tables: stage says which command makes them
    duckdb.connect(str(tmp_path / "bare.duckdb")).close()
    code, _out, err = sparkify("stage", "-w", f"duckdb:///{tmp_path}/bare.duckdb", "-s", str(src))
    assert err.startswith("Error: Tables ") and err.rstrip().endswith(
        "Run `sparkify create-tables` first (or `sparkify run`, which also loads)."
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgresql://u:s3cret@[::1/test", "an IPv6 host goes in brackets"),
        ("postgresql://u:s3cret@host:99999/db", "the port is a number from 0 to 65535"),
        ("redshift://u:s3cret@host:port/dev", "the port is a number from 0 to 65535"),
    ],
)
def test_a_malformed_warehouse_url_is_a_config_error_without_its_password(url, why):
    code, out, err = sparkify("query", "-w", url, "select 1")
    assert (code, out) == (2, "") and err.startswith("Error: Invalid warehouse URL ") and why in err
    assert "s3cret" not in err and "u:***@" in err and "cannot be read" in err


def test_usage_and_config_errors_exit_2(tmp_path, monkeypatch):
    assert sparkify("run", "--no-such-flag")[0] == 2
    code, _, err = sparkify("run", "-w", "mysql://x/y")
    assert code == 2 and "Unknown warehouse scheme 'mysql'" in err
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sparkify.toml").write_text('sorce = "x"\n')
    code, _, err = sparkify("run")
    assert code == 2 and "did you mean 'source'" in err
    code, _, err = sparkify("analytics", "top_song")
    assert code == 2 and "Did you mean 'top_songs'" in err


def test_bad_input_exits_65_with_one_line_per_problem(tmp_path, source):
    (source / "log_data" / "2018" / "11" / "bad.json").write_text("{oops\n")
    code, out, err = sparkify("run", "-q", "-s", str(source), "-w", str(tmp_path / "w.duckdb"))
    assert code == 65  # EX_DATAERR
    assert f"{source}/log_data/2018/11/bad.json:1: malformed JSON" in err
    assert "--max-errors" in err
    code, out, err = sparkify(
        "run", "-q", "--max-errors", "1", "-s", str(source), "-w", str(tmp_path / "w.duckdb")
    )
    assert code == 0 and "(1 rejected)" in out


def test_debug_shows_the_traceback(tmp_path):
    code, _, err = sparkify("--debug", "check", "-w", f"duckdb:///{tmp_path}/w.duckdb")
    assert code == 2 and "Traceback" in err


def test_env_settings_are_used(tmp_path, source, monkeypatch):
    monkeypatch.setenv("SPARKIFY_SOURCE", str(source))
    monkeypatch.setenv("SPARKIFY_WAREHOUSE", str(tmp_path / "env.duckdb"))
    code, _out, _ = sparkify("run", "-q")
    assert code == 0 and (tmp_path / "env.duckdb").exists()


def test_analytics_csv_output_is_exact(tmp_path, source):
    wh = str(tmp_path / "w.duckdb")
    sparkify("run", "-q", "-s", str(source), "-w", wh)
    code, _out, _ = sparkify(
        "analytics",
        "plays_by_hour",
        "level_split",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "r"),
        "-w",
        wh,
    )
    assert code == 0
    # 3 plays at 20:57 UTC on 2018-11-01: two free by user 7, one paid by user 8
    assert (tmp_path / "r" / "plays_by_hour.csv").read_text() == "hour,plays\n20,3\n"
    assert (tmp_path / "r" / "level_split.csv").read_text() == (
        "level,plays,users,share_of_plays\nfree,2,1,0.6666666666666666\npaid,1,1,0.3333333333333333\n"
    )


def test_python_dash_m_works():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sparkify", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "sparkify, version 0.1.0"


def test_the_readme_lists_every_command_and_setting():
    from pathlib import Path

    from sparkify.config import FIELDS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in cli.commands:
        assert f"`sparkify {name}`" in readme, name
    for key in FIELDS:
        assert f"`{key}`" in readme, key
    keys = readme[readme.index("The keys: ") :].split("\n\n", 1)[0]  # the list of settings itself
    assert [key for key in FIELDS if f"`{key}`" not in keys] == []
    assert "make run" in readme and "make test" in readme


def test_the_readme_quickstart_shows_what_make_run_prints(tmp_path, sample_dir):
    """The output block of the quickstart is today's (a tester found its table a version behind):
    the same lines, times and the paths of the last line aside."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme[readme.index("```\nstage songs:") + 4 :]
    block = block[: block.index("```")]

    def shape(text: str) -> list[str]:
        lines = [line for line in text.splitlines() if line and not line.startswith(("Loaded ", "Report:"))]
        return [re.sub(r"\d+\.\d+s\b|│\s+\d+\.\d │$", "<time>", line) for line in lines]

    code, out, _ = sparkify("run", "-s", str(sample_dir), "-w", str(tmp_path / "w.duckdb"))
    assert code == 0
    assert shape(out) == shape(block)


def test_files_without_records_are_named(tmp_path, source):
    (source / "log_data" / "2018" / "11" / "empty.json").write_text("\n\n")
    (source / "log_data" / "2018" / "11" / "_SUCCESS").write_text("")
    code, out, _ = sparkify("stage", "-s", str(source), "-w", str(tmp_path / "w.duckdb"))
    assert code == 2  # no tables yet
    sparkify("create-tables", "-w", str(tmp_path / "w.duckdb"))
    code, out, _ = sparkify("stage", "-s", str(source), "-w", str(tmp_path / "w.duckdb"))
    assert code == 0
    assert f"1 file held no records: {source}/log_data/2018/11/empty.json" in out
    assert "events: passed over 1 zero-byte file (nothing to read)\n" in out


def test_human_bytes():
    from sparkify.console import human_bytes

    assert [human_bytes(n) for n in (0, 999, 1000, 3_716_227, 4_400_000_000)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "3.7 MB",
        "4.4 GB",
    ]


def test_files_that_cannot_be_read_are_listed_even_under_quiet(tmp_path, source):
    import gzip

    broken = source / "log_data" / "2018" / "11" / "2018-11-02-events"  # gzip by its bytes, cut short
    broken.write_bytes(gzip.compress(b'{"ts": 1}\n' * 100)[:20])
    wh = str(tmp_path / "w.duckdb")
    code, out, err = sparkify("run", "-q", "-s", str(source), "-w", wh)
    assert code == 65 and str(broken) in err  # a rejected record, not tolerated by default (EX_DATAERR)
    code, out, err = sparkify("run", "-q", "-s", str(source), "-w", wh, "--max-errors", "1")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Could not read 1 file (whole or in part):"
    assert lines[1].startswith(f"  {broken}: cannot be read: starts like gzip but is not a valid gzip file: ")


def test_each_invocation_starts_with_fresh_state(tmp_path, source):
    """--quiet, --json and the settings live on click's context object, one per invocation: a
    quiet run leaves the next command in the same process as talkative as ever."""
    wh = str(tmp_path / "w.duckdb")
    code, out, _ = sparkify("run", "--json", "-s", str(source), "-w", wh)
    assert code == 0 and out.startswith("{") and len(out.splitlines()) == 1
    code, out, _ = sparkify("check", "-w", wh)
    assert code == 0 and out.startswith("Checks\n") and out.endswith("Checks: 33 of 33 passed.\n")


def test_unknown_step_names_the_closest_one(tmp_path):
    code, out, err = sparkify("sql", "stagee")
    assert (code, out, err) == (
        2,
        "",
        "Error: Unknown step 'stagee'. Did you mean 'stage'? Steps: create-tables, stage, transform, check.\n",
    )


def test_same_warehouse_twice_is_refused_before_connecting(tmp_path):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    code, out, err = sparkify("compare", "-w", wh, "--against", wh)
    assert (code, out, err) == (
        2,
        "",
        "Error: --warehouse and --against name the same warehouse: give two different ones.\n",
    )
    assert not (tmp_path / "w.duckdb").exists()


def test_no_source_given_means_the_sample_of_the_working_folder(tmp_path, monkeypatch, source):
    """The default-source rule lives in the library (sources.open_configured), not in the CLI."""
    from types import SimpleNamespace

    from sparkify.sources import open_configured

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    source.rename(tmp_path / "data" / "sparkify-sample")
    given = dict(source=None, song_source=None, log_source=None, s3_endpoint=None, s3_concurrency=None)
    assert open_configured(SimpleNamespace(**given)).description == str(tmp_path / "data" / "sparkify-sample")
    assert open_configured(SimpleNamespace(**given)).implicit is True
    named = SimpleNamespace(**{**given, "source": str(tmp_path / "data" / "sparkify-sample")})
    assert getattr(open_configured(named), "implicit", False) is False


def test_the_library_never_imports_the_cli_or_click():
    """Layering: the CLI calls the library, never the reverse (no import cycle), and the library
    works without click (it is used from notebooks and the benchmarks)."""
    import ast
    from pathlib import Path

    import sparkify

    package = Path(sparkify.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] == "cli" or relative.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{relative}: {n}" for n in names if n == "click" or n.startswith(("click.", "sparkify.cli"))
            ]
    assert offenders == []


def test_a_log_folder_of_zero_byte_files_creates_no_warehouse(tmp_path, source):
    """Tester finding: only zero-byte log files made the warehouse file and recorded a failed run
    before the listing refused them; now refused first (exit 66), as a missing folder is."""
    emptied = [f for f in (source / "log_data").rglob("*") if f.is_file()]
    for f in emptied:
        f.write_bytes(b"")
    (source / "log_data" / "_SUCCESS").write_bytes(b"")
    wh = str(tmp_path / "w.duckdb")
    code, _out, err = sparkify("run", "-s", str(source), "-w", wh)
    assert code == 66 and not (tmp_path / "w.duckdb").exists()
    assert err.startswith(
        f"Error: No log files in {source}/log_data (only {len(emptied) + 1} zero-byte files). "
    )
    (source / "log_data" / "day.json").write_text("\n")  # one byte: a file to read, holding no record
    code, _, err = sparkify("run", "-s", str(source), "-w", wh)
    assert code == 0 and (tmp_path / "w.duckdb").exists()
