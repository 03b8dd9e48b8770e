"""Named analytics queries: the catalog the repo ships and the team's own folders, in Redshift SQL.

A query is one file, ``NAME.sql``, holding one statement. Its leading ``--`` comment lines say what
it answers (its description); a ``-- order: unordered`` line among them declares its row order open
even though it sorts. Otherwise the SQL itself says whether the row order is part of the answer: a
top-level ORDER BY makes it so (rows tied on the ORDER BY columns may come in any order), and a
result without one is compared as a multiset (see :mod:`sparkify.analytics.expected`).

Queries are written in Redshift SQL (the team's target) unless told otherwise; on DuckDB and
PostgreSQL they are translated before they run (:mod:`sparkify.analytics.dialect`). The shipped
catalog is Redshift SQL too (``top 10``, ``trunc(start_time)``), written once for every engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from sparkify.analytics.dialect import DIALECTS, check_dialect, translate
from sparkify.analytics.expected import FLOAT_TOLERANCE, compare, save_expected, to_csv, to_json
from sparkify.errors import ConfigError, QueryError, did_you_mean
from sparkify.values import normalize

__all__ = [
    "DIALECTS",
    "FLOAT_TOLERANCE",
    "Query",
    "Result",
    "ad_hoc",
    "catalog",
    "compare",
    "load_queries",
    "parse_query",
    "run_query",
    "run_sql",
    "save_expected",
    "select",
    "sql_for",
    "to_csv",
    "to_json",
    "translate",
]

CATALOG_DIALECT = "redshift"
"""The dialect the shipped catalog (``queries/``) is written in."""


@dataclass(frozen=True)
class Query:
    """One named query. ``ordered`` is None when the SQL decides (a top-level ORDER BY), else the
    header's ``-- order:`` line; ``origin`` names the file in messages."""

    name: str
    description: str
    ordered: bool | None
    sql: str
    dialect: str = CATALOG_DIALECT
    origin: str = ""


@dataclass(frozen=True)
class Result:
    """Column names and rows (values int, float, Decimal, str, bool, date, datetime or None)."""

    columns: list[str]
    rows: list[tuple]


def parse_query(name: str, text: str, *, dialect: str = CATALOG_DIALECT, origin: str = "") -> Query:
    """A Query from a file's text: the leading ``--`` lines (blank lines before them skipped) are
    the header; every header line before an ``order:`` line joins into the description."""
    header = []
    for line in text.lstrip("\n").splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    ordered = None
    words = []
    for h in header:
        if h.lower().startswith("order:"):
            ordered = h.split(":", 1)[1].strip().lower() != "unordered"
            break
        words.append(h)
    return Query(name, " ".join(w for w in words if w), ordered, text, dialect, origin or f"{name}.sql")


@lru_cache(maxsize=1)
def catalog() -> dict[str, Query]:
    """Every query the repo ships, by name, in name order."""
    folder = resources.files("sparkify.analytics").joinpath("queries")
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".sql"):
            name = entry.name[:-4]
            out[name] = parse_query(
                name, entry.read_text(encoding="utf-8"), origin=f"catalog query {entry.name}"
            )
    return out


def load_queries(folder: Path | str, *, dialect: str = CATALOG_DIALECT) -> dict[str, Query]:
    """Every ``NAME.sql`` directly in ``folder``, by name, in name order, written in ``dialect``.

    Raises ConfigError when the folder does not exist or holds no ``.sql`` file.
    """
    folder = Path(folder)
    dialect = check_dialect(dialect)
    if not folder.is_dir():
        raise ConfigError(
            f"Query folder {folder} does not exist. Pass --queries DIR, a folder of NAME.sql files."
        )
    files = sorted(p for p in folder.iterdir() if p.suffix == ".sql" and p.is_file())
    if not files:
        raise ConfigError(f"{folder} holds no .sql file. Put one query per NAME.sql in it.")
    return {
        p.stem: parse_query(p.stem, p.read_text(encoding="utf-8"), dialect=dialect, origin=str(p))
        for p in files
    }


def select(names: tuple[str, ...] | list[str], queries: dict[str, Query] | None = None) -> list[Query]:
    """The queries named (all when none), from ``queries`` (default: the catalog), or a ConfigError
    with a did-you-mean."""
    cat = catalog() if queries is None else queries
    if not names:
        return list(cat.values())
    chosen = []
    for n in names:
        if n not in cat:
            hint = did_you_mean(n, cat)
            raise ConfigError(f"No analytics query named {n!r}.{hint} See `sparkify analytics --list`.")
        chosen.append(cat[n])
    return chosen


def sql_for(wh, query: Query, *, dialect: str | None = None) -> str:
    """The text that runs on ``wh`` for ``query``: translated from ``dialect`` (default the query's
    own) to the engine's. Raises QueryError when it cannot be translated faithfully."""
    return translate(
        query.sql, source=dialect or query.dialect, target=wh.sql_dialect, origin=query.origin or query.name
    )


def run_query(wh, query: Query, *, dialect: str | None = None) -> Result:
    """Run one query on a warehouse (translated, see :func:`sql_for`); values normalized to int,
    float, str, bool, date/datetime or None."""
    source = dialect or query.dialect
    return run_sql(wh, sql_for(wh, query, dialect=dialect), origin=query.origin, written_for=source)


def run_sql(wh, sql: str, *, origin: str = "", written_for: str | None = None) -> Result:
    """Run SQL already in the engine's dialect (what :func:`sql_for` returns); values normalized.
    An error of the engine is raised as the same WarehouseError type, its message led by ``origin``
    (the query's file), so a user knows which of many queries failed. ``written_for``: the dialect
    the query was written in; on DuckDB, one written for Redshift or PostgreSQL divides by zero as
    they do -- an error, not DuckDB's IEEE ``inf`` or ``NaN``."""
    from sparkify.errors import QueryError, WarehouseError

    try:
        with _arithmetic_of(wh, written_for):
            columns, rows = wh.query(sql)
    except WarehouseError as exc:
        text = str(exc)
        if "Division by zero in expression" in text:  # DuckDB's words end with a SET of its own
            text = (
                "division by zero, which Redshift and PostgreSQL refuse too; "
                "write x / nullif(y, 0) for NULL instead"
            )
        # the query's own text (a syntax error, an unknown column or function): the user's to fix, as
        # a query sparkify cannot parse is (exit 2) -- not the warehouse refusing the work (exit 69)
        text_error = exc.__cause__ is not None and wh.is_query_text_error(exc.__cause__)
        kind = QueryError if type(exc) is WarehouseError and text_error else type(exc)
        if not origin and text == str(exc) and kind is type(exc):
            raise
        raise kind(f"{origin}: {text}" if origin else text) from exc
    return Result(list(columns), [tuple(normalize(v) for v in row) for row in rows])


DUCKDB_AS_SERVERS = ("ieee_floating_point_ops", "false"), ("error_on_division_by_zero", "true")
"""DuckDB settings under which x / 0 (and 0.0 / 0.0, sqrt(-1)...) is an error, as in Redshift and
PostgreSQL, instead of IEEE's inf and NaN."""


@contextlib.contextmanager
def _arithmetic_of(wh, written_for: str | None) -> Iterator[None]:
    """For a query written for Redshift or PostgreSQL running on DuckDB: :data:`DUCKDB_AS_SERVERS` while
    it runs. Any other engine or dialect: nothing. A DuckDB without these settings is left as it is."""
    from sparkify.errors import WarehouseError

    if getattr(wh, "name", None) != "duckdb" or written_for in (None, "duckdb"):
        yield
        return
    applied = []
    try:
        for name, value in DUCKDB_AS_SERVERS:
            wh.execute(f"set {name} = {value}")
            applied.append(name)
    except WarehouseError:  # an older DuckDB (the range pyproject allows) without one of them
        pass
    try:
        yield
    finally:
        for name in applied:
            wh.execute(f"reset {name}")


def ad_hoc(sql: str, *, dialect: str, origin: str = "query") -> Query:
    """A Query for one ad-hoc statement (``sparkify query``)."""
    if not sql.strip():
        raise QueryError(f"{origin} is empty: give one SQL statement.")
    return parse_query("query", sql, dialect=check_dialect(dialect), origin=origin)
