"""The load ledger: only new or changed files are read, and the result equals a full refresh.
Every run's accounting (read = staged + rejected) is recorded in load_runs and load_errors."""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest

from sparkify import pipeline
from sparkify.errors import BadInputError
from sparkify.schema import STAR_TABLES
from sparkify.warehouse import connect
from tests.conftest import source_for
from tests.helpers.records import event, song, write_source

DAY = 86_400_000
T0 = 1541030400000  # 2018-11-01 00:00:00 UTC


def star(wh) -> dict[str, list[tuple]]:
    out = {}
    for t in STAR_TABLES:
        cols = [c for c in t.column_names if c != "songplay_id"]
        _, rows = wh.query(f'select {", ".join(cols)} from "{t.name}"')
        out[t.name] = sorted(rows, key=repr)
    return out


LOCAL_VERSIONS = "files versioned by their local path and mtime; Redshift reloads staging whole from S3"
"""Why the tests of local increments leave Redshift out."""


def full_refresh_star(tmp_path, src) -> dict:
    with connect(str(tmp_path / f"fresh-{random.random()}.duckdb")) as wh:
        pipeline.run(wh, src)
        return star(wh)


def day_events(day: int, users=("7", "8"), n=5) -> list[dict]:
    return [
        event(
            ts=T0 + day * DAY + i * 1000,
            itemInSession=i,
            sessionId=100 + day,
            userId=users[i % len(users)],
            level="paid" if day >= 2 else "free",
        )
        for i in range(n)
    ]


@pytest.fixture
def src(tmp_path):
    return write_source(
        tmp_path / "src",
        songs=[song(), song(song_id="SO2", artist_id="AR2", title="B")],
        events={
            "2018/11/2018-11-01-events.json": day_events(0),
            "2018/11/2018-11-02-events.json": day_events(1),
        },
    )


def write_day(src, name, events):
    path = src / "log_data" / "2018" / "11" / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@pytest.mark.engines("duckdb", "postgres", reason=LOCAL_VERSIONS)
def test_second_run_reads_only_the_new_day_and_equals_a_full_refresh(tmp_path, warehouse, src):
    first = pipeline.run(warehouse, src)
    assert {k: (p.new, p.unchanged) for k, p in first.stage.plans.items()} == {
        "songs": (2, 0),
        "events": (2, 0),
    }
    write_day(src, "2018-11-03-events.json", day_events(2, users=("7", "9")))
    second = pipeline.run(warehouse, src)
    events = second.stage.plans["events"]
    assert (len(events.listed), events.new, events.changed, events.unchanged) == (3, 1, 0, 2)
    assert list(second.stage.results["events"].files) == [
        str(src / "log_data/2018/11/2018-11-03-events.json")
    ]
    assert second.stage.results["songs"].files == {}
    assert star(warehouse) == full_refresh_star(tmp_path, src)
    # user 7's level follows their latest event, which came in the new file
    assert warehouse.query("select level from users where user_id = 7")[1] == [("paid",)]


@pytest.mark.engines("duckdb", "postgres", reason=LOCAL_VERSIONS)
def test_a_changed_file_replaces_its_rows(tmp_path, warehouse, src):
    pipeline.run(warehouse, src)
    path = write_day(src, "2018-11-02-events.json", day_events(1, n=3))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    report = pipeline.run(warehouse, src)
    assert report.stage.plans["events"].changed == 1
    assert warehouse.query("select count(*) from staging_events")[1] == [(8,)]
    assert star(warehouse) == full_refresh_star(tmp_path, src)


@pytest.mark.engines("duckdb", "postgres", reason=LOCAL_VERSIONS)
def test_a_vanished_file_keeps_its_rows_until_pruned(tmp_path, warehouse, src):
    first = pipeline.run(warehouse, src)
    before = star(warehouse)
    gone = src / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    gone.unlink()
    kept = pipeline.run(warehouse, src)
    events = kept.stage.plans["events"]
    assert (events.absent, events.absent_rows, events.kept, events.removed) == (
        [str(gone)],
        5,
        [str(gone)],
        [],
    )
    assert star(warehouse) == before and kept.rows["songplays"] == first.rows["songplays"] == 10
    assert warehouse.query("select count(*) from load_files where kind = 'events'")[1] == [(2,)]
    # --full-refresh reloads the source and still keeps what is not in it
    again = pipeline.run(warehouse, src, full_refresh=True)
    assert again.stage.read == 7 and again.stage.plans["events"].kept == [str(gone)]
    assert star(warehouse) == before
    pruned = pipeline.run(warehouse, src, prune=True)
    assert (pruned.stage.plans["events"].removed, pruned.stage.plans["events"].absent_rows) == (
        [str(gone)],
        5,
    )
    assert star(warehouse) == full_refresh_star(tmp_path, src) and pruned.rows["songplays"] == 5
    assert warehouse.query("select count(*) from load_files where kind = 'events'")[1] == [(1,)]
    assert pipeline.run(warehouse, src, prune=True).stage.plans["events"].absent == []
    # load_runs says how each run was asked for and what it removed, newest last
    _, runs = warehouse.query(
        "select full_refresh, prune, files_removed from load_runs order by started_at, finished_at"
    )
    assert runs == [
        (False, False, 0),
        (False, False, 0),
        (True, False, 0),
        (False, True, 1),
        (False, True, 0),
    ]


def test_repair_keeps_the_rows_of_vanished_files_that_survive(warehouse, src):
    """The staging-vs-ledger check still forces a reload of the source when rows go missing, and
    keeps what is left of files no longer in the source; the next run is incremental again."""
    wh, p = warehouse, warehouse.param
    uri = source_for(wh, src)
    pipeline.run(wh, uri)
    path = src / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    gone = f"{uri}/log_data/2018/11/2018-11-02-events.json" if wh.copies_from_s3 else path
    path.unlink()
    uri = source_for(wh, src)
    # two of the vanished file's five rows and one of the present file's are deleted by hand
    wh.execute(
        f"delete from {wh.qualified('staging_events')} where (source_file = {p} and item_in_session < 2) "
        f"or (source_file <> {p} and item_in_session = 0)",
        [str(gone), str(gone)],
    )
    repaired = pipeline.run(wh, uri)
    plan = repaired.stage.plans["events"]
    assert (plan.repair, plan.full_refresh, plan.kept) == (True, True, [str(gone)])
    assert wh.query(f"select count(*) from {wh.qualified('staging_events')}")[1] == [
        (8,)
    ]  # 5 reloaded + 3 kept
    ledger = wh.query(
        f"select records_staged from {wh.qualified('load_files')} where file = {p}", [str(gone)]
    )
    assert ledger[1] == [(3,)]
    assert repaired.rows["songplays"] == 8
    after = pipeline.run(wh, uri).stage.plans["events"]
    assert (after.repair, after.full_refresh, after.unchanged) == (False, False, 1)


def test_a_repair_says_which_vanished_files_lost_their_rows_and_how_many(warehouse, src):
    """A file no longer in the source whose rows were deleted by hand cannot be reloaded: the run says
    so (not "its records are kept") and drops its ledger entry; a vanished file with rows left is kept
    with the rows it really has."""
    wh, p = warehouse, warehouse.param
    uri = source_for(wh, src)
    write_day(src, "2018-11-03-events.json", day_events(2, n=4))
    pipeline.run(wh, source_for(wh, src))
    day2, day3 = (src / "log_data" / "2018" / "11" / f"2018-11-0{d}-events.json" for d in (2, 3))
    names = [f"{uri}/log_data/2018/11/{f.name}" if wh.copies_from_s3 else str(f) for f in (day2, day3)]
    day2.unlink()
    day3.unlink()
    uri = source_for(wh, src)
    wh.execute(f"delete from {wh.qualified('staging_events')} where source_file = {p}", [names[0]])  # all 5
    wh.execute(  # one of the other vanished file's four
        f"delete from {wh.qualified('staging_events')} where source_file = {p} and item_in_session = 0",
        [names[1]],
    )
    repaired = pipeline.run(wh, uri)
    plan = repaired.stage.plans["events"]
    assert plan.repair and plan.lost == [names[0]] and plan.lost_rows == 5
    assert plan.kept == [names[1]] and plan.absent_rows == 3
    assert plan.history_summary() == (
        "events: 1 file loaded earlier is no longer in the source: its 3 records are kept "
        "(pass --prune to remove them)\n"
        "events: 1 file loaded earlier and no longer in the source lost its 5 records from staging outside "
        f"sparkify: nothing can reload it, and its ledger entry is dropped ({names[0]})"
    )
    _, files = wh.query(
        f"select file, records_staged from {wh.qualified('load_files')} where kind = 'events'"
    )
    assert sorted(files) == sorted(
        [
            (names[1], 3),
            (
                f"{uri}/log_data/2018/11/2018-11-01-events.json"
                if wh.copies_from_s3
                else str(src / "log_data" / "2018" / "11" / "2018-11-01-events.json"),
                5,
            ),
        ]
    )
    again = pipeline.run(wh, uri).stage.plans["events"]  # nothing more to say: the next run is quiet
    assert (again.repair, again.lost, again.history_summary()) == (
        False,
        [],
        "events: 1 file loaded earlier is no longer in the source: its 3 records are kept (pass --prune to remove them)",
    )


@pytest.mark.engines("duckdb", "postgres", reason=LOCAL_VERSIONS)
def test_full_refresh_reads_everything_again(warehouse, src):
    pipeline.run(warehouse, src)
    before = star(warehouse)
    report = pipeline.run(warehouse, src, full_refresh=True)
    assert report.stage.read == 12 and star(warehouse) == before


@pytest.mark.engines("duckdb", "postgres", reason=LOCAL_VERSIONS)
def test_ledger_records_every_file(warehouse, src):
    report = pipeline.run(warehouse, src)
    _, rows = warehouse.query(
        "select file, kind, records_read, records_staged, records_rejected, load_id from load_files order by file"
    )
    files = sorted(str(p) for p in src.rglob("*.json"))
    assert [r[0] for r in rows] == files
    assert {(r[2], r[3], r[4]) for r in rows if r[1] == "events"} == {(5, 5, 0)}
    assert {r[5] for r in rows} == {report.load_id}


def corrupt_copy(sample_dir, dest, songs=300, seed=7):
    """Copy the sample's logs and some songs, then corrupt lines at random. Returns the corrupted
    (file, line) pairs per kind, computed here, independently of the reader."""
    rng = random.Random(seed)
    shutil.copytree(sample_dir / "log_data", dest / "log_data")
    song_files = sorted((sample_dir / "song_data").rglob("*.json"))[:songs]
    for f in song_files:
        target = dest / f.relative_to(sample_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, target)
    bad: dict[str, set] = {"events": set(), "songs": set()}
    for f in sorted((dest / "log_data").rglob("*.json")):
        lines = f.read_bytes().split(b"\n")
        for i in range(len(lines)):
            if lines[i].strip() and rng.random() < 0.01:
                lines[i] = rng.choice([lines[i][: len(lines[i]) // 2], b'{"ts": "x"}', b"\xff\xfe", b"[]"])
                bad["events"].add((str(f), i + 1))
        f.write_bytes(b"\n".join(lines))
    for f in sorted((dest / "song_data").rglob("*.json"))[::37]:
        f.write_bytes(f.read_bytes()[:-1])  # cut the closing brace
        bad["songs"].add((str(f), 1))
    return bad


def test_accounting_identity_on_corrupted_real_data(tmp_path, duckdb_wh, sample_dir):
    bad = corrupt_copy(sample_dir, tmp_path / "src")
    n_bad = len(bad["events"]) + len(bad["songs"])
    assert n_bad > 20
    with pytest.raises(BadInputError, match=f"^{n_bad} input records could not be loaded"):
        pipeline.run(duckdb_wh, tmp_path / "src", max_errors=n_bad - 1)
    report = pipeline.run(duckdb_wh, tmp_path / "src", max_errors=n_bad)
    _, runs = duckdb_wh.query(
        "select status, songs_read, songs_staged, songs_rejected, events_read, events_staged, events_rejected "
        "from load_runs order by started_at, status"
    )
    assert [r[0] for r in runs] == ["failed", "succeeded"]
    _status, sr, ss, sj, er, es, ej = runs[1]
    assert (sr, sj) == (300, len(bad["songs"])) and sr == ss + sj
    assert (er, ej) == (8056, len(bad["events"])) and er == es + ej
    _, errors = duckdb_wh.query("select source, line from load_errors where load_id = ?", [report.load_id])
    assert set(errors) == bad["events"] | bad["songs"]
    assert duckdb_wh.query("select count(*) from staging_events")[1] == [(8056 - len(bad["events"]),)]


@pytest.mark.engines("duckdb", "postgres", reason=LOCAL_VERSIONS)
def test_a_failed_run_is_recorded_and_changes_no_table(tmp_path, warehouse, src):
    pipeline.run(warehouse, src)
    before = star(warehouse)
    write_day(src, "2018-11-03-events.json", day_events(2))
    (src / "log_data" / "2018" / "11" / "2018-11-04-events.json").write_text("{nope\n")
    with pytest.raises(BadInputError):
        pipeline.run(warehouse, src)
    assert star(warehouse) == before
    _, runs = warehouse.query("select status, message from load_runs order by started_at")
    assert runs[-1][0] == "failed" and "could not be loaded" in runs[-1][1]
    assert warehouse.query("select count(*) from load_files where file like '%2018-11-03%'")[1] == [(0,)]


def test_staging_that_disagrees_with_the_ledger_is_reloaded_whole(tmp_path, warehouse, src):
    """An UNLOGGED PostgreSQL staging table is emptied by a server crash; rows deleted by hand are
    the same case: the next run must notice and rebuild from every file."""
    src = source_for(warehouse, src)
    pipeline.run(warehouse, src)
    before = star(warehouse)
    warehouse.execute(f"delete from {warehouse.qualified('staging_events')}")
    report = pipeline.run(warehouse, src)
    assert report.stage.plans["events"].full_refresh and not report.stage.plans["songs"].full_refresh
    assert star(warehouse) == before


def test_postgres_staging_tables_are_unlogged_and_the_rest_logged():
    from sparkify.schema import TABLES
    from sparkify.warehouse import offline

    pg = offline("postgres")
    for name, table in TABLES.items():
        ddl = pg.create_table_sql(table)
        assert ddl.startswith("create unlogged table") == (table.kind == "staging"), name
    assert all(
        not offline("duckdb").create_table_sql(t).startswith("create unlogged") for t in TABLES.values()
    )


def test_keeping_more_files_than_a_statement_binds(warehouse, src):
    """A full refresh or repair keeps the rows of the files it keeps by name. A tester's finding:
    with 33,000 kept files the one statement binding them all broke Redshift's limit of 32,767
    parameters (PostgreSQL's is 65,535); 70,000 here."""
    from sparkify.schema import LOAD_FILES, STAGING_SONGS

    pipeline.create_tables(warehouse)
    staging, ledger = warehouse.qualified(STAGING_SONGS.name), warehouse.qualified(LOAD_FILES.name)
    for name in ("keep-1", "gone", None, "keep-69999"):
        warehouse.execute(
            f"insert into {staging} (song_id, source_file) values ('S', {warehouse.param})", [name]
        )
    for name, kind in (("keep-1", "songs"), ("gone-1", "songs"), ("keep-2", "events"), ("gone-2", "events")):
        warehouse.execute(
            f"insert into {ledger} (file, kind, size, records_read, records_staged, records_rejected, load_id, "
            f"loaded_at) values ({warehouse.param}, {warehouse.param}, 1, 1, 1, 0, 'x', current_timestamp)",
            [name, kind],
        )
    kept = [f"keep-{i}" for i in range(70_000)]
    warehouse.delete_where_not_in(STAGING_SONGS, "source_file", kept)
    warehouse.delete_where_not_in(LOAD_FILES, "file", kept, kind="songs")
    _, rows = warehouse.query(f"select source_file from {staging} order by 1")
    assert rows == [("keep-1",), ("keep-69999",)]  # the NULL lineage goes too
    _, rows = warehouse.query(f"select kind, file from {ledger} order by 1, 2")
    assert rows == [("events", "gone-2"), ("events", "keep-2"), ("songs", "keep-1")]  # only songs touched
