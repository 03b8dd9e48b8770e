"""What a step needs before it starts: the source opened, the tables it reads present (else a
:class:`MissingTableError` naming them and the next step, or the schema that holds them).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sparkify import ledger
from sparkify.errors import (
    ForeignTableError,
    MissingTableError,
)
from sparkify.schema import (
    META_TABLES,
    STAGING_TABLES,
    STAR_TABLES,
)
from sparkify.sources import Source, open_source
from sparkify.warehouse.base import Warehouse
from sparkify.wording import agree


def _open(source: str | Path | Source) -> Source:
    """``source`` itself when it lists files already (a Source), else the source its location names."""
    return cast(Source, source) if hasattr(source, "list") else open_source(source)


CREATE_FIRST = "Run `sparkify create-tables` first (or `sparkify run`, which also loads)."
"""The next step when a step that fills the tables (stage) finds none: create them."""

RUN_FIRST = "Run `sparkify run` first."
"""The next step when a warehouse holds no loaded tables: `run` creates *and* loads them
(`create-tables` alone would leave them empty)."""


def _require_tables(wh: Warehouse, names, *, next_step: str = RUN_FIRST) -> None:
    """Raise :class:`MissingTableError` naming the missing tables and what to do: pass ``--schema``
    when the tables exist in another schema, else ``next_step``."""
    missing = [n for n in names if not wh.table_exists(n)]
    if missing:
        elsewhere = elsewhere_hint(wh, missing)
        # both fixes when the tables are elsewhere: the user may mean that schema, or a new one
        todo = (
            f"{elsewhere} Or, for this schema: {next_step[:1].lower()}{next_step[1:]}"
            if elsewhere
            else next_step
        )
        raise MissingTableError(
            f"{agree(len(missing), 'Table', 'Tables')} {', '.join(missing)} "
            f"{agree(len(missing), 'does', 'do')} not exist in {wh.display_url}"
            f"{f' (schema {wh.schema})' if wh.schema else ''}. {todo}"
        )


require_tables = _require_tables


def require_star(wh: Warehouse) -> None:
    """Raise :class:`MissingTableError` (saying what to do) unless every star table exists and
    something was ever loaded into them: for commands that only read them (check, analytics,
    report). Tables made by ``create-tables`` alone are empty, and their checks would pass."""
    _require_tables(wh, [t.name for t in STAR_TABLES])
    succeeded = ledger.succeeded_runs(wh)
    if succeeded is None or succeeded:
        return  # made by other means (nothing to tell), or loaded
    if all(int(wh.query(f"select count(*) from {wh.qualified(t.name)}")[1][0][0]) == 0 for t in STAR_TABLES):
        raise MissingTableError(
            f"The tables in {wh.display_url}{f' (schema {wh.schema})' if wh.schema else ''} are empty: nothing was "
            f"ever loaded into them. {RUN_FIRST}"
        )


def elsewhere_hint(wh: Warehouse, missing: list[str]) -> str | None:
    """``Found the tables in schema 'sparkify': pass --schema sparkify.`` when another schema holds
    every missing table, else None."""
    schemas = [s for s in wh.schemas_holding(missing) if s != wh.schema]
    if not schemas:
        return None
    if len(schemas) == 1:
        return f"Found the tables in schema {schemas[0]!r}: pass --schema {schemas[0]}."
    shown = ", ".join(repr(s) for s in schemas[:5]) + (
        f" and {len(schemas) - 5} more" if len(schemas) > 5 else ""
    )
    return f"Found the tables in schemas {shown}: pass --schema with the one you mean."


def refuse_foreign_tables(wh: Warehouse, *, upgraded: bool = False) -> None:
    """Raise :class:`ForeignTableError`, before anything is created or changed, when a staging or
    star table that sparkify would empty and fill already exists in ``wh``'s schema but is not one
    sparkify made: the schema holds none of sparkify's bookkeeping tables (``load_runs``,
    ``load_files``, ...), or the table's columns are not the ones sparkify makes (an application's own
    ``users`` with an ``email`` column) -- nor are a bookkeeping table's (another tool's
    ``load_runs``: without its key column, or with a column sparkify never made). Every step that
    writes those tables asks first (one catalog query): a run would otherwise delete another
    application's rows. A column of another type than sparkify makes (altered by hand) is refused
    too. ``upgraded``: the bookkeeping tables were just upgraded in place, so they must have every
    column sparkify makes (one dropped by hand is refused by name, not met as a raw error later)."""
    written = [*STAGING_TABLES, *STAR_TABLES]
    found = wh.columns_of([t.name for t in (*written, *META_TABLES)])
    present = [t for t in written if t.name in found]
    if not found:
        return
    where = f"{wh.display_url}{f' (schema {wh.schema})' if wh.schema else ''}"
    elsewhere = (
        "--warehouse at another DuckDB file"
        if wh.name == "duckdb"
        else "--schema at a schema of sparkify's own"
    )
    fix = (
        f"sparkify empties and refills its tables on every run, so it will not touch them. Point {elsewhere}, "
        "or rename or drop those tables if they are not wanted."
    )
    views = wh.views_among([t.name for t in present]) if present else []
    if views:  # a view where sparkify empties and fills a table: not sparkify's (tester finding)
        raise ForeignTableError(
            f"{where} holds {agree(len(views), 'a view', 'views')} named {', '.join(views)} where sparkify "
            f"keeps {agree(len(views), 'a table', 'tables')}: {agree(len(views), 'it is', 'they are')} not "
            f"what sparkify made. {fix}"
        )
    if present and not any(t.name in found for t in META_TABLES):
        names = ", ".join(t.name for t in present)
        raise ForeignTableError(
            f"{where} already holds {agree(len(present), 'a table', 'tables')} named {names} that sparkify did "
            f"not make (it holds none of sparkify's bookkeeping tables: "
            f"{', '.join(t.name for t in META_TABLES)}). {fix}"
        )
    for table in [*present, *(t for t in META_TABLES if t.name in found)]:
        have, made = found[table.name], [c.name for c in table.columns]
        extra = [c for c in have if c not in made]
        # a bookkeeping table of an earlier sparkify lacks the columns added since (upgraded in
        # place): only its key column must be there; a staging or star table has them all
        needed = made[:1] if table in META_TABLES and not upgraded else made
        lacking = [c for c in needed if c not in have]
        retyped = [
            f"{c.name} is {have[c.name].lower()} where sparkify makes {c.type}"
            for c in table.columns
            if c.name in have and not same_type_family(have[c.name], c.type)
        ]
        if retyped:  # altered by hand: an insert would fail mid-run with the server's own words
            raise ForeignTableError(
                f"Table {table.name} in {where} has {agree(len(retyped), 'a column', 'columns')} of another "
                f"type ({'; '.join(retyped)}): it is not the table sparkify made. Change "
                f"{agree(len(retyped), 'it', 'them')} back, or drop the table and run with --full-refresh to "
                "make it again."
            )
        if extra or lacking:
            parts = []
            if extra:
                parts.append(
                    f"{agree(len(extra), 'a column', 'columns')} sparkify does not make ({', '.join(extra)})"
                )
            if lacking:
                parts.append(f"not {agree(len(lacking), 'the column', 'the columns')} {', '.join(lacking)}")
            raise ForeignTableError(
                f"Table {table.name} in {where} has {' and '.join(parts)}: it is not the table sparkify made. "
                f"{fix}"
            )


TYPE_FAMILIES = {
    "text": ("text", "varchar", "character varying", "character", "char", "bpchar", "string"),
    "integer": ("smallint", "integer", "bigint", "int", "int2", "int4", "int8", "hugeint", "tinyint"),
    "double": ("double precision", "double", "real", "float", "float4", "float8"),
    "timestamp": ("timestamp", "timestamp without time zone"),
    "boolean": ("boolean", "bool"),
}
"""schema.py's column types -> the catalog's names (lower case, length and collation left off) of the
types that hold the same values: DuckDB's ``VARCHAR``, PostgreSQL's ``text``, Redshift's
``character varying(65535)``. A wider integer or a text of another length is the same family."""


def same_type_family(found: str, made: str) -> bool:
    """Whether a column of catalog type ``found`` holds what sparkify's ``made`` (schema.py: ``text``,
    ``integer``, ``bigint``, ``identity``, ``double``, ``timestamp``, ``boolean``) holds. An unknown
    catalog type ("": the engine has no catalog) is not questioned."""
    if not found:
        return True
    family = "integer" if made in ("integer", "bigint", "identity") else made
    name = found.lower().split("(")[0].strip()
    return name in TYPE_FAMILIES.get(family, (family,))
