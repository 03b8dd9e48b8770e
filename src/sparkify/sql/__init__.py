"""SQL files: ``default/`` is portable; ``<engine>/`` holds a file only where that engine differs.

A file may use macros that each engine defines as data (``Warehouse.macros``), e.g.
``@ts_to_timestamp(e.ts)``; :func:`load` expands them.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

MACRO = re.compile(r"@(\w+)\(([^()]*)\)")

FULL_SCOPE = {
    "scoped": "{0}",
    "id_offset": "0",
    "since": "true",
}
"""The transform's scope macros for a full build: ``@scoped(staging_events, users)`` reads the whole
table named first; ``@id_offset(songplays)`` numbers ids from 1; ``@since(p.start_time)`` is true
(every play counts)."""

INCREMENTAL_SCOPE = {
    "scoped": "sparkify_scope_{1}",
    "since": "{0} >= (select start_time from sparkify_scope_since)",
}
"""For an incremental transform (and the checks after it): ``@scoped(table, name)`` reads the temp
table ``sparkify_scope_<name>`` that ``scope_<name>.sql`` filled with the rows the changed ones can
affect; ``@since(col)`` is true for the instants the run rebuilt (from ``sparkify_scope_since`` on);
``@id_offset`` is the number of plays kept, bound by the pipeline."""


@cache
def _read(folder: str, name: str) -> str | None:
    path = resources.files("sparkify.sql").joinpath(folder, f"{name}.sql")
    return path.read_text(encoding="utf-8") if path.is_file() else None


def names() -> list[str]:
    """The statement names in ``default/``."""
    folder = resources.files("sparkify.sql").joinpath("default")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql"))


def load(name: str, search: tuple[str, ...], macros: dict[str, str]) -> str:
    """The text of statement ``name`` for an engine whose folders are ``search`` (most specific first),
    with its macros expanded."""
    for folder in (*search, "default"):
        text = _read(folder, name)
        if text is not None:
            break
    else:
        raise KeyError(f"no SQL file named {name}.sql")

    def expand(m: re.Match) -> str:
        template = macros.get(m.group(1))
        if template is None:
            raise KeyError(f"{name}.sql uses macro @{m.group(1)}, which this engine does not define")
        return template.format(*[a.strip() for a in m.group(2).split(",")])

    return MACRO.sub(expand, text)
