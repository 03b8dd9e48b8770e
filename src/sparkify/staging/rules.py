"""The record rules: how a file becomes records, and a record a staging row or a rejected record.

These are the rules of ``docs/CONTRACT.md`` ("Records"), in one place. The reader's precise path
applies them in Python, record by record; its fast path (DuckDB) stages a file only when every record
in it passes :func:`fast_ok_sql`, a stricter test that accepts nothing these rules would reject or
type differently. So a record's fate is a function of that record alone, whichever path reads it.

Framing (how a file's bytes become records) is :mod:`sparkify.staging.framing`; this module types
them and holds the fast path's test.

Typing: strict RFC 8259 JSON (no ``NaN``/``Infinity``, comments, trailing commas, duplicate keys or
lone surrogate escapes); each field is typed as :func:`type_record` says.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sparkify.quoting import literal
from sparkify.schema import (
    FILE_KINDS,
    Column,
    Table,
)
from sparkify.staging.framing import (
    _SURROGATE,
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    _json_kind,
    _Nonstandard,
    storable,
)

MAX_TEXT_BYTES = 65535
"""The longest text value (UTF-8 bytes) every warehouse stores: Redshift's VARCHAR(65535)."""


DOUBLE_MIN = sys.float_info.min
"""The smallest normal DOUBLE (2.2250738585072014e-308). Smaller non-zero values (subnormals) are
refused by Redshift's float8, so the rules reject them on every engine."""

INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
"""The values each integer column type holds (the same on every engine)."""

TABLE_FOR: dict[str, Table] = {name: kind.staging for name, kind in FILE_KINDS.items()}
REQUIRED: dict[str, tuple[str, ...]] = {name: kind.required for name, kind in FILE_KINDS.items()}
RECORD_COLUMNS: dict[str, tuple[Column, ...]] = {name: t.record_columns for name, t in TABLE_FOR.items()}
"""Kind -> the staging columns a record fills (computed once: :func:`type_record` runs per record)."""
KNOWN_KEYS: dict[str, frozenset[str]] = {
    name: frozenset(c.source for c in t.record_columns if c.source is not None)
    for name, t in TABLE_FOR.items()
}
"""Per kind of file, the record keys a staging column takes."""

USER_ID = re.compile(r"[0-9]{0,9}")
"""A userId is a string of digits (at most 9, so it fits an INTEGER) or empty (logged out)."""

DEFAULT_TS_MIN = dt.date(2000, 1, 1)
"""The earliest ``ts`` accepted by default: no Sparkify activity is older."""

DEFAULT_TS_MAX = dt.date(2100, 1, 1)
"""The first day whose ``ts`` is no longer accepted by default."""

_EPOCH = dt.datetime(1970, 1, 1)


def _epoch_ms(day: dt.date) -> int:
    return int((dt.datetime(day.year, day.month, day.day) - _EPOCH).total_seconds()) * 1000


@dataclass(frozen=True)
class RecordRules:
    """The configurable part of the rules: the range of plausible event times.

    ``ts`` is epoch milliseconds (UTC); a value outside ``[ts_min, ts_max)`` cannot be milliseconds of
    real activity and the record is rejected (settings ``ts_min`` / ``ts_max``, ISO dates).
    """

    ts_min: dt.date = DEFAULT_TS_MIN
    ts_max: dt.date = DEFAULT_TS_MAX

    def __post_init__(self) -> None:
        if self.ts_min >= self.ts_max:
            from sparkify.errors import ConfigError

            raise ConfigError(f"ts_min ({self.ts_min}) must be before ts_max ({self.ts_max}).")

    @property
    def ts_min_ms(self) -> int:
        """The smallest accepted ``ts`` (epoch ms, inclusive)."""
        return _epoch_ms(self.ts_min)

    @property
    def ts_max_ms(self) -> int:
        """The first rejected ``ts`` at the top (epoch ms, exclusive)."""
        return _epoch_ms(self.ts_max)

    def applied(self, kind: str) -> str | None:
        """The settings that decide which records of ``kind`` are staged, as recorded in the ledger
        (``load_files.rules``) for each file read under them: ``ts_min=2000-01-01 ts_max=2100-01-01``
        for events; None for songs (no setting applies to them). A file loaded under other settings
        is read again (see :func:`sparkify.pipeline.plan._plan`)."""
        if kind != "events":
            return None
        return f"ts_min={self.ts_min.isoformat()} ts_max={self.ts_max.isoformat()}"

    def ts_problem(self, ts: int) -> str | None:
        """Why ``ts`` (an integer) is not plausible epoch milliseconds, or None when it is. A value
        below the range that reads as a time in it in seconds says so; one above it that does in
        microseconds or nanoseconds says that (a value is never blamed on a unit that makes it
        larger than it is, or smaller)."""
        lo, hi = self.ts_min_ms, self.ts_max_ms
        if lo <= ts < hi:
            return None
        if ts < lo and lo <= ts * 1000 < hi:
            return f"ts {ts} looks like epoch seconds; expected milliseconds"
        if ts >= hi and lo <= ts // 1000 < hi:
            return f"ts {ts} looks like epoch microseconds; expected milliseconds"
        if ts >= hi and lo <= ts // 1_000_000 < hi:
            return f"ts {ts} looks like epoch nanoseconds; expected milliseconds"
        if ts < lo:
            return f"ts {ts} is before {self.ts_min.isoformat()} (the earliest accepted: setting ts_min)"
        return f"ts {ts} is on or after {self.ts_max.isoformat()} (the first refused: setting ts_max)"


DEFAULT_RULES = RecordRules()


# -- typing -----------------------------------------------------------------------------------------


def type_record(
    kind: str, record: dict, rules: RecordRules = DEFAULT_RULES
) -> tuple[dict, tuple[str | None, str] | None]:
    """The staging row (column name -> value) for one record, or the first (field, reason) that stops it.

    Checks, in order: no ``NaN``/``Infinity`` or integer of more than :data:`MAX_NUMBER_DIGITS`
    digits anywhere, no unpaired surrogate in a key no staging column takes; required keys present, not null and not ``""``
    (an empty string is as missing as null); each staging column typed (text: a string, or another
    value's text form; integer/bigint: a JSON integer in range; double: a finite number); text without
    NUL characters or unpaired surrogates and at most :data:`MAX_TEXT_BYTES` bytes; ``userId`` digits
    or empty; ``ts`` plausible (``rules``).
    """
    known = KNOWN_KEYS[kind]
    for key, value in record.items():
        found = _find_nonstandard(value)
        if found is not None:
            return {}, (key, found.reason)
        if key not in known:  # a taken key's text is checked as its column's (_text_problem)
            surrogate = _find_surrogate(key, value)
            if surrogate is not None:
                return {}, (storable(key), _surrogate_reason(surrogate))
    for key in REQUIRED[kind]:
        value = record.get(key)
        if value is None:
            return {}, (key, "required field is missing" if key not in record else "required field is null")
        if value == "":
            return {}, (key, 'required field is empty ("")')
    row: dict[str, Any] = {}
    for c in RECORD_COLUMNS[kind]:
        typed, reason = type_value(c, record.get(c.source))
        if reason:
            return row, (c.source, reason)
        row[c.name] = typed
    if kind == "events":
        uid = row["user_id"]
        if uid is not None and not USER_ID.fullmatch(uid):
            return row, (
                "userId",
                f'expected a string of at most 9 digits or "", got {_show(record.get("userId"))}',
            )
        problem = rules.ts_problem(row["ts"])
        if problem:
            return row, ("ts", problem)
    return row, None


def type_value(column: Column, value: Any) -> tuple[Any, str | None]:
    """(typed value, None) or (None, reason) for one field of a record."""
    if value is None:
        return None, None
    typ = column.type
    if typ == "text":
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            # the number as the file wrote it: "title": 66 is the title '66', 4.50 is '4.50'
            text = getattr(value, "literal", None) or repr(value)
        else:
            # a number beyond DOUBLE inside would be written Infinity: not JSON, and not what the file said
            huge = next((v for v in _walk(value) if isinstance(v, float) and not math.isfinite(v)), None)
            if huge is not None:
                return (
                    None,
                    f"number out of range for DOUBLE inside the {_json_kind(value)[3:]}: {_show(huge)}",
                )
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return _text_problem(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"expected a number, got {_json_kind(value)} {_show(value)}"
    if typ == "double":
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if (
            not math.isfinite(number)
            or (number == 0 and _nonzero_mantissa(value))
            or (number != 0 and abs(number) < DOUBLE_MIN)
        ):
            # too large (inf) or too small: a non-zero number that rounds to 0 (1e-400), which
            # PostgreSQL and Redshift refuse, or a subnormal one (5e-324), which Redshift refuses:
            # every engine rejects them
            return None, f"number out of range for DOUBLE: {_show(value)}"
        return number, None
    if isinstance(value, float):
        return None, f"expected an integer, got {_show(value)}"
    lo, hi = INT_RANGE[typ]
    if not lo <= value <= hi:
        return None, f"integer out of range for {typ.upper()}: {value}"
    return int(value), None


def _nonzero_mantissa(value: Any) -> bool:
    """Whether a JSON number, as the file wrote it, has a digit other than 0 before its exponent."""
    literal = getattr(value, "literal", None) or repr(value)
    return any(ch in "123456789" for ch in literal.lower().split("e", 1)[0])


def _text_problem(text: str) -> tuple[Any, str | None]:
    if "\x00" in text:
        return None, "text holds a NUL character (\\u0000), which PostgreSQL and Redshift cannot store"
    if not text.isascii():
        surrogate = _SURROGATE.search(text)
        if surrogate:
            return None, _surrogate_reason(surrogate.group())
        size = len(text.encode("utf-8")) if len(text) * 4 > MAX_TEXT_BYTES else len(text)
    else:
        size = len(text)
    if size > MAX_TEXT_BYTES:
        return (
            None,
            f"text is {size} bytes; warehouses store at most {MAX_TEXT_BYTES} (Redshift VARCHAR(65535))",
        )
    return text, None


def _surrogate_reason(char: str) -> str:
    return f"text holds an unpaired surrogate \\u{ord(char):04x}, which is not Unicode"


def _walk(value: Any) -> Iterator[Any]:
    """``value`` and every key and value within it, in the order the file wrote them. Without
    recursion: values may nest up to :data:`MAX_DEPTH` levels."""
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        yield v
        if isinstance(v, dict):
            stack.extend(reversed([x for pair in v.items() for x in pair]))
        elif isinstance(v, list):
            stack.extend(reversed(v))


def _find_surrogate(key: str, value: Any) -> str | None:
    """The first unpaired surrogate in ``key`` or in any string (key or value) within ``value``."""
    for v in (key, *_walk(value)):
        if isinstance(v, str) and not v.isascii():
            m = _SURROGATE.search(v)
            if m:
                return m.group()
    return None


def _find_nonstandard(value: Any) -> _Nonstandard | None:
    """The first ``NaN``/``Infinity`` literal or over-long integer (:class:`_Nonstandard`) in ``value``."""
    if not isinstance(value, (dict, list)):
        return value if isinstance(value, _Nonstandard) else None
    return next((v for v in _walk(value) if isinstance(v, _Nonstandard)), None)


def _show(value: Any) -> str:
    literal = getattr(value, "literal", None)
    text = literal or json.dumps(value, ensure_ascii=False, default=lambda v: getattr(v, "text", str(v)))
    return text if len(text) <= 60 else text[:57] + "..."


# -- the fast path's test ---------------------------------------------------------------------------

_DUCKDB_INT = {"integer": "INTEGER", "bigint": "BIGINT"}

_FIRST_CODES_OF_NON_STRING = ", ".join(str(ord(ch)) for ch in "{[-+.0123456789NnIi")
"""The first characters of DuckDB's text for a JSON value that is not a string (a number, NaN,
Infinity, an object or an array): a text value starting otherwise was a string in the file."""


UNICODE_ESCAPE_PATTERN = r"\\u0000|\\u[dD][89abcdefABCDEF]"
"""RE2 over a record's text: a NUL or surrogate escape (the rules decide what it means)."""

TRAILING_COMMA_PATTERN = r",[ \t\r\n]*[}\]]"
"""RE2 over a record's text: a comma before a closing bracket (DuckDB accepts it; RFC 8259 does not)."""

NONSTANDARD_PATTERN = r"[:,\[][ \t\r\n]*[-+]?(?i:nan|inf)"
"""RE2 over a record's text: a NaN or Infinity literal, in any case (DuckDB accepts them)."""


UNDERFLOW_PATTERN = r"[0-9]\.0{20,}|[0-9.][eE]-0*[1-9][0-9]{2,}"
"""RE2 over a record's text: a number that may underflow to 0 (DuckDB reads ``1e-400`` as 0.0 and
re-renders the raw value, so the rules must see its text): a fraction with 20 or more leading zeros
(``0.000...1``) or an exponent of -100 or less. A number matching neither is at least 1e-20 x 1e-99
in size, far from underflow; one that matches and does not underflow only costs its file the precise
path. (An exponent of -300 or less alone let ``0.`` + 400 zeros + ``1`` through as 0.0.)"""


def suspect_sql(json_col: str, complete: str) -> str:
    """SQL (DuckDB) true when a record's text holds something DuckDB and these rules may read
    differently: a NUL or surrogate escape, a trailing comma, or -- in a record with keys beyond the
    staging columns (``complete`` false), where no typed column would show it -- a NaN or Infinity
    literal or a nested object (whose keys must be unique too). (A number that may underflow to 0 matters only in a double column:
    :func:`fast_ok_sql` looks for it there.) False alarms only cost time: the file goes to the
    precise path."""
    return (
        f"case when contains({json_col}, '\\u') then regexp_matches({json_col}, {literal(UNICODE_ESCAPE_PATTERN)}) "
        f"else false end "
        f"or regexp_matches({json_col}, {literal(TRAILING_COMMA_PATTERN)}) "
        f"or case when {complete} then false else regexp_matches({json_col}, {literal(NONSTANDARD_PATTERN)}) "
        # a nested object (in a key no staging column takes) may hold a key twice, which the rules reject
        f"or strpos(substr({json_col}, strpos({json_col}, '{{') + 1), '{{') > 0 end"
    )


_DIGIT_RUN = 1000
"""The run of digits that sends a long record to the rules (RE2 repeats at most 1,000 times); the
rules reject only runs of more than :data:`MAX_NUMBER_DIGITS`."""

TINY_DOUBLE = 1e-290
"""A double column's value smaller than this (zero included) may be a number that underflowed:
the fast path then looks at the record's text (:data:`UNDERFLOW_PATTERN`)."""


def typed_sql(column: Column, raw: str) -> str:
    """SQL (DuckDB): the value of a numeric column from ``raw``, DuckDB's JSON text of the field (its
    digits as the file wrote them, or yyjson's shortest rendering). Meaningful only where
    :func:`fast_ok_sql` holds, which checks the text is a number of the column's kind."""
    return f"try_cast(cast({raw} as VARCHAR) as {DUCKDB_NUMERIC[column.type]})"


DUCKDB_NUMERIC = {"integer": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE"}


def fast_ok_sql(
    kind: str,
    rules: RecordRules,
    *,
    json_col: str,
    record_bytes: str,
    is_object: str,
    keys_unique: str,
    suspect: str,
    raw_of: Callable[[str | None], str],
) -> str:
    """SQL (DuckDB) over one row of the fast path's scan, true only when :func:`type_record` would stage
    the record and DuckDB's casts give the same values. The row has one column per staging column
    (text keys as VARCHAR under the key's name, numeric ones typed by :func:`typed_sql` under the
    key's name, with their raw JSON text in ``raw_of(key)``), the record's text (``json_col``) and
    the named columns: its length in bytes, whether it is an object, whether its keys are unique,
    whether :func:`suspect_sql` found anything."""
    spec = TABLE_FOR[kind]
    conds = [is_object, keys_unique, f"not {suspect}"]
    # A record this long may hold a text value over MAX_TEXT_BYTES: the rules measure it.
    conds.append(f"{record_bytes} <= {MAX_TEXT_BYTES}")
    # Only a long record can hold an integer of more than MAX_NUMBER_DIGITS digits or values nested
    # more than MAX_DEPTH deep (DuckDB reads both; the rules reject them): a long run of digits, or
    # more brackets than MAX_DEPTH (strings included: a false alarm only costs time), sends it there.
    # CASE, not OR: DuckDB evaluates both sides of an OR for every row of a projection, and the
    # second side here reads the whole record (the bracket count alone was a quarter of the scan)
    conds.append(
        f"case when {record_bytes} <= {MAX_NUMBER_DIGITS} then true "
        f"else not regexp_matches({json_col}, '[0-9]{{{_DIGIT_RUN}}}') end"
    )
    conds.append(
        f"case when {record_bytes} <= {2 * MAX_DEPTH} then true "
        f"else strlen({json_col}) - strlen(replace(replace({json_col}, '{{', ''), '[', '')) <= {MAX_DEPTH} end"
    )
    for c in spec.record_columns:
        col = f'"{c.source}"'
        if c.type in _DUCKDB_INT:
            # yyjson writes a JSON integer as its digits (a larger one as the file wrote it), any
            # other value otherwise: a float with '.' or 'e', a string in quotes
            conds.append(
                f"case when {raw_of(c.source)} is null then true "
                f"else regexp_full_match({raw_of(c.source)}, '-?[0-9]+') and {col} is not null end"
            )
        elif c.type == "double":
            # only a number's text casts to a finite double (a string is quoted, NaN/Infinity are
            # not finite); a tiny or zero value may have underflowed: the record's text decides
            conds.append(
                f"case when {raw_of(c.source)} is null then true when not coalesce(isfinite({col}), false) then false "
                f"when abs({col}) >= {TINY_DOUBLE} then true "
                f"else not regexp_matches({json_col}, {literal(UNDERFLOW_PATTERN)}) end"
            )
        elif c.type == "text" and c.source != "userId":  # userId must be digits: checked below
            # DuckDB renders a non-string value in its own way (4.50 -> '4.5', -0 -> '0', NaN, an
            # object); the rules keep the file's text. A value that may be one is looked up again.
            # First a test of one character, then the costlier ones on the few values it lets through.
            maybe = f"ord({col}) in ({_FIRST_CODES_OF_NON_STRING})"
            candidate = (
                f"(starts_with({col}, '{{') or starts_with({col}, '[') or (try_cast({col} as DOUBLE) is not null "
                f"and ({col} = '0' or not isfinite(try_cast({col} as DOUBLE)) or contains({col}, '.') "
                f"or contains(lower({col}), 'e'))))"
            )
            conds.append(
                f"not coalesce(case when not {maybe} then false when {candidate} "
                f"then json_type({json_col}, '$.\"{c.source}\"') <> 'VARCHAR' else false end, false)"
            )
    text_keys = {c.source for c in spec.record_columns if c.type == "text"}
    for key in REQUIRED[kind]:
        conds.append(f'"{key}" is not null' if key in text_keys else f"{raw_of(key)} is not null")
        if key in text_keys:  # a required text key: "" is as missing as null
            conds.append(f"\"{key}\" <> ''")
    if kind == "events":
        # digits only, at most 9 of them: fits an INTEGER (USER_ID). DuckDB renders the number -0
        # as '0', which the rules refuse (not a string of digits): a '0' that is not a string is
        # looked up by the rules.
        conds.append('("userId" is null or regexp_full_match("userId", \'[0-9]{0,9}\'))')
        conds.append(
            f'case when "userId" is null or "userId" <> \'0\' then true '
            f"else json_type({json_col}, '$.\"userId\"') = 'VARCHAR' end"  # a second parse: only for a '0'
        )
        conds.append(f'"ts" >= {rules.ts_min_ms} and "ts" < {rules.ts_max_ms}')
    return " and ".join(conds)
