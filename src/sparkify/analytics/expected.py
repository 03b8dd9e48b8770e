"""A query's result against its expected CSV file: the rules, the readable diff, the file format.

Expected files are what :func:`to_csv` writes (``--save-expected``): a header row of column names;
ints as digits; floats as ``repr``; dates ISO (``2018-11-01``), timestamps ``2018-11-01 20:57:10.796``;
booleans ``true``/``false``; NULL as an empty field, and an empty text as a quoted empty field
(``""``), as PostgreSQL's CSV does, so the two never match each other. (Files saved before wrote an
empty text as an empty field: read now as NULL, such a value shows as a difference until saved again.)

Order: rows are compared in order only where the query orders them. Rows that tie on every ORDER BY
column may come in any order (engines break ties differently), so each run of tied rows is compared
as a multiset, and the diff says so. A result whose order the query leaves open is compared as a
multiset: the diff lists the rows missing and the rows unexpected, with their counts.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkify.errors import ConfigError
from sparkify.wording import plural

if TYPE_CHECKING:
    from sparkify.analytics import Query, Result

FLOAT_TOLERANCE = 1e-9
"""Relative tolerance for floating-point values when comparing with expected results."""

SHOWN = 20
"""Differences listed in a diff before the rest are counted."""


def text(value: Any) -> str:
    """A value as the expected files write it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # every digit, never an exponent: 0.10, 12345678901234567890.12
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_csv(result: Result) -> str:
    """The result as an expected file: header row, then one line per row. NULL is an empty field
    (in a result of one column, an empty line), an empty text a quoted one (``""``); a field holding
    a comma, quote or line break is quoted."""
    lines = [",".join(_csv_field(c) for c in result.columns)]
    lines += [",".join("" if v is None else _csv_field(text(v)) for v in row) for row in result.rows]
    return "".join(line + "\n" for line in lines)


def _csv_field(value: str) -> str:
    if value == "" or any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def read_csv(content: str) -> list[list[str | None]]:
    """The rows of a CSV text (RFC 4180: quoted fields may hold commas, doubled quotes and line
    breaks), each field its text -- or None for an empty field that is not quoted (NULL in the
    expected files; ``""`` is an empty text). A blank line is an empty list: no row, except in a
    file of one column, where it is that column's NULL (:func:`to_csv` writes one so). (The csv module's reader
    cannot tell a quoted empty field from an empty one before Python 3.12's ``QUOTE_NOTNULL``.)"""
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    field, quoted, in_quotes, i, n = "", False, False, 0, len(content)
    while i < n:
        ch = content[i]
        if in_quotes:
            if ch == '"':
                if i + 1 < n and content[i + 1] == '"':
                    field += '"'
                    i += 1
                else:
                    in_quotes = False
            else:
                field += ch
        elif ch == '"':
            in_quotes = quoted = True
        elif ch == ",":
            row.append(field if field or quoted else None)
            field, quoted = "", False
        elif ch in "\r\n":
            if ch == "\r" and i + 1 < n and content[i + 1] == "\n":
                i += 1
            if row or field or quoted:
                row.append(field if field or quoted else None)
            rows.append(row)
            row, field, quoted = [], "", False
        else:
            field += ch
        i += 1
    if row or field or quoted:
        row.append(field if field or quoted else None)
        rows.append(row)
    return rows


def _texts(result: Result) -> list[list[str | None]]:
    """The result's rows as the expected files read back: each value's text, None for NULL."""
    return [[None if v is None else text(v) for v in row] for row in result.rows]


def _order_key(row) -> tuple:
    """A sort key for a row of field texts, NULLs (None) first."""
    return tuple((x is not None, x or "") for x in row)


def _shown(row) -> str:
    """A row of field texts for a diff: ``['Muse', NULL, '']``."""
    return "[" + ", ".join("NULL" if x is None else repr(x) for x in row) + "]"


def iso_duration(value: dt.timedelta) -> str:
    """An interval as ISO 8601 (``P1DT2H3M4.5S``, ``-PT0.25S``, ``PT0S``): days, hours, minutes and
    seconds, as the drivers give them (a month is 30 days by then)."""
    micros = abs(value) // dt.timedelta(microseconds=1)
    days, micros = divmod(micros, 86_400_000_000)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds = f"{micros / 1_000_000:.6f}".rstrip("0").rstrip(".")
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    clock += f"{seconds}S" if micros or not (days or clock) else ""
    return (
        ("-" if value < dt.timedelta(0) else "")
        + "P"
        + (f"{days}D" if days else "")
        + (f"T{clock}" if clock else "")
    )


def unique_names(columns: list[str]) -> list[str]:
    """``columns`` with each repeated name made unique by the first free suffix (``count``, ``count_1``,
    ``count_2``), never one of the result's own names: a JSON object keeps one value per key, and
    ``select count(*), count(distinct x)`` names both columns ``count``."""
    taken, seen, out = set(columns), set(), []
    for name in columns:
        key, n = name, 0
        while key in seen or (key != name and key in taken):
            n += 1
            key = f"{name}_{n}"
        seen.add(key)
        out.append(key)
    return out


def to_json(query: Query, result: Result) -> str:
    """One JSON object on one line: the query's name, description, columns (the names as the result
    gives them) and rows (objects by column; a name the result gives twice is a key once, the second
    ``count_1``, see :func:`unique_names`).
    Strict RFC 8259: a decimal keeps every digit; NaN and infinities (which JSON has no number for)
    are the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; a list, struct, map or json value is a
    JSON array or object; an interval is an ISO 8601 duration (:func:`iso_duration`); a date or
    timestamp is ISO 8601 text as in the expected files (:func:`text`)."""
    numbers: dict[str, str] = {}  # a decimal is a JSON number with all its digits: a stand-in, then its text
    token = uuid.uuid4().hex  # no value of the result can spell it

    def value(v: Any) -> Any:
        if isinstance(v, decimal.Decimal) and v.is_finite():
            mark = f"{token}:{len(numbers)}"
            numbers[json.dumps(mark)] = text(v)
            return mark
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")  # no JSON number
        if isinstance(v, (list, tuple)):  # a LIST or ARRAY value
            return [value(x) for x in v]
        if isinstance(v, dict):  # a STRUCT, MAP or json/jsonb value
            return {k if isinstance(k, str) else text(k): value(x) for k, x in v.items()}
        if isinstance(v, dt.timedelta):
            return iso_duration(v)
        return v if isinstance(v, (int, float, str)) or v is None else text(v)

    keys = unique_names(result.columns)
    rows = [{k: value(v) for k, v in zip(keys, row)} for row in result.rows]
    out = json.dumps(
        {
            "query": query.name,
            "description": query.description,
            "columns": list(result.columns),
            "rows": rows,
        },
        ensure_ascii=False,
    )
    for mark, digits in numbers.items():
        out = out.replace(mark, digits, 1)
    return out


def save_expected(result: Result, folder: Path | str, name: str, *, query: Query | None = None) -> Path:
    """Write ``folder/NAME.csv`` (folder created, file replaced) for a later ``--expected`` run.

    A result whose order ``query`` leaves open is written sorted by value (NULLs last), so pinning
    the same answer twice writes the same file.
    """
    from sparkify.analytics import Result as _Result

    if not order_of(result, query, None)[0]:
        key = lambda row: tuple((v is None, v if v is not None else 0) for v in row)  # noqa: E731
        result = _Result(result.columns, sorted(result.rows, key=key))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    path.write_text(to_csv(result), encoding="utf-8", newline="")
    return path


DOUBLE_DIGITS = 15
"""Significant digits from which an expected decimal text is taken for a double's (which carries 15
to 17): its last digit may then be one unit off another engine's numeric."""


def same(actual: Any, expected: str | None) -> bool:
    """Does a value equal its expected text? Ints and text exactly; floats within
    :data:`FLOAT_TOLERANCE` (relative); timestamps as instants (``.796`` is ``.796000``); decimals within one unit of the expected text's last digit (inclusive for a double's 15 or more digits); NULL
    only an unquoted empty field (None), and only it."""
    if actual is None or expected is None:
        return actual is None and expected is None
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
    if isinstance(actual, dt.datetime):
        # as Redshift prints it (2018-11-01 21:01:46.796) or with every digit (...46.796000): one instant
        try:
            return dt.datetime.fromisoformat(expected.strip()) == actual
        except ValueError:
            return False
    if isinstance(actual, dt.date):
        return text(actual) == expected
    if isinstance(actual, decimal.Decimal):
        # exact to the last digit the expected text writes: 10000000009.99 is not 10000000000.00
        # (a relative tolerance would pass it); 0.6666666666666666, written from a double, is the
        # numeric 0.66666666666666666667 another engine computes
        try:
            exp_dec = decimal.Decimal(expected.strip())
        except decimal.InvalidOperation:
            return False
        if not exp_dec.is_finite():
            return False
        exponent = exp_dec.as_tuple().exponent
        unit = decimal.Decimal(1).scaleb(exponent) if isinstance(exponent, int) and exponent < 0 else 0
        if actual == exp_dec or abs(actual - exp_dec) < unit:
            return True
        # a text of a double's length (15 or more digits) may end one unit off the numeric another
        # engine rounds: 2.6470588235294117 (the nearest double) is the numeric 2.6470588235294118
        return len(exp_dec.as_tuple().digits) >= DOUBLE_DIGITS and abs(actual - exp_dec) <= unit
    return text(actual) == expected


def order_of(result: Result, query: Query | None, ordered: bool | None) -> tuple[bool, list[int] | None]:
    """(compared in order, the ORDER BY columns whose ties are compared as multisets, if known)."""
    if ordered is not None:
        return ordered, None
    if query is None:
        return True, None
    if query.ordered is not None:
        return query.ordered, None
    from sparkify.analytics.dialect import ordering

    return ordering(query.sql, query.dialect, result.columns)


def compare(
    result: Result, expected_csv: Path, *, ordered: bool | None = None, query: Query | None = None
) -> str:
    """Compare a result with an expected CSV. Returns "" when they agree, else a readable diff.

    ``ordered`` forces the rule; otherwise ``query`` decides (its header, else its ORDER BY), and
    with neither rows are compared in order. Raises ConfigError (exit 2) when the file does not exist.
    """
    path = Path(expected_csv)
    if not path.is_file():
        raise ConfigError(f"Expected result {path} does not exist.")
    table = read_csv(path.read_text(encoding="utf-8"))
    while table and not table[0]:  # blank lines before the header
        table.pop(0)
    if not table:
        return f"{path} is empty (it needs a header row)."
    header = [h or "" for h in table[0]]
    # a blank line: one column's NULL, or (with more columns) no row at all
    expected_rows = [row or [None] for row in table[1:] if row or len(header) == 1]
    if header != result.columns:
        return f"columns differ: expected {header}, got {result.columns}"
    is_ordered, keys = order_of(result, query, ordered)
    actual_rows = _texts(result)
    if not is_ordered:
        return _multiset_diff(result.rows, actual_rows, expected_rows)
    notes = []
    if keys:
        actual_sorted, _ = _ties_sorted(result.rows, actual_rows, keys)
        expected_sorted, ties = _ties_sorted(None, expected_rows, keys)
        names = ", ".join(result.columns[k] for k in keys)
        notes = [f"rows {a}-{b} tie on ({names}): compared in any order" for a, b in ties]
        pairs = list(zip(actual_sorted, expected_sorted))
    else:
        pairs = list(zip(zip(result.rows, actual_rows), expected_rows))
    problems = []
    if len(actual_rows) != len(expected_rows):
        problems.append(f"row count differs: expected {len(expected_rows)}, got {len(actual_rows)}")
    for i, ((values, shown), e) in enumerate(pairs, 1):
        if len(e) != len(values) or not all(same(v, ev) for v, ev in zip(values, e)):
            problems.append(f"row {i}: expected {_shown(e)}, got {_shown(shown)}")
    if not problems:
        return ""
    return _listing(problems + notes if len(problems) <= SHOWN else problems)


def _ties_sorted(values, shown: list[list[str | None]], keys: list[int]):
    """The rows with each run of rows equal on ``keys`` sorted by their text (so two engines' tie
    orders compare equal), and the runs longer than one row as (first, last) row numbers."""
    rows = list(zip(values, shown)) if values is not None else shown
    as_text = (lambda r: r[1]) if values is not None else (lambda r: r)
    out, ties, i = [], [], 0
    while i < len(rows):
        j = i + 1
        while j < len(rows) and [as_text(rows[j])[k] for k in keys] == [as_text(rows[i])[k] for k in keys]:
            j += 1
        run = sorted(rows[i:j], key=lambda r: _order_key(as_text(r)))
        out.extend(run)
        if j - i > 1:
            ties.append((i + 1, j))
        i = j
    return out, ties


def _multiset_diff(
    values: list[tuple], actual: list[list[str | None]], expected: list[list[str | None]]
) -> str:
    # sort both by text and compare pairwise (floats within the tolerance); on a difference, list
    # what is missing and what is unexpected by exact text, with counts
    pairs = sorted(zip(values, actual), key=lambda p: _order_key(p[1]))
    exp_sorted = sorted(expected, key=_order_key)
    if len(pairs) == len(exp_sorted) and all(
        len(e) == len(v) and all(same(x, ex) for x, ex in zip(v, e)) for (v, _), e in zip(pairs, exp_sorted)
    ):
        return ""
    got, want = Counter(map(tuple, actual)), Counter(map(tuple, expected))
    lines = ["rows compared as a multiset (the query has no ORDER BY)"]
    if len(actual) != len(expected):
        lines.append(f"row count differs: expected {len(expected)}, got {len(actual)}")
    for label, counts in (("missing", want - got), ("unexpected", got - want)):
        for row, n in sorted(counts.items(), key=lambda kv: _order_key(kv[0])):
            lines.append(f"{label}: {_shown(row)}" + (f" (x{n})" if n > 1 else ""))
    return _listing(lines)


def _listing(lines: list[str]) -> str:
    shown = lines[:SHOWN]
    more = [f"... and {len(lines) - SHOWN} more differences"] if len(lines) > SHOWN else []
    return "\n".join(f"  {p}" for p in shown + more)


def note(result: Result, query: Query | None) -> str:
    """What a match rests on, when it is more than rows in order: "" or e.g. ``in any order``."""
    if len(result.rows) <= 1:
        return ""
    is_ordered, keys = order_of(result, query, None)
    if not is_ordered:
        return "in any order: the query has no ORDER BY"
    if keys:
        _, ties = _ties_sorted(None, _texts(result), keys)
        if ties:
            return f"{plural(len(ties), 'run')} of tied rows compared in any order"
    return ""


@dataclass(frozen=True)
class Match:
    """One query's result held against its expected file (``--expected``)."""

    name: str
    """The query's name."""
    path: Path
    """The expected file, ``DIR/NAME.csv``."""
    rows: int
    """Rows in the result."""
    diff: str
    """The readable diff (:func:`compare`); "" when the result matches."""
    note: str
    """When it matches: what the match rests on beyond rows in order (:func:`note`), else ""."""

    @property
    def matches(self) -> bool:
        return not self.diff


def check(result: Result, folder: Path | str, query: Query) -> Match:
    """Hold ``result`` of ``query`` against ``folder/NAME.csv``. Raises ConfigError when the file
    does not exist."""
    path = Path(folder) / f"{query.name}.csv"
    diff = compare(result, path, query=query)
    return Match(query.name, path, len(result.rows), diff, "" if diff else note(result, query))


def require_files(folder: Path | str, queries: list[Query], *, every_query: bool, say=None) -> None:
    """Raise ConfigError, before any query runs, when ``folder`` does not exist or lacks the
    ``NAME.csv`` of one of ``queries`` (naming every missing one). With ``every_query`` (the whole
    catalog runs), ``say`` is told of each ``.csv`` there that names no query: it is not compared."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"Expected results folder {folder} does not exist (--expected DIR).")
    missing = [q.name for q in queries if not (folder / f"{q.name}.csv").is_file()]
    if missing:
        raise ConfigError(
            f"{folder} has no expected result for {', '.join(missing)} (NAME.csv each): write them with "
            "--save-expected DIR, or name only the queries that have one."
        )
    if every_query and say is not None:
        names = {q.name for q in queries}
        for path in sorted(folder.glob("*.csv")):
            if path.stem not in names:
                say(f"{path} names no query: not compared.", markup=False)


def require_all_match(matches: list[Match]) -> None:
    """Raise :class:`~sparkify.errors.CheckFailed` naming each query whose result differs
    (``1 of 6 analytics results differ: top_songs``); return when every one matches."""
    failures = [m.name for m in matches if not m.matches]
    if failures:
        from sparkify.errors import CheckFailed

        raise CheckFailed(
            f"{len(failures)} of {len(matches)} analytics results differ: {', '.join(failures)}"
        )
