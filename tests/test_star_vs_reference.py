"""End to end: the pipeline's star tables equal the plain-Python reference's, exactly.

The reference (tests/helpers/reference.py) implements CONTRACT.md without SQL, so this is the test that
catches a transform SQL that disagrees with the contract. It runs on the real sample and on the tricky
hand-made source (tests/helpers/tricky.py), which has a case for every tie-break the sample lacks.
Every column but songplay_id is compared exactly (floats included), as sorted lists of tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sparkify import pipeline
from sparkify.warehouse import connect
from tests.conftest import source_for
from tests.helpers import reference, tricky

STAR = ("songplays", "users", "songs", "artists", "time")


@dataclass
class Loaded:
    report: pipeline.RunReport
    tables: dict[str, list[tuple]]
    """Each star table's rows, columns in the contract's order, songplay_id left out."""
    songplays_with_ids: list[tuple]
    """(songplay_id, start_time, user_id, session_id, song_id) for every play, by songplay_id."""
    reference: reference.Star


def _load(source, db) -> Loaded:
    with connect(f"duckdb:///{db}") as wh:
        report = pipeline.run(wh, source)
        tables = {}
        for name in STAR:
            _, tables[name] = wh.query(f"select {', '.join(reference.COLUMNS[name])} from {name}")
        _, ids = wh.query(
            "select songplay_id, start_time, user_id, session_id, song_id from songplays order by songplay_id"
        )
    return Loaded(report, tables, ids, reference.build_cached(str(source.resolve())))


@pytest.fixture(scope="module", params=["sample", "tricky", "generated"])
def loaded(request, sample_dir, tmp_path_factory) -> Loaded:
    """Each source run once through the pipeline into DuckDB, with the reference on the same files.
    "generated" is data the repo does not ship: sparkify generate, 45,000 events across a year end."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "sample":
        source = sample_dir
    elif request.param == "tricky":
        source = tricky.write(tmp / "source")
    else:
        from sparkify.generate import generate

        source = tmp / "source"
        generate(source, events=45_000, songs=2_000, users=150, seed=11)
    return _load(source, tmp / "warehouse.duckdb")


@pytest.mark.parametrize("table", STAR)
def test_star_table_equals_reference(loaded, table):
    got = sorted(loaded.tables[table], key=_key)
    want = sorted(loaded.reference.table(table), key=_key)
    got_set, want_set = set(got), set(want)
    missing = [r for r in want if r not in got_set]
    extra = [r for r in got if r not in want_set]
    assert not missing and not extra, (
        f"{table} differs from the reference ({len(got)} rows, reference {len(want)}): "
        f"{len(missing)} reference rows missing, {len(extra)} unexpected.\n"
        f"first missing:    {missing[:3]}\nfirst unexpected: {extra[:3]}"
    )
    assert got == want, f"{table}: same rows but different multiplicities"


def test_column_types_are_the_contracts(loaded):
    """Equal values of another type (Decimal for int, str for datetime) would be a contract break too."""
    for table in STAR:
        for got, want in zip(
            sorted(loaded.tables[table], key=_key), sorted(loaded.reference.table(table), key=_key)
        ):
            for column, g, w in zip(reference.COLUMNS[table], got, want):
                if g is not None and w is not None:
                    assert type(g) is type(w), (
                        f"{table}.{column}: {type(g).__name__}, expected {type(w).__name__}"
                    )


def test_songplay_ids_are_unique_and_not_null(loaded):
    ids = [row[0] for row in loaded.songplays_with_ids]
    assert None not in ids
    assert len(set(ids)) == len(ids) == len(loaded.reference.songplays)


def test_songplay_ids_number_plays_in_time_then_natural_key_order(loaded):
    """insert_songplays.sql numbers plays in (start_time, user_id, session_id, item_in_session) order,
    so a re-run gives the same ids. user_id orders as the INTEGER it is: user 9 before user 10."""
    want = [
        (i, t, u, sess, song) for i, t, u, _, song, _, sess, _, _ in loaded.reference.songplays_with_ids()
    ]
    got = loaded.songplays_with_ids
    first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), None)
    assert got == want, f"first difference at position {first}: got {got[first]}, expected {want[first]}"


def test_the_run_passes_its_checks_and_rejects_nothing(loaded):
    assert [c.check.name for c in loaded.report.checks_failed] == []
    assert loaded.report.stage.rejected == 0
    assert loaded.report.rows == {t: len(loaded.reference.table(t)) for t in STAR}


def test_tricky_source_gives_the_hand_worked_tables(sample_dir, tmp_path):
    """The pipeline on the tricky source against the tables worked out by hand, not the reference."""
    source = tricky.write(tmp_path / "source")
    with connect(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        pipeline.run(wh, source)
        for table in STAR:
            _, rows = wh.query(f"select {', '.join(reference.COLUMNS[table])} from {table}")
            assert sorted(rows, key=_key) == sorted(tricky.STAR[table], key=_key), table


def test_tricky_source_gives_the_hand_worked_tables_on_every_engine(warehouse, tmp_path):
    """The same on each engine under test (Redshift: the stand-in, from the S3 copy of the folder)."""
    source = source_for(warehouse, tricky.write(tmp_path / "source"))
    report = pipeline.run(warehouse, source)
    assert report.stage.rejected == 0 and not report.checks_failed
    for table in STAR:
        _, rows = warehouse.query(
            f"select {', '.join(reference.COLUMNS[table])} from {warehouse.qualified(table)}"
        )
        assert sorted(rows, key=_key) == sorted(tricky.STAR[table], key=_key), table


def _key(row: tuple) -> tuple:
    """Sort key for rows that may hold None next to values of another type."""
    return tuple((v is None, "" if v is None else v) for v in row)
