"""A file is one file however it is spelled, a changed file is noticed, and a warehouse made by an
earlier sparkify keeps working (tests/fixtures/warehouse-v1: made by commit 5fcf528's code)."""

from __future__ import annotations

import json
import lzma
import os
import shutil
from pathlib import Path

import pytest

from sparkify import ledger
from sparkify.warehouse import connect
from tests.conftest import sparkify
from tests.helpers.records import NOW, event, song, write_source

FIXTURE = Path(__file__).parent / "fixtures" / "warehouse-v1"


@pytest.fixture
def old_warehouse(tmp_path, monkeypatch) -> Path:
    """The v1 warehouse and its source in a working directory, files as they were when loaded."""
    shutil.copytree(FIXTURE / "src", tmp_path / "src")
    for name, mtime_ns in json.loads((FIXTURE / "mtimes.json").read_text()).items():
        os.utime(tmp_path / name, ns=(mtime_ns, mtime_ns))
    (tmp_path / "old.duckdb").write_bytes(lzma.decompress((FIXTURE / "old.duckdb.xz").read_bytes()))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def table_rows(path: Path) -> dict[str, list]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            t: sorted(map(repr, con.execute(f"select * exclude (source_file) from {t}").fetchall()))
            if t.startswith("staging")
            else sorted(map(repr, con.execute(f"select * from {t}").fetchall()))
            for t in ("staging_events", "staging_songs", "users", "songs", "artists", "songplays", "time")
        }
    finally:
        con.close()


def test_the_fixture_is_what_the_earlier_code_made(old_warehouse):
    import duckdb

    con = duckdb.connect("old.duckdb", read_only=True)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    keys = sorted(r[0] for r in con.execute("select file from load_files").fetchall())
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_name = 'load_files'"
        ).fetchall()
    ]
    con.close()
    assert "load_schema" not in tables and "content_hash" not in columns
    assert keys[0] == "src/log_data/2018/11/2018-11-01-events.json"  # as typed: relative


@pytest.mark.parametrize("spelling", ["relative", "absolute", "dotted", "home"])
def test_an_old_warehouse_is_upgraded_in_place_and_nothing_is_reloaded(
    capsys, old_warehouse, spelling, monkeypatch
):
    before = table_rows(old_warehouse / "old.duckdb")
    source = {
        "relative": "src",
        "absolute": str(old_warehouse / "src"),
        "dotted": "./src/../src/",
        "home": "~/src",
    }[spelling]
    monkeypatch.setenv("HOME", str(old_warehouse))
    code, out, err = sparkify(capsys, "run", "-s", source, "-w", "duckdb:///old.duckdb")
    assert code == 0, err
    assert (
        "songs: 2 files: 0 new, 2 already loaded" in out and "events: 2 files: 0 new, 2 already loaded" in out
    )
    assert (
        f"Upgraded the bookkeeping tables to layout {ledger.SCHEMA_VERSION}: load_files.content_hash added; load_files.rules added; "
        "load_runs.prune added; load_runs.files_removed added; 4 ledger keys canonicalised." in out
    )
    assert table_rows(old_warehouse / "old.duckdb") == before  # nothing reloaded, duplicated or lost
    with connect("duckdb:///old.duckdb") as wh:
        assert ledger.version(wh) == ledger.SCHEMA_VERSION
        _, keys = wh.query("select file from load_files order by file")
        _, staged = wh.query("select distinct source_file from staging_events order by 1")
        _, runs = wh.query("select status from load_runs order by started_at")
    root = os.path.realpath(old_warehouse / "src")
    expected = sorted(
        f"{root}/{p.removeprefix('src/')}" for p in json.loads((FIXTURE / "mtimes.json").read_text())
    )
    assert [k for (k,) in keys] == expected
    assert [s for (s,) in staged] == [
        f"{root}/log_data/2018/11/2018-11-01-events.json",
        f"{root}/log_data/2018/11/2018-11-02-events.json",
    ]
    assert runs == [("succeeded",), ("succeeded",)]  # the old run's row kept, the new one added


def test_an_old_postgres_warehouse_is_upgraded_in_place(capsys, old_warehouse, postgres_url, pg_schema):
    import psycopg

    dump = (FIXTURE / "old-postgres.sql").read_text().replace("sparkify_v1", pg_schema)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(dump)
        con.execute(f'set search_path to "{pg_schema}"')
        before = {
            t: sorted(map(repr, con.execute(f'select * from "{t}"').fetchall()))
            for t in ("users", "songs", "artists", "songplays", "time")
        }
        assert con.execute("select count(*) from load_files where file like 'src/%'").fetchone() == (4,)
    code, out, err = sparkify(capsys, "run", "-s", "src", "-w", postgres_url, "--schema", pg_schema)
    assert code == 0, err
    assert (
        "songs: 2 files: 0 new, 2 already loaded" in out and "events: 2 files: 0 new, 2 already loaded" in out
    )
    root = os.path.realpath(old_warehouse / "src")
    with psycopg.connect(postgres_url) as con:
        con.execute(f'set search_path to "{pg_schema}"')
        after = {t: sorted(map(repr, con.execute(f'select * from "{t}"').fetchall())) for t in before}
        keys = [k for (k,) in con.execute("select file from load_files order by file").fetchall()]
        staged = con.execute("select count(*), count(distinct source_file) from staging_events").fetchone()
        version = con.execute("select max(version) from load_schema").fetchone()[0]
    assert after == before and staged == (10, 2) and version == ledger.SCHEMA_VERSION
    assert all(k.startswith(root + "/") for k in keys) and len(keys) == 4


def test_upgrading_twice_does_nothing_the_second_time(old_warehouse):
    with connect("duckdb:///old.duckdb") as wh:
        done = ledger.upgrade(wh)
        assert done == [
            "load_files.content_hash added",
            "load_files.rules added",
            "load_runs.prune added",
            "load_runs.files_removed added",
            "4 ledger keys canonicalised",
        ]
        # the old run's row is kept, the new columns empty in it
        _, runs = wh.query("select status, prune, files_removed from load_runs")
        assert runs == [("succeeded", None, None)]
        assert ledger.upgrade(wh) == []
        _, versions = wh.query("select version from load_schema")
        assert versions == [(ledger.SCHEMA_VERSION,)]


def test_one_file_however_it_is_spelled(capsys, tmp_path, monkeypatch):
    src = write_source(tmp_path / "data", songs=[song()], events=[event()])
    (tmp_path / "link").symlink_to(src)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify(capsys, "run", "-q", "-s", str(src), "-w", wh)[0] == 0
    for spelling in ("data", "./data/", "link", "~/data", "../" + tmp_path.name + "/data"):
        code, out, err = sparkify(capsys, "stage", "-s", spelling, "-w", wh)
        assert code == 0, err
        assert "events: 1 file: 0 new, 1 already loaded" in out, (spelling, out)
    monkeypatch.setenv("SPARKIFY_SOURCE", "~/data")  # ~ from the environment too
    code, out, _ = sparkify(capsys, "stage", "-w", wh)
    assert code == 0 and "events: 1 file: 0 new, 1 already loaded" in out


@pytest.mark.parametrize(
    "spelling", ["duckdb:w.duckdb", "duckdb:///w.duckdb", "w.duckdb", "./w.duckdb", "~/w.duckdb"]
)
def test_the_lock_file_follows_the_database_file(tmp_path, monkeypatch, spelling):
    from sparkify.errors import WarehouseBusyError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with connect(str(tmp_path / "w.duckdb")), pytest.raises(WarehouseBusyError):
        connect(spelling, wait=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]


def test_a_file_copied_with_its_timestamp_kept_is_reloaded(capsys, tmp_path):
    src = write_source(
        tmp_path / "src", songs=[song()], events=[event(), event(ts=1541105831796, itemInSession=1)]
    )
    day = src / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify(capsys, "run", "-q", "-s", str(src), "-w", wh)[0] == 0
    stat = day.stat()
    # the corrected file, one event more, copied over with the old timestamp (cp -p, rsync -t)
    day.write_text(day.read_text() + json.dumps(event(ts=1541105832796, itemInSession=2)) + "\n")
    os.utime(day, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    code, out, _ = sparkify(capsys, "run", "-s", str(src), "-w", wh)
    assert code == 0 and "events: 1 file: 0 new, 1 changed" in out
    with connect(wh) as w:
        assert w.query("select count(*) from staging_events")[1] == [(3,)]


def test_verify_content_notices_a_same_size_same_time_change(capsys, tmp_path):
    src = write_source(tmp_path / "src", songs=[song()], events=[event(level="free")])
    day = src / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    code, out, _ = sparkify(capsys, "run", "-q", "--verify-content", "-s", str(src), "-w", wh)
    assert code == 0
    stat = day.stat()
    day.write_text(day.read_text().replace('"free"', '"paid"'))  # same size
    os.utime(day, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert day.stat().st_size == stat.st_size
    code, out, _ = sparkify(capsys, "run", "-s", str(src), "-w", wh)
    assert "events: 1 file: 0 new, 1 already loaded" in out  # size and time cannot tell
    code, out, _ = sparkify(capsys, "run", "--verify-content", "-s", str(src), "-w", wh)
    assert code == 0 and "events: 1 file: 0 new, 1 changed" in out
    with connect(wh) as w:
        assert w.query("select level from users")[1] == [("paid",)]
        _, hashes = w.query("select content_hash from load_files where kind = 'events'")
    import hashlib

    assert hashes == [("sha256:" + hashlib.sha256(day.read_bytes()).hexdigest(),)]


def test_runs_lists_the_runs_of_a_warehouse_not_upgraded_yet(capsys, old_warehouse):
    """`runs` only reads (it never upgrades): columns added since are shown empty, not an error."""
    code, out, err = sparkify(capsys, "runs", "--json", "-w", "duckdb:///old.duckdb")
    assert code == 0, err
    (run,) = [json.loads(line) for line in out.splitlines()]
    assert run["status"] == "succeeded" and run["events_staged"] == 10
    assert (run["prune"], run["files_removed"]) == (None, None)
    code, out, err = sparkify(capsys, "runs", "-w", "duckdb:///old.duckdb")
    assert code == 0 and "succeeded" in out, err


def test_the_upgrade_is_said_even_when_the_run_then_fails(capsys, old_warehouse):
    """The upgrade is its own transaction, done before the load: a load that fails leaves it done,
    so the command says it first (and in --json), and the next run has nothing more to say."""
    bad = old_warehouse / "src" / "log_data" / "2018" / "11" / "2018-11-03-events.json"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("{bad\n")
    code, out, err = sparkify(capsys, "run", "--json", "-s", "src", "-w", "duckdb:///old.duckdb")
    assert code == 65, err
    summary = json.loads(out)
    assert summary["status"] == "failed" and "load_runs.prune added" in summary["upgraded"]
    bad.unlink()
    code, out, err = sparkify(capsys, "run", "-s", "src", "-w", "duckdb:///old.duckdb")
    assert code == 0 and "Upgraded" not in out, err
    with connect("duckdb:///old.duckdb") as wh:
        assert ledger.version(wh) == ledger.SCHEMA_VERSION


def test_the_first_verify_content_run_says_the_files_are_read_for_a_checksum_not_changed(capsys, tmp_path):
    # tester finding: files loaded without the flag have no checksum; reading them again is not a change
    src = write_source(
        tmp_path / "src",
        songs=[song()],
        events={"2018/11/a.json": [event()], "2018/11/b.json": [event(ts=NOW + 1)]},
    )
    wh = f"duckdb:///{tmp_path}/w.duckdb"
    assert sparkify(capsys, "run", "-q", "-s", str(src), "-w", wh)[0] == 0
    (src / "log_data" / "2018" / "11" / "b.json").write_text(
        json.dumps(event(ts=NOW + 2)) + "\n"
    )  # a real change
    code, out, _ = sparkify(capsys, "run", "--verify-content", "-s", str(src), "-w", wh)
    assert code == 0
    assert "events: 2 files: 0 new, 1 changed, 1 read again (no checksum recorded yet)" in out
    assert "songs: 1 file: 0 new, 1 read again (no checksum recorded yet)" in out
    code, out, _ = sparkify(capsys, "run", "--verify-content", "-s", str(src), "-w", wh)
    assert "events: 2 files: 0 new, 2 already loaded" in out
