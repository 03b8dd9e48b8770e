"""What the stand-in does to each SQL text before PostgreSQL sees it: refuse what Redshift refuses,
turn Redshift-only DDL into its PostgreSQL equivalent, point Redshift's system views and functions at
the stand-in's own schema, and recognize the statements it handles itself (COPY, TRUNCATE).

Statements are matched on a *masked* copy of the text (string literals, quoted identifiers and
comments blanked out, same length), so a word inside a literal never triggers a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCHEMA = "sparkify_standin"
"""The schema on the backing PostgreSQL that holds the stand-in's system tables and functions."""

MAX_VARCHAR = 65535
"""Redshift's largest VARCHAR, in bytes.
https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html"""

TEXT_LENGTH = 256
"""Redshift stores TEXT as VARCHAR(256).
https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html"""

SYSTEM_NAMES = (
    "stl_load_errors",
    "stl_load_commits",
    "sys_load_error_detail",
    "sys_load_detail",
    "sys_load_history",
)
SYSTEM_FUNCTIONS = (
    "pg_last_copy_count",
    "pg_last_copy_id",
    # Redshift's own date and text functions, as the catalog defines them (catalog.py)
    "trunc",
    "convert_timezone",
    "dateadd",
    "datediff",
    "len",
    "decode",
    "nvl2",
)


class Refused(Exception):
    """Redshift refuses this statement: ``sqlstate`` and the message it gives."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


@dataclass
class Statement:
    """One client statement as the stand-in sees it.

    ``kind``: "copy" (a COPY from S3, handled by the stand-in), "truncate", "refused" or "plain";
    ``text``: what PostgreSQL runs instead; ``copy_text``: the original COPY (for ``kind == "copy"``);
    ``search_path``: the schemas of a ``set search_path``, if the statement is one.
    """

    kind: str
    text: str
    copy_text: str | None = None
    search_path: list[str] | None = None
    refusal: Refused | None = field(default=None, repr=False)


def mask(sql: str, *, literals: bool = True) -> str:
    """``sql`` with the insides of '...', "...", $tag$...$tag$ and comments replaced by spaces
    (quote characters kept), same length and positions. ``literals=False`` blanks comments only."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif c == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = " " * (j - i)
            i = j
        elif c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # doubled quote
                        j += 2
                        continue
                    break
                j += 1
            if literals:
                out[i + 1 : j] = " " * (j - i - 1)
            i = j + 1
        elif c == "$":
            m = re.match(r"\$[A-Za-z_]?\w*\$", sql[i:])
            if m:
                tag = m.group(0)
                j = sql.find(tag, i + len(tag))
                j = n if j < 0 else j
                if literals:
                    out[i + len(tag) : j] = " " * (j - i - len(tag))
                i = j + len(tag)
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raise_statement(sqlstate: str, message: str) -> str:
    """A statement PostgreSQL answers with exactly this error (and so aborts the open transaction,
    as Redshift does: https://docs.aws.amazon.com/redshift/latest/dg/r_BEGIN.html)."""
    return (
        "do $sparkify_standin$ begin raise exception using message = "
        f"{literal(message)}, errcode = {literal(sqlstate)}; end $sparkify_standin$"
    )


# -- what Redshift refuses ------------------------------------------------------------------------

REFUSALS: list[tuple[re.Pattern, str, str]] = [
    # INSERT has no ON CONFLICT clause. https://docs.aws.amazon.com/redshift/latest/dg/r_INSERT_30.html
    (re.compile(r"\bon\s+conflict\b"), "42601", 'syntax error at or near "on"'),
    # Advisory lock functions are among the unsupported PostgreSQL functions.
    # https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-functions.html
    (
        re.compile(r"\b(pg_(?:try_)?advisory(?:_xact)?_(?:un)?lock(?:_shared|_all)?)\s*\("),
        "42883",
        "function {0}(bigint) does not exist",
    ),
    # No UNLOGGED tables. https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
    (
        re.compile(r"\bcreate\s+(?:(?:global|local)\s+)?unlogged\b"),
        "42601",
        'syntax error at or near "unlogged"',
    ),
    # Arrays are unsupported data types.
    # https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-datatypes.html
    (re.compile(r"\w\s*\[\s*\]|\barray\s*\["), "0A000", "Array types are not supported by Redshift"),
    # Indexes, RETURNING: unsupported PostgreSQL features.
    # https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html
    (re.compile(r"\bcreate\s+(?:unique\s+)?index\b"), "0A000", "CREATE INDEX is not supported"),
    (re.compile(r"\breturning\b"), "42601", 'syntax error at or near "returning"'),
    # COPY reads Amazon S3, EMR, DynamoDB or SSH hosts, never the client.
    # https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html
    (re.compile(r"^\s*copy\b[^;]*\bfrom\s+stdin\b"), "0A000", "COPY from STDIN is not supported"),
]

# Redshift's collations are case_sensitive and case_insensitive only (a PostgreSQL collation such
# as "C" does not exist there). https://docs.aws.amazon.com/redshift/latest/dg/r_collation_function.html
COLLATE = re.compile(r"\bcollate\s+(\"\s*\"|\w+)")

VARCHAR = re.compile(r"\b(?:varchar|character\s+varying|nvarchar)\s*\(\s*(\d+|max)\s*\)")


def refusal(masked_lower: str, original: str) -> Refused | None:
    for pattern, sqlstate, message in REFUSALS:
        m = pattern.search(masked_lower)
        if m:
            return Refused(sqlstate, message.format(*(g for g in m.groups() if g)))
    for m in COLLATE.finditer(masked_lower):
        name = original[m.start(1) : m.end(1)].strip('"').lower()
        if name not in ("case_sensitive", "case_insensitive"):
            return Refused(
                "42704", f'collation "{original[m.start(1) : m.end(1)].strip(chr(34))}" does not exist'
            )
    for m in VARCHAR.finditer(masked_lower):
        if m.group(1) != "max" and int(m.group(1)) > MAX_VARCHAR:
            return Refused("22023", f"length for type varchar cannot exceed {MAX_VARCHAR}")
    return None


# -- Redshift DDL -> PostgreSQL DDL ---------------------------------------------------------------

# Distribution, sort keys, BACKUP and column ENCODE shape storage only: accepted and dropped.
# https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
STORAGE_ATTRIBUTES = re.compile(
    r"\bdiststyle\s+(?:all|even|auto|key)\b"
    r"|\b(?:compound\s+|interleaved\s+)?sortkey\s*(?:\([^()]*\)|\bauto\b)?"
    r"|\bdistkey\s*(?:\([^()]*\))?"
    r"|\bencode\s+\w+"
    r"|\bbackup\s+(?:yes|no)\b"
)

# IDENTITY(seed, step) and GENERATED BY DEFAULT AS IDENTITY(seed, step): Redshift generates the
# values; a plain IDENTITY column takes no explicit value (PostgreSQL's GENERATED ALWAYS).
# https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
IDENTITY = re.compile(r"\b(generated\s+by\s+default\s+as\s+)?identity\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)")

COLUMN_TYPE = re.compile(
    r"(\"[^\"]*\"|\b[a-z_]\w*)\s+(varchar|character\s+varying|nvarchar|text)\b\s*(?:\(\s*(\d+|max)\s*\))?"
)

CREATE_TABLE = re.compile(r"^\s*create\s+(?:(?:temp|temporary|local\s+temp|local\s+temporary)\s+)?table\b")


def _rewrite_create_table(sql: str, masked: str) -> str:
    low = masked.lower()
    if " as " in re.sub(r"\s+", " ", low) and "(" not in low.split(" as ", 1)[0]:
        return sql  # CREATE TABLE ... AS: no column definitions
    edits: list[tuple[int, int, str]] = []
    for m in STORAGE_ATTRIBUTES.finditer(low):
        edits.append((m.start(), m.end(), ""))
    for m in IDENTITY.finditer(low):
        seed, step = int(m.group(2)), int(m.group(3))
        how = "by default" if m.group(1) else "always"
        edits.append(
            (
                m.start(),
                m.end(),
                f"generated {how} as identity (start with {seed} increment by {step} minvalue {min(seed, 1)})",
            )
        )
    for m in COLUMN_TYPE.finditer(low):
        column = sql[m.start(1) : m.end(1)]
        if column.lower() in ("table", "create", "exists", "not"):
            continue
        size = m.group(3)
        n = TEXT_LENGTH if m.group(2) == "text" else (MAX_VARCHAR if size in (None, "max") else int(size))
        if m.group(2) != "text" and size is None:
            n = TEXT_LENGTH  # VARCHAR without a length is VARCHAR(256)
        # VARCHAR lengths are bytes, not characters: a check on octet_length models that.
        # https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html
        edits.append(
            (
                m.start(2),
                m.end(),
                f"varchar({n}) check (octet_length({column}) <= {n})",
            )
        )
    return _apply(sql, edits)


def _apply(sql: str, edits: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, text in sorted(edits):
        if start < last:
            continue
        out.append(sql[last:start])
        out.append(text)
        last = end
    out.append(sql[last:])
    return "".join(out)


SYSTEM = re.compile(r"(?<![.\w])(" + "|".join(SYSTEM_NAMES) + r")\b")
FUNCTIONS = re.compile(r"(?<![.\w])(" + "|".join(SYSTEM_FUNCTIONS) + r")\s*\(")
DATEPART_ARG = re.compile(r"(?<![.\w])(?:dateadd|datediff|date_part)\s*\(\s*([a-z_]+)\s*,")
"""DATEADD/DATEDIFF/DATE_PART take their date part as a bare word (``dateadd(day, -7, ts)``), which
PostgreSQL would read as a column: it is passed as text.
https://docs.aws.amazon.com/redshift/latest/dg/r_DATEADD_function.html
https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_PART_function.html"""
TOP = re.compile(r"^\s*select\s+(top\s+(\d+))\s")
"""SELECT TOP n ...: Redshift's LIMIT, on the statement's outer SELECT (the one form modelled).
https://docs.aws.amazon.com/redshift/latest/dg/r_TOP_clause.html"""
NVL = re.compile(r"(?<![.\w])(nvl)\s*\(")
"""NVL is COALESCE: https://docs.aws.amazon.com/redshift/latest/dg/r_NVL_function.html"""
SEARCH_PATH = re.compile(r"^\s*set\s+(?:session\s+)?search_path\s*(?:to|=)\s*(.+?)\s*;?\s*$", re.S)


def classify(sql: str) -> Statement:
    """What the stand-in does with one client SQL text (see :class:`Statement`)."""
    masked = mask(sql)
    low = masked.lower()
    refused = refusal(low, sql)
    if refused:
        return Statement("refused", raise_statement(refused.sqlstate, refused.message), refusal=refused)
    stripped = low.strip()
    if re.match(r"^copy\b", stripped) and re.search(r"\bfrom\s+'", low):
        return Statement(
            "copy",
            f"do $sparkify_copy$ begin perform {SCHEMA}.run_copy(); end $sparkify_copy$",
            copy_text=sql,
        )
    edits = [(m.start(1), m.end(1), f"{SCHEMA}.{m.group(1)}") for m in SYSTEM.finditer(low)]
    edits += [(m.start(1), m.end(1), f"{SCHEMA}.{m.group(1)}") for m in FUNCTIONS.finditer(low)]
    edits += [(m.start(1), m.end(1), f"'{m.group(1)}'") for m in DATEPART_ARG.finditer(low)]
    edits += [(m.start(1), m.end(1), "coalesce") for m in NVL.finditer(low)]
    top = TOP.match(low)
    if top:
        edits.append((top.start(1), top.end(1), ""))
        end = len(sql.rstrip().rstrip(";"))
        edits.append((end, end, f"\nlimit {top.group(2)}"))
    text = _apply(sql, edits)
    if CREATE_TABLE.match(low):
        text = _rewrite_create_table(text, mask(text))
    if re.match(r"^truncate\b", stripped):
        return Statement("truncate", text)
    m = SEARCH_PATH.match(sql) if re.match(r"^set\s+(session\s+)?search_path\b", stripped) else None
    if m:
        names = [p.strip().strip('"').replace('""', '"') for p in m.group(1).split(",")]
        return Statement("plain", text, search_path=names)
    return Statement("plain", text)
