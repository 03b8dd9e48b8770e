"""The analytics team's named queries and the comparison of their results with expected CSV files.

Each query is one file in ``queries/``: ``NAME.sql``, whose first comment line says what it answers
and whose ``-- order: ordered`` line says its row order is part of the answer (``unordered`` results
are compared as sets). Queries are portable SQL over the star tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import difflib
import io
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sparkify.errors import ConfigError, SparkifyError

FLOAT_TOLERANCE = 1e-9
"""Relative tolerance for floating-point values when comparing with expected results."""


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    ordered: bool
    sql: str


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple]


@lru_cache(maxsize=1)
def catalog() -> dict[str, Query]:
    """Every query, by name, in name order."""
    folder = resources.files("sparkify.analytics").joinpath("queries")
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".sql"):
            continue
        text = entry.read_text(encoding="utf-8")
        header = []
        for line in text.splitlines():
            if not line.startswith("--"):
                break
            header.append(line[2:].strip())
        ordered = any(h.lower() == "order: ordered" for h in header)
        # the description is every header line before the "order:" line, joined
        words = []
        for h in header:
            if h.lower().startswith("order:"):
                break
            words.append(h)
        description = " ".join(words)
        name = entry.name[:-4]
        out[name] = Query(name, description, ordered, text)
    return out


def select(names: tuple[str, ...] | list[str]) -> list[Query]:
    """The queries named (all when none), or a ConfigError with a did-you-mean."""
    cat = catalog()
    if not names:
        return list(cat.values())
    chosen = []
    for n in names:
        if n not in cat:
            close = difflib.get_close_matches(n, list(cat), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"No analytics query named {n!r}.{hint} See `sparkify analytics --list`.")
        chosen.append(cat[n])
    return chosen


def run_query(wh, query: Query) -> Result:
    """Run one query on a warehouse; values normalized to int, float, str, date/datetime or None."""
    columns, rows = wh.query(query.sql)
    return Result(list(columns), [tuple(_normalize(v) for v in row) for row in rows])


def _normalize(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_csv(result: Result) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_text(v) for v in row])
    return buf.getvalue()


def to_json(query: Query, result: Result) -> str:
    rows = [
        {c: (v if isinstance(v, (int, float, str)) or v is None else _text(v)) for c, v in zip(result.columns, row)}
        for row in result.rows
    ]
    return json.dumps({"query": query.name, "description": query.description, "rows": rows}, ensure_ascii=False)


def _same(actual: Any, expected: str) -> bool:
    if actual is None:
        return expected == ""
    if isinstance(actual, bool):
        return str(actual).lower() == expected.lower()
    if isinstance(actual, int):
        try:
            return int(expected) == actual
        except ValueError:
            return False
    if isinstance(actual, float):
        try:
            exp = float(expected)
        except ValueError:
            return False
        return math.isclose(actual, exp, rel_tol=FLOAT_TOLERANCE, abs_tol=0.0) or actual == exp
    return _text(actual) == expected


def compare(result: Result, expected_csv: Path, *, ordered: bool | None = None, query: Query | None = None) -> str:
    """Compare a result with an expected CSV. Returns "" when they agree, else a readable diff.

    Integers and text must be equal; floats within :data:`FLOAT_TOLERANCE` (relative). Rows are
    compared in order when the query orders, as sorted lists otherwise.
    """
    path = Path(expected_csv)
    if not path.is_file():
        raise ConfigError(f"Expected result {path} does not exist.")
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    if not table:
        return f"{path} is empty (it needs a header row)."
    header, expected_rows = table[0], [row for row in table[1:] if row]  # a blank line is no row
    if header != result.columns:
        return f"columns differ: expected {header}, got {result.columns}"
    is_ordered = ordered if ordered is not None else (query.ordered if query else True)
    actual_rows = list(result.rows)
    if not is_ordered:
        actual_rows = sorted(actual_rows, key=lambda r: [_text(v) for v in r])
        expected_rows = sorted(expected_rows)
    problems = []
    if len(actual_rows) != len(expected_rows):
        problems.append(f"row count differs: expected {len(expected_rows)}, got {len(actual_rows)}")
    for i, (a, e) in enumerate(zip(actual_rows, expected_rows), 1):
        if len(e) != len(a) or not all(_same(av, ev) for av, ev in zip(a, e)):
            problems.append(f"row {i}: expected {e}, got {[_text(v) for v in a]}")
    if not problems:
        return ""
    shown = problems[:20]
    more = [f"... and {len(problems) - 20} more differences"] if len(problems) > 20 else []
    return "\n".join(f"  {p}" for p in shown + more)
