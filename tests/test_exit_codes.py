"""Exit codes a scheduler can act on, through real processes of the installed `sparkify`; `--json`
summaries; `sparkify runs`."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sparkify.errors import EXIT_CODES
from tests.helpers.records import event, song, write_source

SPARKIFY = str(Path(sys.executable).parent / "sparkify")


def sparkify(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")} | (env or {})
    return subprocess.run(
        [SPARKIFY, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300
    )


@pytest.fixture
def src(tmp_path):
    return write_source(
        tmp_path / "src", songs=[song()], events=[event(), event(ts=1541105831796, itemInSession=1)]
    )


def test_readme_and_help_list_every_exit_code():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", readme, flags=re.M))
    assert {int(k): v for k, v in table.items()} == EXIT_CODES
    out = sparkify("--help").stdout
    for code in EXIT_CODES:
        assert re.search(rf"^\s+{code}\s", out, flags=re.M) or f"; {code} " in out, code


def test_ok_checks_failed_bad_input_and_missing_source(tmp_path, src):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify("run", "-q", "-s", str(src), "-w", wh).returncode == 0
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("delete from time")
    con.close()
    assert sparkify("check", "-q", "-w", wh).returncode == 1
    (src / "log_data" / "bad.json").write_text("{oops\n")
    proc = sparkify("run", "-q", "-s", str(src), "-w", wh)
    assert proc.returncode == 65, proc.stderr
    proc = sparkify("run", "-q", "-s", str(tmp_path / "nowhere"), "-w", wh)
    assert proc.returncode == 66, proc.stderr


def test_usage_and_configuration_errors_are_2(tmp_path, src):
    assert sparkify("run", "--no-such-flag").returncode == 2
    assert sparkify("run", "-s", str(src), cwd=tmp_path, env={"SPARKIFY_MAX_ERRORS": "lots"}).returncode == 2
    import duckdb

    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    proc = sparkify("check", "-w", str(tmp_path / "empty.duckdb"))  # never loaded
    assert proc.returncode == 2 and "Run `sparkify run` first." in proc.stderr


def test_lock_busy_with_no_wait_is_a_temporary_failure(tmp_path, src):
    from sparkify.warehouse import connect

    db = tmp_path / "w.duckdb"
    with connect(str(db)):
        proc = sparkify("run", "-q", "--no-wait", "-s", str(src), "-w", str(db))
    assert proc.returncode == 75, proc.stderr
    assert proc.stderr.count("\n") == 1


def test_postgres_refused_busy_and_unknown_role(tmp_path, src, postgres_url, pg_schema):
    from sparkify.warehouse import connect

    proc = sparkify("check", "-w", "postgresql://someone@127.0.0.1:1/nothing")  # nothing listens on port 1
    assert proc.returncode == 75, proc.stderr
    proc = sparkify("check", "-w", postgres_url.replace("postgres@", "no_such_role_xyz@"))
    assert proc.returncode == 2 and "no_such_role_xyz" in proc.stderr, proc.stderr
    with connect(postgres_url, schema=pg_schema):  # holds the schema's lock
        proc = sparkify("run", "-q", "--no-wait", "-s", str(src), "-w", postgres_url, "--schema", pg_schema)
    assert proc.returncode == 75, proc.stderr


def test_the_same_condition_gives_the_same_code_in_s3_and_infra():
    """Connection refused, throttling and refused credentials, met reading S3 or provisioning."""
    from botocore import exceptions as bce

    from sparkify.infra.aws import translate
    from sparkify.sources.s3_errors import s3_error

    def client_error(code: str, status: int) -> bce.ClientError:
        return bce.ClientError(
            {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
        )

    # condition: (what S3 answers, what AWS's control plane answers), and the one exit code for both
    cases = {
        "connection refused": (bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),) * 2 + (75,),
        "throttled": (client_error("SlowDown", 503), client_error("Throttling", 400), 75),
        "no credentials": (bce.NoCredentialsError(), bce.NoCredentialsError(), 2),
        "credentials refused": (
            client_error("InvalidAccessKeyId", 403),
            client_error("InvalidClientTokenId", 403),
            2,
        ),
    }
    for condition, (s3_exc, aws_exc, code) in cases.items():
        via_s3 = s3_error(s3_exc, "b", "s3://b/k")
        via_infra = translate(aws_exc, action="iam:GetRole", resource="r", region="us-west-2")
        assert (via_s3.exit_code, via_infra.exit_code) == (code, code), condition


def test_json_summaries(tmp_path, src):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    proc = sparkify("run", "--json", "-s", str(src), "-w", wh)
    assert proc.returncode == 0 and proc.stderr == ""
    [line] = proc.stdout.splitlines()
    out = json.loads(line)
    assert out["command"] == "run" and out["status"] == "ok" and out["exit_code"] == 0
    assert out["staged"] == {
        "songs": {
            "files_read": 1,
            "records_read": 1,
            "staged": 1,
            "rejected": 0,
            "files_removed": 0,
            "unknown_fields": {},
        },
        "events": {
            "files_read": 1,
            "records_read": 2,
            "staged": 2,
            "rejected": 0,
            "files_removed": 0,
            "unknown_fields": {},
        },
    }
    assert out["tables"]["songplays"] == 2 and out["tables"]["users"] == 1
    assert out["checks"] == {"passed": 33, "failed": 0, "failures": [], "scope": "all"}
    assert len(out["load_id"]) == 32 and out["timings"]["total"] >= 0 and out["error"] is None

    (src / "log_data" / "bad.json").write_text("{oops\n")
    proc = sparkify("stage", "--json", "-s", str(src), "-w", wh)
    assert proc.returncode == 65
    out = json.loads(proc.stdout)
    assert (out["command"], out["status"], out["exit_code"]) == ("stage", "failed", 65)
    assert "input record could not be loaded" in out["error"]
    assert proc.stderr.startswith("Error: 1 input record could not be loaded")
    # what the failed load read and rejected, under its load id (nothing staged: it rolled back)
    assert out["staged"] == {
        "songs": {
            "files_read": 0,
            "records_read": 0,
            "staged": 0,
            "rejected": 0,
            "files_removed": 0,
            "unknown_fields": {},
        },
        "events": {
            "files_read": 1,
            "records_read": 1,
            "staged": 0,
            "rejected": 1,
            "files_removed": 0,
            "unknown_fields": {},
        },
    }
    bad = os.path.realpath(src / "log_data" / "bad.json")
    assert len(out["rejects"]) == 1 and out["rejects"][0].startswith(f"{bad}:1: malformed JSON")
    # the same reject as an object, for scripts (tester finding: only "file:line: reason" strings)
    assert out["rejected_records"] == [
        {
            "file": bad,
            "line": 1,
            "field": None,
            "reason": "malformed JSON: Expecting property name enclosed in double quotes at character 2 of the record",
        }
    ]
    failed_run = json.loads(sparkify("runs", "-n", "1", "--json", "-w", wh).stdout)
    assert (failed_run["load_id"], failed_run["status"]) == (out["load_id"], "failed")
    assert failed_run["events_rejected"] == 1 and failed_run["events_staged"] == 0
    assert failed_run["events_read"] == 1  # what it read, though nothing stayed

    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("delete from time")
    con.close()
    proc = sparkify("check", "--json", "-w", wh)
    out = json.loads(proc.stdout)
    assert proc.returncode == 1 and (out["status"], out["exit_code"]) == ("checks_failed", 1)
    assert out["checks"]["failures"] == [
        {"name": "relationship:songplays.start_time->time.start_time", "offending": 2}
    ]
    proc = sparkify("transform", "--json", "-w", wh)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["tables"]["time"] == 2


def test_runs_lists_what_the_last_runs_did(tmp_path, src):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    first = json.loads(sparkify("run", "--json", "-s", str(src), "-w", wh).stdout)
    (src / "log_data" / "bad.json").write_text("{oops\n")
    assert sparkify("run", "-q", "-s", str(src), "-w", wh).returncode == 65
    proc = sparkify("runs", "--json", "-w", wh)
    assert proc.returncode == 0
    runs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["command"], r["status"]) for r in runs] == [("run", "failed"), ("run", "succeeded")]
    assert (
        runs[1]["load_id"] == first["load_id"]
        and runs[1]["events_staged"] == 2
        and runs[1]["checks_failed"] == 0
        # a scheduler can check the accounting from runs alone: read = staged + rejected
        and (runs[1]["events_read"], runs[1]["songs_read"]) == (2, 1)
        and runs[1]["files_listed"] == 2
    )
    assert "input record could not be loaded" in runs[0]["message"]
    # times in ISO 8601, UTC said with Z
    started = dt.datetime.fromisoformat(runs[0]["started_at"])
    assert started.tzinfo == dt.UTC and started.microsecond == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", runs[0]["started_at"])  # jq's fromdateiso8601
    # the message names the rejected record (file and line), not only the first line of the error
    bad = os.path.realpath(src / "log_data" / "bad.json")
    assert f"{bad}:1" in runs[0]["message"] and "\n" not in runs[0]["message"]
    assert ". Fix the input, or pass --max-errors 1 (or more)" in runs[0]["message"]  # sentences kept apart
    # the failed run was rolled back: it loaded and staged nothing, but says what it read and rejected
    failed = runs[0]
    assert (failed["files_loaded"], failed["songs_staged"], failed["events_staged"]) == (0, 0, 0)
    assert failed["events_rejected"] == 1
    proc = sparkify("runs", "-n", "1", "-w", wh)
    assert proc.returncode == 0 and "failed" in proc.stdout and "succeeded" not in proc.stdout
    proc = sparkify("runs", "-w", str(tmp_path / "none.duckdb"))
    assert proc.returncode == 2 and not (tmp_path / "none.duckdb").exists()


def test_the_runs_table_fits_an_80_column_terminal():
    import datetime as dt
    import io

    from rich.console import Console

    from sparkify.cli.load import print_runs_table

    def run(status, files, staged, checks, started=None, full=False, prune=False):
        return {
            "started_at": started or dt.datetime.now(dt.UTC).replace(tzinfo=None, hour=5, minute=44),
            "load_id": "b2982322" + "0" * 24,
            "command": "run",
            "full_refresh": full,
            "prune": prune,
            "status": status,
            "seconds": 1234.4,
            "files_loaded": files,
            "songs_staged": staged,
            "events_staged": staged,
            "songs_rejected": 0,
            "events_rejected": 12,
            "checks_failed": checks,
        }

    out = io.StringIO()
    print_runs_table(
        Console(file=out, width=80, no_color=True),
        [
            run("interrupted", 0, 0, None),
            run("succeeded", 1_234_567, 5_192_500, 0),
            run("failed", 3, 0, None, started=dt.datetime(2024, 2, 9, 23, 59)),
            run("succeeded", 2, 4, 1, full=True, prune=True),
            run("succeeded", 5, 3, None) | {"load_id": "c0ffee00" + "0" * 24},  # checks cut off
            run("succeeded", 5, 3, None) | {"load_id": "5ca1ab1e" + "0" * 24, "command": "stage"},
        ],
    )
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    # every cell whole, on its row's one line
    assert any(
        line.split()[2:] == ["05:44", "b2982322", "run", "interrupted", "1234", "-", "-", "12"]
        for line in lines
    )
    # more than half a year ago: the year instead of the time, as ls -l shows it
    assert any(line.split()[:3] == ["Feb", "09", "2024"] and "failed" in line for line in lines)
    assert any(
        line.split()[2:]
        == ["05:44", "b2982322", "run", "succeeded", "1234", "1234567", "10385000", "12", "0"]
        for line in lines
    )
    # --full-refresh --prune: said in the command, which may wrap (the load id never shrinks)
    row = next(i for i, line in enumerate(lines) if line.split()[-2:] == ["12", "1"])
    assert lines[row].split()[3:5] == ["b2982322", "run"]
    assert " ".join(lines[row + 1 : row + 3]).split() == ["full", "prune"]  # the command's wrapped words
    # a run whose checks did not run: '-'; a stage runs none: nothing
    assert next(line for line in lines if "c0ffee00" in line).split()[-4:] == ["5", "6", "12", "-"]
    assert next(line for line in lines if "5ca1ab1e" in line).split()[-3:] == ["5", "6", "12"]


def test_runs_says_what_a_dash_under_checks_failed_means(tmp_path, src):
    import duckdb

    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify("run", "-q", "-s", str(src), "-w", wh).returncode == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"))  # as a run whose checks a signal cut short leaves it
    con.execute("update load_runs set checks_failed = null")
    con.close()
    assert sparkify("check", "-q", "-w", wh).returncode == 0  # reads only: the cell stays '-'
    proc = sparkify("runs", "-w", wh)
    assert proc.returncode == 0
    assert (
        "'-' under checks failed: the run loaded, but its checks did not run then. `sparkify check` runs "
        "them on the warehouse as it is now (it reads only: its result is not recorded here)."
    ) in " ".join(proc.stdout.split())


def test_runs_says_which_runs_pruned_and_what_they_removed(tmp_path, src):
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    day = src / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    day.write_text(json.dumps(event(ts=1541192230796)) + "\n")
    assert sparkify("run", "-q", "-s", str(src), "-w", wh).returncode == 0
    day.unlink()
    proc = sparkify("run", "--json", "--prune", "--full-refresh", "-s", str(src), "-w", wh)
    assert proc.returncode == 0
    staged = json.loads(proc.stdout)["staged"]
    assert (staged["events"]["files_removed"], staged["songs"]["files_removed"]) == (1, 0)
    proc = sparkify("runs", "-w", wh)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    newest = next(i for i, line in enumerate(lines) if "succeeded" in line)
    assert "run full prune" in lines[newest]  # 100 columns when not a terminal: no wrap
    assert any(line.endswith(": --prune removed the rows of 1 file") for line in lines)
    runs = [json.loads(line) for line in sparkify("runs", "--json", "-w", wh).stdout.splitlines()]
    assert [(r["full_refresh"], r["prune"], r["files_removed"]) for r in runs] == [
        (True, True, 1),
        (False, False, 0),
    ]


def test_the_runs_table_never_cuts_a_number_to_fit():
    """Values too wide for 80 columns together: the table is printed wider (the terminal wraps the
    lines) rather than a cell cut (12 checks failed once showed as 1)."""
    import datetime as dt
    import io

    from rich.console import Console

    from sparkify.cli.load import print_runs_table

    big = {
        "started_at": dt.datetime(2024, 2, 9, 23, 59),
        "load_id": "ffffffff" + "0" * 24,
        "command": "transform",
        "full_refresh": False,
        "prune": False,
        "status": "succeeded",
        "seconds": 14460.0,
        "files_loaded": 1_000_030,
        "songs_staged": 0,
        "events_staged": 1_000_000_000,
        "songs_rejected": 0,
        "events_rejected": 12,
        "checks_failed": 12,
    }
    out = io.StringIO()
    print_runs_table(Console(file=out, width=80, no_color=True), [big, big | {"status": "interrupted"}])
    rows = [line.split() for line in out.getvalue().splitlines() if "ffffffff" in line]
    assert rows[0][3:] == ["ffffffff", "transform", "succeeded", "14460", "1000030", "1000000000", "12", "12"]
    assert rows[1][3:] == ["ffffffff", "transform", "interrupted", "14460", "-", "-", "12", "12"]


def test_json_summaries_name_the_keys_no_column_takes(tmp_path):
    # runs --json gave unknown_fields as a JSON-encoded string, run --json left it out (tester finding)
    src = write_source(
        tmp_path / "src",
        songs=[song()],
        events=[
            event(extra_field=1),
            event(itemInSession=1, extra_field=2, other="x"),
            event(itemInSession=2),
        ],
    )
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    proc = sparkify("run", "--json", "-s", str(src), "-w", wh)
    assert proc.returncode == 0, proc.stderr
    staged = json.loads(proc.stdout)["staged"]
    assert staged["events"]["unknown_fields"] == {"extra_field": 2, "other": 1}
    assert staged["songs"]["unknown_fields"] == {}
    proc = sparkify("runs", "--json", "-n", "1", "-w", wh)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["unknown_fields"] == {"extra_field": 2, "other": 1}


def test_an_incremental_runs_checks_say_they_covered_its_rows_only(tmp_path, src):
    """Tester finding: after an incremental run "Checks: 33 of 33 passed." while `sparkify check`
    found rows deleted by hand: the run's checks cover its own rows, and now say so."""
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    first = sparkify("run", "-s", str(src), "-w", wh)
    assert "Checks: 33 of 33 passed.\n" in first.stdout
    (src / "log_data" / "2018" / "11" / "2018-11-02-events.json").write_text(
        json.dumps(event(ts=1541190000000)) + "\n"
    )
    second = sparkify("run", "-s", str(src), "-w", wh)
    assert (
        "Checks: 33 of 33 passed on the rows this run added or changed (`sparkify check` checks every row).\n"
        in second.stdout
    ), second.stdout
    (src / "log_data" / "2018" / "11" / "2018-11-03-events.json").write_text(
        json.dumps(event(ts=1541290000000)) + "\n"
    )
    third = json.loads(sparkify("run", "--json", "-s", str(src), "-w", wh).stdout)
    assert third["checks"]["scope"] == "run"
    assert json.loads(sparkify("check", "--json", "-w", wh).stdout)["checks"]["scope"] == "all"


def test_json_rejected_records_name_file_line_and_field(tmp_path, src):
    day = src / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    day.write_text(day.read_text() + json.dumps(event(ts=1541105830, itemInSession=7)) + "\n")
    proc = sparkify(
        "run", "--json", "--max-errors", "1", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb"
    )
    out = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert out["rejected_records"] == [
        {
            "file": os.path.realpath(day),
            "line": 3,
            "field": "ts",
            "reason": "ts 1541105830 looks like epoch seconds; expected milliseconds",
        }
    ]
    assert out["rejects"] == [
        f"{os.path.realpath(day)}:3: field 'ts': ts 1541105830 looks like epoch seconds; expected milliseconds"
    ]


def test_runs_cuts_a_long_failure_message_and_json_keeps_it_whole(tmp_path, src):
    """Tester finding: `sparkify runs` printed a failed run's ten rejects as one long paragraph."""
    day = src / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    day.write_text("".join(json.dumps(event(ts=1541105830 + i, itemInSession=i)) + "\n" for i in range(12)))
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify("run", "-s", str(src), "-w", wh).returncode == 65
    run = json.loads(sparkify("runs", "--json", "-n", "1", "-w", wh).stdout)
    assert len(run["message"]) > 200
    (line,) = [
        x
        for x in sparkify("runs", "-n", "1", "-w", wh).stdout.splitlines()
        if x.startswith(run["load_id"][:8] + ":")
    ]
    assert (
        line == f"{run['load_id'][:8]}: {run['message'][:200].rstrip()} ... (--json gives the whole message)"
    )


def test_json_names_the_schema_it_loaded(tmp_path, src, postgres_url, pg_schema):
    """Tester finding: --json gave only the URL, so runs into several schemas of one server could not
    be told apart (the text's final line says "(schema ...)")."""
    for command in (["run", "-s", str(src)], ["check"]):
        proc = sparkify(*command, "--json", "-w", postgres_url, "--schema", pg_schema)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["schema"] == pg_schema
    proc = sparkify("run", "--json", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb")
    assert json.loads(proc.stdout)["schema"] is None
