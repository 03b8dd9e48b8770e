"""Tracing a step without a warehouse: the real step functions (``create_tables``, ``stage``,
``transform``, ``check``) run against a *recording* copy of an offline engine, and what they send is
what ``sparkify sql`` prints (:func:`trace`).

The recording warehouse is the engine's own class with the driver calls replaced
(:func:`recording`): every statement still goes through :meth:`Warehouse.run_statement`, which
records it instead of sending it, with the driver's placeholders where values would be bound.
Queries are answered as a warehouse fresh from ``create-tables`` would answer them (every table
empty; the ledger in today's layout). The stage step reads a stand-in source: one placeholder
record per kind of file, parsed by the real reader on this machine, so the statements are the ones a
run with new files sends. Where an engine loads over its own channel (PostgreSQL's ``COPY ... FROM
STDIN``, Redshift's COPY from S3), the engine's rendering of that load
(:meth:`Warehouse.insert_from_reader_sql`) is recorded.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkify.ledger import SCHEMA_VERSION
from sparkify.schema import FILE_KINDS, LOAD_SCHEMA, META_TABLES, Table
from sparkify.sources import open_source
from sparkify.warehouse.base import Warehouse

STAND_IN_RECORDS: dict[str, dict[str, Any]] = {
    "songs": {
        "num_songs": 1,
        "artist_id": "<artist_id>",
        "artist_latitude": None,
        "artist_longitude": None,
        "artist_location": "<artist_location>",
        "artist_name": "<artist_name>",
        "song_id": "<song_id>",
        "title": "<title>",
        "duration": 1.0,
        "year": 0,
    },
    "events": {
        "artist": "<artist>",
        "auth": "Logged In",
        "firstName": "<firstName>",
        "gender": "F",
        "itemInSession": 0,
        "lastName": "<lastName>",
        "length": 1.0,
        "level": "free",
        "location": "<location>",
        "method": "PUT",
        "page": "NextSong",
        "registration": 1540919166796.0,
        "sessionId": 1,
        "song": "<song>",
        "status": 200,
        "ts": 1541105830796,
        "userAgent": "<userAgent>",
        "userId": "1",
    },
}
"""The one record per kind of file the traced stage step reads: valid, values that name themselves."""


@dataclass(frozen=True)
class Sent:
    """One statement the traced step sent: ``kind`` is ``execute`` (it changes something or
    begins/ends a transaction) or ``query`` (a read)."""

    kind: str
    statement: str


class _Recording:
    """Mixed in before an engine's class: the driver calls record instead of sending."""

    sent: list[Sent]
    existing: bool
    readers: list[Any]

    def _execute(self, statement: str, params: Sequence[Any] | None) -> None:
        self.sent.append(Sent("execute", statement))

    def _query(self, statement: str, params: Sequence[Any] | None) -> tuple[list[str], list[tuple]]:
        self.sent.append(Sent("query", statement))
        return [], _answer(statement, getattr(self, "sql_dialect", "postgres"))

    def table_exists(self, table: str) -> bool:
        return self.existing

    def schema_exists(self) -> bool:
        return self.existing

    def ensure_indexes(self, tables: Sequence[Table]) -> list[str]:
        """A warehouse fresh from create-tables has its indexes; on an empty one, create-tables
        has just made every table, so each of their indexes is created."""
        if self.existing:
            return []
        done = [s for t in tables for s in self.index_sql(t)]  # type: ignore[attr-defined]
        for statement in done:
            self.execute(statement)  # type: ignore[attr-defined]
        return done

    def refuse_source(self, source) -> None:
        return None  # the stand-in source of `sparkify sql` is a local folder, whatever the engine

    def prepare_load(self, source) -> None:
        return None  # nothing is staged anywhere (Redshift would note its S3 staging prefix here)

    def reader_connection(self):
        import duckdb

        self.readers.append(duckdb.connect())  # the reader parses here, on this machine, as in a run
        return self.readers[-1]

    def insert_from_reader(self, table: Table, reader_con, relation: str) -> int:
        """The engine's own rendering of its load (:meth:`Warehouse.insert_from_reader_sql`) is
        recorded: DuckDB runs exactly that; PostgreSQL streams its COPY, and skips the ``analyze``
        after it when the copy adds few rows to a large table; Redshift COPYs from a manifest of
        the rows it staged on S3 (shown as a placeholder)."""
        for statement in self.insert_from_reader_sql(table, relation):  # type: ignore[attr-defined]
            self.execute(statement)  # type: ignore[attr-defined]
        row = reader_con.execute(f"select count(*) from {relation}").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        return None  # the connections are the original warehouse's: its owner closes them


_CLASSES: dict[type, type] = {}


def recording(wh: Warehouse, *, existing: bool = True) -> Warehouse:
    """A copy of ``wh`` (which may be offline or closed) that records what it is asked to run
    (:attr:`sent`) instead of running it. ``existing``: every table (and the schema) exists."""
    cls = type(wh)
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f"Recording{cls.__name__}", (_Recording, cls), {})
    rec: Any = object.__new__(_CLASSES[cls])
    rec.__dict__.update(copy.copy(wh.__dict__))
    rec.sent, rec.existing, rec.readers, rec.tracer = [], existing, [], None
    if "_depth" in rec.__dict__:
        rec._depth = 0  # the copy's transactions are its own, whatever ``wh`` has open
    return rec


def _answer(statement: str, dialect: str) -> list[tuple]:
    """The rows a warehouse fresh from ``create-tables`` returns: an aggregate over an empty table
    is one row (counts 0, anything else null), a plain select no rows; ``load_schema`` holds the
    current layout version."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(statement, read=dialect)
    except sqlglot.errors.ParseError:
        return []
    if not isinstance(tree, exp.Select) or tree.args.get("group"):
        return []
    if not all(e.find(exp.AggFunc) for e in tree.expressions):
        return []
    names = {t.name for t in tree.find_all(exp.Table)}
    return [
        tuple(
            SCHEMA_VERSION
            if LOAD_SCHEMA.name in names and isinstance(e.unalias(), exp.Max)
            else 0
            if isinstance(e.unalias(), exp.Count)
            else None
            for e in tree.expressions
        )
    ]


def write_stand_in(root: Path) -> Path:
    """A source folder at ``root`` holding one file of :data:`STAND_IN_RECORDS` per kind."""
    for kind, record in STAND_IN_RECORDS.items():
        folder = root / FILE_KINDS[kind].folder
        folder.mkdir(parents=True)
        (folder / f"<{kind} file>.json").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return root


def trace(wh: Warehouse, step: str, *, max_errors: int = 0) -> list[Sent]:
    """What ``step`` (``create-tables``, ``stage``, ``transform`` or ``check``) sends to ``wh``'s
    engine, in order, found by running the step on a recording copy of ``wh`` (nothing reaches a
    warehouse). For ``create-tables`` no table exists yet; for the others every table does."""
    from sparkify import interrupts, pipeline

    rec: Any = recording(wh, existing=step != "create-tables")
    try:
        with interrupts.rehearsal():  # nothing it "commits" stands
            _run(pipeline, rec, step, max_errors)
    finally:
        for con in rec.readers:
            con.close()
    return rec.sent


def _run(pipeline, rec: Any, step: str, max_errors: int) -> None:
    if step == "create-tables":
        pipeline.create_tables(rec)
    elif step == "transform":
        pipeline.transform(rec)
    elif step == "check":
        pipeline.check(rec)
    else:
        with tempfile.TemporaryDirectory(prefix="sparkify-sql-") as folder:
            # opened here: an engine that loads from S3 takes a listed source as it is
            pipeline.stage(rec, open_source(write_stand_in(Path(folder))), max_errors=max_errors)


BOOKKEEPING = tuple(t.name for t in META_TABLES)
"""The tables whose rows are the run's bookkeeping (ledger, rejects, runs, layout version)."""


def is_bookkeeping(wh: Warehouse, statement: str) -> bool:
    """True for a statement that writes or reads only bookkeeping rows (never a ``create``)."""
    if statement.lstrip().lower().startswith("create"):
        return False
    return any(wh.qualified(name) in statement for name in BOOKKEEPING)
