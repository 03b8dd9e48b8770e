"""The record rules: how a file becomes records, and a record a staging row or a rejected record.

These are the rules of ``docs/CONTRACT.md`` ("Records"), in one place. The reader's precise path
applies them in Python, record by record; its fast path (DuckDB) stages a file only when every record
in it passes :func:`fast_ok_sql`, a stricter test that accepts nothing these rules would reject or
type differently. So a record's fate is a function of that record alone, whichever path reads it.

Framing (what Redshift's ``COPY ... FORMAT AS JSON`` accepts): a file is JSON values one after
another, separated by nothing or by JSON whitespace (space, tab, CR, LF; RFC 8259). Each top-level
value is one record; its line is the line its first character is on. One object per line, objects
spread over many lines, and objects back to back all load. A UTF-8 byte order mark at the start of a
file is ignored. Text that is not JSON is one rejected record, running to the next line that starts
with ``{``.

Typing: strict RFC 8259 JSON (no ``NaN``/``Infinity``, comments, trailing commas, duplicate keys or
lone surrogate escapes); each field is typed as :func:`type_record` says.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sparkify.quoting import literal
from sparkify.schema import (
    FILE_KINDS,
    Column,
    Table,
)
from sparkify.wording import plural

MAX_RECORD_BYTES = 4 << 20
"""A record (its JSON text) longer than this many bytes is rejected rather than parsed."""

MAX_TEXT_BYTES = 65535
"""The longest text value (UTF-8 bytes) every warehouse stores: Redshift's VARCHAR(65535)."""

RAW_TEXT_LIMIT = 1000
"""How many characters of a rejected record's text are kept with the reject."""

INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
"""The values each integer column type holds (the same on every engine)."""

TABLE_FOR: dict[str, Table] = {name: kind.staging for name, kind in FILE_KINDS.items()}
REQUIRED: dict[str, tuple[str, ...]] = {name: kind.required for name, kind in FILE_KINDS.items()}

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

    def ts_problem(self, ts: int) -> str | None:
        """Why ``ts`` (an integer) is not plausible epoch milliseconds, or None when it is."""
        lo, hi = self.ts_min_ms, self.ts_max_ms
        if lo <= ts < hi:
            return None
        if lo <= ts * 1000 < hi:
            return f"ts {ts} looks like epoch seconds; expected milliseconds"
        if lo <= ts // 1000 < hi:
            return f"ts {ts} looks like epoch microseconds; expected milliseconds"
        if ts < lo:
            return f"ts {ts} is before {self.ts_min.isoformat()} (the earliest accepted: setting ts_min)"
        return f"ts {ts} is on or after {self.ts_max.isoformat()} (the first refused: setting ts_max)"


DEFAULT_RULES = RecordRules()


# -- framing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRecord:
    """One top-level value of a file: where it starts, its text, and the object or why it is none."""

    line: int
    """1-based line its first character is on."""
    raw: str
    """The record's text (invalid UTF-8 bytes shown as ``\\xNN``), cut to :data:`RAW_TEXT_LIMIT`."""
    record: dict | None
    problem: tuple[str | None, str] | None
    """(field or None, reason) when the value is not a record that can be typed."""


class _Nonstandard:
    """Stands for a ``NaN`` / ``Infinity`` literal: not JSON, found by :func:`type_record`."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _literal_number(base: type) -> type:
    """A subclass of ``base`` (int or float) whose values remember how the file wrote them
    (``4.50``, ``-0``, ``1e5``): a number in a text field is stored as written."""

    def new(cls, literal: str):
        value = base.__new__(cls, literal)
        value.literal = literal  # type: ignore[attr-defined]  # a subclass instance, not the base
        return value

    return type(f"_Literal{base.__name__.capitalize()}", (base,), {"__new__": new})


_Float = _literal_number(float)
_Int = _literal_number(int)
_DECODER = json.JSONDecoder(
    parse_constant=_Nonstandard, object_pairs_hook=_pairs, parse_float=_Float, parse_int=_Int
)
_JSON_WS = re.compile(r"[ \t\n\r]*")
_NEXT_OBJECT_LINE = re.compile(r"\n[ \t\r]*(?=\{)")
_STRUCTURE = re.compile(r'\\.|[{}\[\]"\n]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_RAW_BYTE = re.compile("[\udc80-\udcff]")
"""In text decoded with ``surrogateescape``: a byte that is not UTF-8 (a ``\\udc80`` escape in the
JSON text is six ASCII characters, never this)."""
BOM = b"\xef\xbb\xbf"


def _ws_end(text: str, pos: int) -> int:
    """Where the JSON whitespace starting at ``pos`` ends (``pos`` itself if there is none)."""
    m = _JSON_WS.match(text, pos)
    return m.end() if m else pos


def frame(data: bytes) -> Iterator[RawRecord]:
    """Split a file's (decompressed) bytes into records, in order. Never raises for any input."""
    if data.startswith(BOM):
        data = data[3:]
    text = data.decode("utf-8", errors="surrogateescape")
    if "\r" in text:  # a line ends with LF, CRLF or a lone CR (old Mac files): lines are counted alike
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    n = len(text)
    pos = _ws_end(text, 0)
    line, counted = 1, 0  # line number of position `counted`
    while pos < n:
        line += text.count("\n", counted, pos)
        counted = pos
        start = pos
        problem: tuple[str | None, str] | None = None
        value: Any = None
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except _DuplicateKey as exc:
            end = _resync(text, start)
            key = storable(exc.key)
            problem = (key, f"duplicate key {key!r}: RFC 8259 names must be unique")
        except json.JSONDecodeError as exc:
            end = _resync(text, start)
            problem = (None, _malformed(exc, text, start))
        except RecursionError:
            end = _resync(text, start)
            problem = (None, "malformed JSON: values nested too deeply")
        else:
            # the next record may start right away ({..}{..}) or after whitespace; anything else
            # glued on (`{..}x`) is text that is not JSON: the next round rejects it
            pass
        span = text[start:end]
        bad_bytes = _RAW_BYTE.search(span) if not span.isascii() else None
        if bad_bytes:
            offset = len(span[: bad_bytes.start()].encode("utf-8", errors="surrogateescape"))
            problem, value = (None, f"invalid UTF-8 at byte {offset} of the record"), None
        elif problem is None:
            size = (
                len(span.encode("utf-8", errors="surrogateescape"))
                if len(span) * 4 > MAX_RECORD_BYTES
                else len(span)
            )
            if size > MAX_RECORD_BYTES:
                problem = (None, f"record is longer than {MAX_RECORD_BYTES >> 20} MB ({size} bytes)")
            elif not isinstance(value, dict):
                problem = (None, _not_object(value))
        shown = storable(span[:RAW_TEXT_LIMIT])
        yield RawRecord(line, shown, value if problem is None else None, problem)
        pos = _ws_end(text, end)


def _resync(text: str, start: int) -> int:
    """Where a value that is not JSON ends, so reading goes on after it.

    A value starting with ``{`` or ``[`` runs to where its brackets close (strings respected),
    unless a record seems to start first: a line beginning with ``{`` while only the value's own
    opening bracket is open and the text before it is not a key's ``:``. Then it runs to the end of
    its first line -- or, when that line holds only the ``{`` (a pretty-printed object), to that
    next record. Any other text runs to the end of its line. The search stops after
    :data:`MAX_RECORD_BYTES` characters.
    """
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    if text[start] not in "{[":
        return line_end
    closed, next_record = _scan_brackets(text, start, min(len(text), start + MAX_RECORD_BYTES))
    if closed is not None:
        return closed
    if text[start:line_end].strip() == "{" and next_record is not None:
        return next_record
    return line_end


def _scan_brackets(text: str, start: int, limit: int) -> tuple[int | None, int | None]:
    """(position just after the bracket closing the one at ``start``, or None; where the next
    record seems to start, or None) -- whichever the scan meets first, before ``limit``."""
    depth, in_string = 0, False
    openers: list[str] = []
    for m in _STRUCTURE.finditer(text, start, limit):
        ch = m.group()
        if in_string and ch != "\n":  # a string cannot hold a raw line break: one ends it
            if ch == '"':
                in_string = False
            # a backslash escape is matched whole by the pattern, so it never ends a string
            continue
        in_string = False
        if ch == '"':
            in_string = True
        elif ch == "\n":
            if depth == 1:
                after = _ws_end(text, m.end())
                before = text[start : m.start()].rstrip(" \t\n")
                if after < limit and text[after] == "{" and not before.endswith(":"):
                    return None, after
        elif ch in "{[":
            depth += 1
            openers.append(ch)
        elif ch in "}]":
            if openers.pop() != ("{" if ch == "}" else "["):
                return None, None  # `{ ... ]` closes nothing: the value's brackets never close
            depth -= 1
            if depth == 0:
                return m.end(), None
    return None, None


def storable(text: str) -> str:
    """``text`` as every warehouse can store it: NUL and bytes that are not UTF-8 (decoded with
    ``surrogateescape``) or unpaired surrogates shown as escapes (``\\x00``, ``\\xff``, ``\\ud800``)."""
    if text.isascii() and "\x00" not in text:
        return text
    shown = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
    shown = shown.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return shown.replace("\x00", "\\x00")


def _malformed(exc: json.JSONDecodeError, text: str, start: int) -> str:
    # json's messages end in " at" where they name a place ("Unterminated string starting at")
    at = "" if exc.msg.endswith(" at") else " at"
    return f"malformed JSON: {exc.msg}{at} character {exc.pos - start + 1} of the record"


def _not_object(value: Any) -> str:
    if isinstance(value, list):
        return (
            f"a top-level JSON array ({plural(len(value), 'value')}): records are JSON objects one after another, "
            "as Redshift's COPY reads them, not an array"
        )
    return f"expected a JSON object, got {_json_kind(value)}"


# -- typing -----------------------------------------------------------------------------------------


def type_record(
    kind: str, record: dict, rules: RecordRules = DEFAULT_RULES
) -> tuple[dict, tuple[str | None, str] | None]:
    """The staging row (column name -> value) for one record, or the first (field, reason) that stops it.

    Checks, in order: no ``NaN``/``Infinity`` anywhere; required keys present, not null and not ``""``
    (an empty string is as missing as null); each staging column typed (text: a string, or another
    value's text form; integer/bigint: a JSON integer in range; double: a finite number); text without
    NUL characters or unpaired surrogates and at most :data:`MAX_TEXT_BYTES` bytes; ``userId`` digits
    or empty; ``ts`` plausible (``rules``).
    """
    spec = TABLE_FOR[kind]
    for key, value in record.items():
        literal = _find_nonstandard(value)
        if literal is not None:
            return {}, (key, f"{literal} is not a JSON number (RFC 8259 has no NaN or Infinity)")
    for key in REQUIRED[kind]:
        value = record.get(key)
        if value is None:
            return {}, (key, "required field is missing" if key not in record else "required field is null")
        if value == "":
            return {}, (key, 'required field is empty ("")')
    row: dict[str, Any] = {}
    for c in spec.record_columns:
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
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return _text_problem(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"expected a number, got {_json_kind(value)} {_show(value)}"
    if typ == "double":
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or (number == 0 and _nonzero_mantissa(value)):
            # too large (inf) or too small (a non-zero number that rounds to 0, e.g. 1e-400):
            # PostgreSQL and Redshift refuse both, so every engine rejects them
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
            return (
                None,
                f"text holds an unpaired surrogate \\u{ord(surrogate.group()):04x}, which is not Unicode",
            )
        size = len(text.encode("utf-8")) if len(text) * 4 > MAX_TEXT_BYTES else len(text)
    else:
        size = len(text)
    if size > MAX_TEXT_BYTES:
        return (
            None,
            f"text is {size} bytes; warehouses store at most {MAX_TEXT_BYTES} (Redshift VARCHAR(65535))",
        )
    return text, None


def _find_nonstandard(value: Any) -> str | None:
    if isinstance(value, _Nonstandard):
        return value.text
    if isinstance(value, dict):
        for v in value.values():
            found = _find_nonstandard(v)
            if found is not None:
                return found
    elif isinstance(value, list):
        for v in value:
            found = _find_nonstandard(v)
            if found is not None:
                return found
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _show(value: Any) -> str:
    literal = getattr(value, "literal", None)
    text = literal or json.dumps(value, ensure_ascii=False, default=lambda v: getattr(v, "text", str(v)))
    return text if len(text) <= 60 else text[:57] + "..."


# -- the fast path's test ---------------------------------------------------------------------------

_DUCKDB_INT = {"integer": "INTEGER", "bigint": "BIGINT"}

_FIRST_OF_NON_STRING = ", ".join(f"'{ch}'" for ch in "{[-+.0123456789NnIi")
"""The first characters of DuckDB's text for a JSON value that is not a string (a number, NaN,
Infinity, an object or an array): a text value starting otherwise was a string in the file."""


UNICODE_ESCAPE_PATTERN = r"\\u0000|\\u[dD][89abcdefABCDEF]"
"""RE2 over a record's text: a NUL or surrogate escape (the rules decide what it means)."""

TRAILING_COMMA_PATTERN = r",[ \t\r\n]*[}\]]"
"""RE2 over a record's text: a comma before a closing bracket (DuckDB accepts it; RFC 8259 does not)."""

NONSTANDARD_PATTERN = r"[:,\[][ \t\r\n]*[-+]?(?i:nan|inf)"
"""RE2 over a record's text: a NaN or Infinity literal, in any case (DuckDB accepts them)."""


UNDERFLOW_PATTERN = r"[0-9.][eE]-0*([3-9][0-9]{2}|[1-9][0-9]{3,})"
"""RE2 over a record's text: a number with an exponent of -300 or less, which may underflow to 0
(DuckDB reads ``1e-400`` as 0.0 and re-renders the raw value, so the rules must see its text)."""


def suspect_sql(json_col: str, complete: str) -> str:
    """SQL (DuckDB) true when a record's text holds something DuckDB and these rules may read
    differently: a NUL or surrogate escape, a trailing comma, a number that may underflow to 0, or
    -- in a record with keys beyond the staging columns (``complete`` false), where no typed column
    would show it -- a NaN or Infinity literal. False alarms only cost time: the file goes to the
    precise path."""
    return (
        f"case when contains({json_col}, '\\u') then regexp_matches({json_col}, {literal(UNICODE_ESCAPE_PATTERN)}) "
        f"else false end "
        f"or case when contains({json_col}, 'e-') or contains({json_col}, 'E-') "
        f"then regexp_matches({json_col}, {literal(UNDERFLOW_PATTERN)}) else false end "
        f"or regexp_matches({json_col}, {literal(TRAILING_COMMA_PATTERN)}) "
        f"or case when {complete} then false else regexp_matches({json_col}, {literal(NONSTANDARD_PATTERN)}) end"
    )


def fast_ok_sql(
    kind: str,
    rules: RecordRules,
    *,
    json_col: str,
    record_bytes: str,
    is_object: str,
    keys_unique: str,
    suspect: str,
) -> str:
    """SQL (DuckDB) over one row of the fast path's scan, true only when :func:`type_record` would stage
    the record and DuckDB's casts give the same values. The row has one column per JSON key (text
    keys as VARCHAR, numeric keys as raw JSON), the record's text (``json_col``) and the named
    columns: its length in bytes, whether it is an object, whether its keys are unique, whether
    :func:`suspect_sql` found anything."""
    spec = TABLE_FOR[kind]
    conds = [is_object, keys_unique, f"not {suspect}"]
    # A record this long may hold a text value over MAX_TEXT_BYTES: the rules measure it.
    conds.append(f"{record_bytes} <= {MAX_TEXT_BYTES}")
    for c in spec.record_columns:
        col = f'"{c.source}"'
        if c.type in _DUCKDB_INT:
            conds.append(
                f"({col} is null or (json_type({col}) in ('BIGINT', 'UBIGINT') "
                f"and try_cast({col} as {_DUCKDB_INT[c.type]}) is not null))"
            )
        elif c.type == "double":
            conds.append(
                f"({col} is null or (json_type({col}) in ('BIGINT', 'UBIGINT', 'DOUBLE') "
                f"and isfinite(try_cast({col} as DOUBLE))))"
            )
        elif c.type == "text" and c.source != "userId":  # userId must be digits: checked below
            # DuckDB renders a non-string value in its own way (4.50 -> '4.5', -0 -> '0', NaN, an
            # object); the rules keep the file's text. A value that may be one is looked up again.
            # First a test of one character, then the costlier ones on the few values it lets through.
            maybe = f"left({col}, 1) in ({_FIRST_OF_NON_STRING})"
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
        conds.append(f'"{key}" is not null')
        if key in text_keys:  # a required text key: "" is as missing as null
            conds.append(f"\"{key}\" <> ''")
    if kind == "events":
        # digits only (ltrim of every digit leaves nothing), at most 9 of them: fits an INTEGER
        conds.append(
            '("userId" is null or (ltrim("userId", \'0123456789\') = \'\' and length("userId") <= 9))'
        )
        conds.append(
            f'try_cast("ts" as BIGINT) >= {rules.ts_min_ms} and try_cast("ts" as BIGINT) < {rules.ts_max_ms}'
        )
    return " and ".join(conds)
