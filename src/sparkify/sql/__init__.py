"""SQL files: ``default/`` is portable; ``<engine>/`` holds a file only where that engine differs.

A file may use macros that each engine defines as data (``Warehouse.macros``), e.g.
``@ts_to_timestamp(e.ts)``; :func:`load` expands them.

A line ``@include(_name)`` is replaced by the part file ``_name.sql`` (looked up like a statement:
the engine's folder first, then ``default/``), so that an engine's own version of a statement shares
the rules it does not change -- ``duckdb/insert_songplays.sql`` and ``default/insert_songplays.sql``
match plays to songs with the same lines. A part's name starts with ``_`` (it is no statement of its
own); it may begin with a note about itself (``-- (part of ...``) ended by a blank line, which is
not included.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources

MACRO = re.compile(r"@(\w+)\(([^()]*)\)")

INCLUDE = re.compile(r"^@include\((_\w+)\)[ \t]*\n", re.MULTILINE)
"""A line that includes a part file (see the module's notes)."""

FULL_SCOPE = {
    "scoped": "{0}",
    "id_offset": "0",
    "since": "true",
}
"""The transform's scope macros for a full build: ``@scoped(staging_events, users)`` reads the whole
table named first; ``@id_offset(songplays)`` numbers ids from 1; ``@since(p.start_time)`` is true
(every play counts)."""


def incremental_scope(since: datetime | None) -> dict[str, str]:
    """The scope macros of an incremental transform (and of the checks after it), for ``since``: the
    earliest instant the run rebuilds (the one row of ``sparkify_scope_since``, read by
    :func:`read_since`; None when nothing can change).

    * ``@scoped(table, name)`` reads the temp table ``sparkify_scope_<name>`` that ``scope_<name>.sql``
      filled with the rows the changed ones can affect;
    * ``@since(col)`` is true for the instants the run rebuilt: ``col >= <since>``;
    * ``@since_bound()`` is ``since`` itself, a timestamp literal;
    * ``@since_ms()`` is a whole number of milliseconds since the epoch at most ``since`` (a ``ts``
      of a staged event at or after ``since`` is at least it): a bound an index on ``ts`` can use.

    ``since`` is written into the statements as a literal, not read by a subquery: PostgreSQL's
    planner cannot estimate ``x >= (select ...)`` and plans for a third of the table; with the literal
    it sees one day of rows and reads them through an index. ``@id_offset`` (the number of plays
    kept) is bound by the pipeline."""
    if since is None:
        bound, ms = "cast(null as timestamp)", "null"
    else:
        if since.tzinfo is not None:  # a driver that reads timestamps in a time zone: the UTC wall clock
            since = since.astimezone(UTC).replace(tzinfo=None)
        bound = f"cast('{since.isoformat(sep=' ', timespec='microseconds')}' as timestamp)"
        micros = (since - EPOCH) // timedelta(microseconds=1)
        ms = str(micros // 1000 - 1)  # one millisecond of slack below: a superset, never fewer rows
    return {
        "scoped": "sparkify_scope_{1}",
        "since": "{0} >= " + bound,
        "since_bound": bound,
        "since_ms": ms,
    }


EPOCH = datetime(1970, 1, 1)


def read_since(wh) -> datetime | None:
    """The earliest instant an incremental transform rebuilds: the one row of the temp table
    ``sparkify_scope_since`` (``scope_since.sql``) on ``wh``'s connection; None when nothing can change."""
    _, rows = wh.query("select start_time from sparkify_scope_since")
    return rows[0][0] if rows else None


@cache
def _read(folder: str, name: str) -> str | None:
    path = resources.files("sparkify.sql").joinpath(folder, f"{name}.sql")
    return path.read_text(encoding="utf-8") if path.is_file() else None


def names() -> list[str]:
    """The statement names in ``default/`` (not the parts they include, whose names start with ``_``)."""
    folder = resources.files("sparkify.sql").joinpath("default")
    return sorted(
        p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql") and not p.name.startswith("_")
    )


def load(name: str, search: tuple[str, ...], macros: dict[str, str]) -> str:
    """The text of statement ``name`` for an engine whose folders are ``search`` (most specific first),
    its parts included and its macros expanded. Raises KeyError naming a file that is missing (and
    the file that includes it) or a macro the engine does not define; ValueError for a part that
    includes itself."""
    return expand(source(name, search), macros, f"{name}.sql")


def source(name: str, search: tuple[str, ...] = (), including: tuple[str, ...] = ()) -> str:
    """The text of ``name``.sql as ``search`` finds it, each ``@include`` line replaced by its part,
    macros not expanded (what a tool that rewrites the statement reads: ``benchmarks/``);
    ``including``: the files on the way to this one, the statement first. Raises as :func:`load`."""
    for folder in (*search, "default"):
        text = _read(folder, name)
        if text is not None:
            break
    else:
        by = f" (included by {including[-1]}.sql)" if including else ""
        raise KeyError(f"no SQL file named {name}.sql{by}")

    def part(m: re.Match) -> str:
        if m.group(1) in (*including, name):
            raise ValueError(f"{name}.sql includes {m.group(1)}.sql, which includes it in turn")
        body = source(m.group(1), search, (*including, name))
        if body.startswith("-- (part of") and "\n\n" in body:  # the part's note about itself
            body = body.split("\n\n", 1)[1]
        return body if body.endswith("\n") else body + "\n"

    return INCLUDE.sub(part, text)


def expand(text: str, macros: dict[str, str], where: str = "a statement") -> str:
    """``text`` with each macro ``@name(a, b)`` replaced by ``macros[name].format(a, b)``; a KeyError
    names ``where`` and the macro when ``macros`` lacks it."""

    def one(m: re.Match) -> str:
        template = macros.get(m.group(1))
        if template is None:
            raise KeyError(f"{where} uses macro @{m.group(1)}, which this engine does not define")
        return template.format(*[a.strip() for a in m.group(2).split(",")])

    return MACRO.sub(one, text)
