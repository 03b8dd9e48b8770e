"""SQL text built from values: the one identifier-quoting function and the one string literal.

Statements bind values as parameters wherever the driver allows; these two serve the places it
cannot (DDL, ``COPY`` options, DuckDB's ``read_json`` arguments, ``sparkify sql``'s listing).
"""

from __future__ import annotations


def quote(identifier: str) -> str:
    """The one identifier-quoting function: double quotes, embedded quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a standard SQL string literal: single quotes, embedded quotes doubled. Valid in
    DuckDB, PostgreSQL and Redshift (none of them treats a backslash specially in ``'...'``)."""
    return "'" + text.replace("'", "''") + "'"
