"""`sparkify sql` prints what a run sends: each step's statements, as printed, equal the statements a
real run of that step sends to DuckDB and PostgreSQL (seen through the warehouse's tracer), once the
reads a step makes to plan its work, the session setup and the bookkeeping rows are set aside and
the number of bound values is normalised."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from sparkify import pipeline
from sparkify.cli import cli
from tests.conftest import open_engine
from tests.helpers.records import event, song, write_source

BOOKKEEPING = ("load_runs", "load_files", "load_errors", "load_schema")


def printed(engine: str, schema: str | None) -> dict[str, list[str]]:
    """``sparkify sql --engine ENGINE`` split into its steps' statements (check: less the comment line)."""
    args = ["sql", "--engine", engine] + (["--schema", schema] if schema else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    steps: dict[str, list[str]] = {}
    for section in result.output.split("\n-- == ")[1:]:
        header, _, body = section.partition("\n")
        step = header.split()[0]
        note, _, body = body.partition("\n\n")  # a comment saying what the step does
        assert all(line.startswith("-- ") for line in note.splitlines())
        statements = [s.strip() for s in body.strip().split(";\n\n")]
        statements[-1] = statements[-1].removesuffix(";")
        if step == "check":
            statements = [s.split("\n", 1)[1] for s in statements]
        steps[step] = statements
    assert list(steps) == list(pipeline.STEPS)
    return steps


def normalised(sent: list[str], step: str, setup: list[str]) -> list[str]:
    out = []
    for statement in sent:
        text = statement.strip()
        if text in setup:
            continue  # every connection's first statements: printed once, in the header
        maintenance = "brin_summarize_new_values(" in text  # a select that updates an index
        catalog = "pg_catalog." in text or "information_schema." in text
        if catalog or (step != "check" and text.lower().startswith("select") and not maintenance):
            continue  # a read that plans the work (catalog lookups, row counts, the ledger)
        if not text.lower().startswith("create") and any(f'"{t}"' in text for t in BOOKKEEPING):
            continue  # bookkeeping rows
        out.append(re.sub(r"in \((\?|%s)(, (\?|%s))*\)", r"in (\1)", text))  # one mark per bound value
    return out


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_sparkify_sql_prints_the_statements_each_step_of_a_run_sends(engine, request, tmp_path):
    wh = open_engine(engine, request, tmp_path)
    source = write_source(
        tmp_path / "source",
        songs=[song(), song(song_id="SOB", title="Other", artist_id="AR2", artist_name="Band")],
        events={"2018-11-01-events.json": [event()], "2018-11-02-events.json": [event(userId="8")]},
    )
    sent: dict[str, list[str]] = {}
    try:
        setup = wh.setup_statements()
        for step, run in (
            ("create-tables", lambda: pipeline.create_tables(wh)),
            ("stage", lambda: pipeline.stage(wh, source)),
            ("transform", lambda: pipeline.transform(wh)),
            ("check", lambda: pipeline.check(wh)),
        ):
            sent[step] = []
            wh.tracer = sent[step].append
            run()
            wh.tracer = None
    finally:
        wh.close()
    shown = printed(engine, wh.schema)
    for step in pipeline.STEPS:
        assert shown[step] == normalised(sent[step], step, setup), step
    # what the comparison is about: the stage step's writes, inside one transaction
    assert shown["stage"][0].startswith("begin") and shown["stage"][-1] == "commit"
    # a first load: nothing to remove (no file was loaded before), both staging tables written
    assert not [s for s in shown["stage"] if s.startswith("delete")]
    assert {
        t for t in ("staging_events", "staging_songs") for s in shown["stage"][1:-1] if f'"{t}"' in s
    } == {
        "staging_events",
        "staging_songs",
    }


def test_steps_are_printed_once_each_in_the_order_a_run_takes_them():
    from sparkify.script import steps_named

    assert steps_named(["check", "transform", "check", "create-tables"]) == (
        "create-tables",
        "transform",
        "check",
    )
    assert steps_named([]) == ("create-tables", "stage", "transform", "check")
