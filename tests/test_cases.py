"""The real-world input cases of tests/cases/ (see its README), on every engine (Redshift: the
stand-in, from S3), through the library and through the CLI as a user runs them.

Expected values come from the cases README or from counting the case files by hand (shell commands
noted beside each number), never from sparkify itself.
"""

from __future__ import annotations

import gzip
import shutil
import uuid
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.cli import main
from sparkify.errors import SourceError
from sparkify.schema import STAGING_TABLES, STAR_TABLES
from sparkify.sources import open_source
from sparkify.warehouse import connect
from tests.conftest import CLIENT_ENGINES, source_for

CASES = Path(__file__).resolve().parent / "cases"

local_folders = pytest.mark.engines(
    "duckdb",
    "postgres",
    reason="reads a local folder, and Redshift loads from S3; the S3 variant of this case runs on Redshift too",
)
"""For the tests of a case read from a local folder (names without .json, gzip known by content, a
--log-source per day). Their S3 variants below run on every engine."""

KEPT = [t.name for t in (*STAGING_TABLES, *STAR_TABLES)] + ["load_files", "load_errors"]
"""Tables a failed run must leave as they were (load_runs does record the failure)."""

NO_SUFFIX_EVENTS = {
    # file -> (events: `grep -c . FILE`, NextSong plays: `grep -c NextSong FILE`; zcat first for the .gz)
    "2018-11-01-events.json": (15, 11),
    "2018-11-10-events": (20, 19),
    "2018-11-11-events.jsonl": (20, 16),
    "2018-11-22-events.JSON": (20, 20),
    "2018-11-25-events.gz": (20, 14),
}
DAY = {  # daily-partition-runs: day folder -> (events, NextSong plays), counted the same way
    "01": (15, 11),
    "02": (20, 17),
}


def sparkify(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def count(wh, table: str) -> int:
    return int(wh.query(f"select count(*) from {wh.qualified(table)}")[1][0][0])


def snapshot(wh) -> dict[str, list]:
    return {name: sorted(wh.query(f"select * from {wh.qualified(name)}")[1], key=repr) for name in KEPT}


def copy_case(name: str, tmp_path: Path) -> Path:
    """A writable copy of a case (tests may add to it)."""
    return Path(shutil.copytree(CASES / name, tmp_path / name))


@pytest.fixture(params=CLIENT_ENGINES)
def cli_warehouse(request, tmp_path) -> list[str]:
    """Warehouse options for the CLI: a fresh DuckDB file, or a fresh schema on the test server."""
    if request.param == "duckdb":
        return ["-w", f"duckdb:///{tmp_path}/cli.duckdb"]
    return ["-w", request.getfixturevalue("postgres_url"), "--schema", request.getfixturevalue("pg_schema")]


def open_cli_warehouse(options: list[str]):
    url = options[1]
    return connect(url, schema=options[3] if len(options) > 2 else None)


# -- no-json-suffix: every object under log_data/ is read, gzip known by its content --------------


@local_folders
def test_no_json_suffix_loads_all_95_events(warehouse):
    source = CASES / "no-json-suffix"
    report = pipeline.run(warehouse, source)
    events = report.stage.results["events"]
    assert (events.read, events.staged, events.rejected) == (95, 95, 0)
    assert report.rows["songplays"] == sum(plays for _, plays in NO_SUFFIX_EVENTS.values()) == 80
    _, ledger = warehouse.query(
        f"select file, records_staged from {warehouse.qualified('load_files')} where kind = 'events'"
    )
    folder = source / "log_data" / "2018" / "11"
    assert dict(ledger) == {str(folder / name): n for name, (n, _) in NO_SUFFIX_EVENTS.items()}


@local_folders
def test_gzip_is_known_by_its_content_not_its_name(warehouse, tmp_path):
    """A gzip file named without .gz and a plain file named .gz both load."""
    source = copy_case("no-json-suffix", tmp_path)
    folder = source / "log_data" / "2018" / "11"
    (folder / "2018-11-25-events.gz").rename(folder / "2018-11-25-events")
    (folder / "2018-11-01-events.json").rename(folder / "2018-11-01-events.json.gz")
    for name in ("2018-11-10-events", "2018-11-11-events.jsonl", "2018-11-22-events.JSON"):
        (folder / name).unlink()
    assert gzip.decompress((folder / "2018-11-25-events").read_bytes())  # really gzip, really unnamed
    report = pipeline.run(warehouse, source)
    assert (report.stage.results["events"].staged, report.stage.rejected) == (15 + 20, 0)
    assert report.rows["songplays"] == 11 + 14


def test_no_json_suffix_cli(capsys, cli_warehouse):
    source = CASES / "no-json-suffix"
    code, out, err = sparkify(capsys, "run", "-s", str(source), *cli_warehouse)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "songs: 2 files: 2 new" in lines and "events: 5 files: 5 new" in lines
    assert lines[-1].startswith(f"Loaded 97 records (0 rejected) from {source} into ")
    with open_cli_warehouse(cli_warehouse) as wh:
        assert (count(wh, "staging_events"), count(wh, "songplays")) == (95, 80)


# -- daily-partition-runs: a day loaded stays loaded unless the user asks ------------------------


@local_folders
def test_daily_partition_runs(warehouse):
    root = CASES / "daily-partition-runs"
    days = root / "log_data" / "2018" / "11"

    def run(day: str, **kwargs):
        return pipeline.run(warehouse, open_source(root, log_source=days / day), **kwargs)

    assert run("01").rows["songplays"] == 11
    second = run("02")
    assert second.rows["songplays"] == 11 + 17 == 28
    assert (second.stage.plans["events"].kept, second.stage.plans["events"].absent_rows) == (
        [str(days / "01" / "2018-11-01-events.json")],
        15,
    )
    again = run("02")
    assert again.rows["songplays"] == 28 and again.stage.read == 0
    before = snapshot(warehouse)
    for day in ("03", "04"):  # 03 holds only a zero-byte .keep; 04 does not exist
        with pytest.raises(SourceError, match=str(days / day)):
            run(day)
        assert snapshot(warehouse) == before
    assert run("02", full_refresh=True).rows["songplays"] == 28  # reloads 02, keeps 01
    pruned = run("02", prune=True)
    assert pruned.rows["songplays"] == 17
    assert (pruned.stage.plans["events"].removed, pruned.stage.plans["events"].absent_rows) == (
        [str(days / "01" / "2018-11-01-events.json")],
        15,
    )
    assert count(warehouse, "staging_events") == 20


def test_daily_partition_runs_cli(capsys, cli_warehouse):
    root = CASES / "daily-partition-runs"
    days = root / "log_data" / "2018" / "11"

    def run(day: str, *flags: str):
        return sparkify(
            capsys, "run", "-s", str(root), "--log-source", str(days / day), *cli_warehouse, *flags
        )

    def songplays() -> int:
        with open_cli_warehouse(cli_warehouse) as wh:
            return count(wh, "songplays")

    code, out, err = run("01")
    assert (code, err, songplays()) == (0, "", 11)
    code, out, err = run("02")
    assert (code, err, songplays()) == (0, "", 28)
    lines = out.splitlines()
    assert "events: 1 file: 1 new" in lines
    assert (
        "events: 1 file loaded earlier is no longer in the source: its 15 records are kept (pass --prune to remove them)"
        in lines
    )
    code, out, err = run("02", "-q")
    assert (code, err, songplays()) == (0, "", 28)
    assert "no longer in the source" not in out  # nothing removed: --quiet stays quiet
    with open_cli_warehouse(cli_warehouse) as wh:
        before = snapshot(wh)
    code, out, err = run("03", "-q")
    assert (code, out) == (66, "")  # the source cannot be found or read
    assert (
        err
        == f"Error: No log files in {days / '03'} (only 1 zero-byte file). Nothing was loaded. Check --log-source.\n"
    )
    code, out, err = run("04", "-q")
    assert (code, out) == (66, "")
    assert err == f"Error: {days / '04'} does not exist or is not a folder. Check --log-source.\n"
    with open_cli_warehouse(cli_warehouse) as wh:
        assert snapshot(wh) == before
    code, out, err = run("02", "-q", "--prune")
    assert (code, err, songplays()) == (0, "", 17)
    assert out.splitlines()[0] == "events: --prune removed 1 file no longer in the source, and its 15 records"


def test_daily_partition_runs_from_s3(warehouse, s3_server, aws_env):
    """The same on S3: a narrower --log-source keeps what was loaded; a prefix holding only a
    zero-byte object is an error that changes nothing."""
    prefix = f"daily-{uuid.uuid4().hex[:8]}"
    put_tree(s3_server, CASES / "daily-partition-runs", prefix)
    root = f"s3://{BUCKET}/{prefix}"

    def run(day: str, **kwargs):
        return pipeline.run(
            warehouse, open_source(root, log_source=f"{root}/log_data/2018/11/{day}/"), **kwargs
        )

    assert run("01").rows["songplays"] == 11
    assert run("02").rows["songplays"] == 28
    before = snapshot(warehouse)
    with pytest.raises(
        SourceError, match=rf"No log objects under {root}/log_data/2018/11/03/ \(only 1 zero-byte object\)"
    ):
        run("03")
    assert snapshot(warehouse) == before


# -- no-json-suffix from S3 -----------------------------------------------------------------------


def test_no_json_suffix_from_s3(warehouse, s3_server, aws_env):
    """All 95 events from S3 too; there, the gzip object is named without .gz and a plain one with it."""
    prefix = f"suffix-{uuid.uuid4().hex[:8]}"
    renamed = {
        "2018-11-25-events.gz": "2018-11-25-events",
        "2018-11-01-events.json": "2018-11-01-events.json.gz",
    }
    put_tree(s3_server, CASES / "no-json-suffix", prefix, renamed)
    client = s3_client(s3_server)
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/log_data/2018/", Body=b"")  # a console's "folder"
    report = pipeline.run(warehouse, open_source(f"s3://{BUCKET}/{prefix}"))
    events = report.stage.results["events"]
    assert (events.read, events.staged, events.rejected) == (95, 95, 0)
    assert report.rows["songplays"] == 80
    assert report.stage.plans["events"].listed.placeholders == [f"s3://{BUCKET}/{prefix}/log_data/2018/"]


# -- utf8-bom: loads as if the mark were absent ---------------------------------------------------


def test_utf8_bom_loads_as_if_absent(warehouse, tmp_path):
    report = pipeline.run(warehouse, source_for(warehouse, copy_case("utf8-bom", tmp_path)))
    assert (report.stage.staged, report.stage.rejected) == (17, 0)
    assert report.rows["songplays"] == 11
    # the mark is not part of the first key: the first field of every song file is artist_id
    _, rows = warehouse.query(f"select artist_id from {warehouse.qualified('staging_songs')} order by 1")
    assert rows == [("ARHUC691187B9AD27F",), ("ARRP7LB1187B99A343",)]
    _, rows = warehouse.query(
        f"select count(*) from {warehouse.qualified('staging_events')} where artist is null"
    )
    assert rows == [(4,)]  # `grep -c '"artist":null'` on the day file: its first record starts after the mark


def test_utf8_bom_cli(capsys, cli_warehouse):
    source = CASES / "utf8-bom"
    code, out, err = sparkify(capsys, "run", "-q", "-s", str(source), *cli_warehouse)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith(f"Loaded 17 records (0 rejected) from {source} into ")


# -- S3 helpers (the moto server of tests/test_s3.py) ---------------------------------------------

from tests.test_s3 import BUCKET  # noqa: E402 -- s3_server and aws_env are conftest fixtures
from tests.test_s3 import _client as s3_client  # noqa: E402


def put_tree(endpoint: str, root: Path, prefix: str, renamed: dict[str, str] | None = None) -> None:
    """Every file under ``root`` at ``prefix/<relative path>``, byte for byte, whatever its name;
    ``renamed`` maps a file name to the name its object gets."""
    client = s3_client(endpoint)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).with_name((renamed or {}).get(path.name, path.name)).as_posix()
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{key}", Body=path.read_bytes())
