"""Framing: how a file's bytes become records (the first half of the record rules).

What Redshift's ``COPY ... FORMAT AS JSON`` accepts: a file is JSON values one after another,
separated by nothing or by JSON whitespace (space, tab, CR, LF; RFC 8259). Each top-level value is one
record; its line is the line its first character is on. One object per line, objects spread over
many lines, and objects back to back all load. A UTF-8 byte order mark at the start of a file is
ignored. Text that is not JSON is one rejected record, running to the next line that starts with
``{``. :func:`frame` yields :class:`RawRecord` (line, parsed object or the reason it is rejected);
:mod:`sparkify.staging.rules` types them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sparkify.wording import plural

MAX_RECORD_BYTES = 4 << 20
"""A record (its JSON text) longer than this many bytes is rejected rather than parsed."""


RAW_TEXT_LIMIT = 1000
"""How many characters of a rejected record's text are kept with the reject."""

MAX_NUMBER_DIGITS = 4300
"""A JSON integer with more digits than this is rejected wherever it is (no column holds it, and
Python reads no longer one: its ``int`` conversion limit)."""

MAX_DEPTH = 500
"""A record whose values nest deeper than this (the record's own object is level 1) is rejected.
Python's JSON reader stops at its recursion limit, near 1,000 levels, and a limit that moved with
the call stack would make a record's fate depend on more than the record."""


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

    @property
    def reason(self) -> str:
        return f"{self.text} is not a JSON number (RFC 8259 has no NaN or Infinity)"


class _TooLong(_Nonstandard):
    """Stands for a JSON integer of more than :data:`MAX_NUMBER_DIGITS` digits, found by
    :func:`type_record`."""

    __slots__ = ()

    @property
    def reason(self) -> str:
        digits = len(self.text.lstrip("-"))
        return f"a number of {digits} digits: at most {MAX_NUMBER_DIGITS} are read"


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


def _parse_int(literal: str) -> Any:
    if len(literal) - literal.startswith("-") > MAX_NUMBER_DIGITS:
        return _TooLong(literal)
    return _Int(literal)


_DECODER = json.JSONDecoder(
    parse_constant=_Nonstandard, object_pairs_hook=_pairs, parse_float=_Float, parse_int=_parse_int
)
_TOO_DEEP = f"values nested more than {MAX_DEPTH} levels deep"
_JSON_WS = re.compile(r"[ \t\n\r]*")
_NEXT_OBJECT_LINE = re.compile(r"\n[ \t\r]*(?=\{)")
_STRUCTURE = re.compile(r'\\.|[{}\[\]"\n]')
_BRACE_LINE = re.compile(r"\n[ \t]*\{")
"""The start of a line whose first character (after blanks) is ``{``: where a record may start."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_RAW_BYTE = re.compile("[\udc80-\udcff]")
"""In text decoded with ``surrogateescape``: a byte that is not UTF-8 (a ``\\udc80`` escape in the
JSON text is six ASCII characters, never this)."""
_NOT_A_BYTE = re.compile("[\ud800-\udc7f\udd00-\udfff]")
"""A surrogate ``surrogateescape`` cannot encode: not a byte of the file (see :data:`_RAW_BYTE`)."""
BOM = b"\xef\xbb\xbf"


def _ws_end(text: str, pos: int) -> int:
    """Where the JSON whitespace starting at ``pos`` ends (``pos`` itself if there is none)."""
    m = _JSON_WS.match(text, pos)
    return m.end() if m else pos


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
"""A UTF-16 byte order mark (little or big endian; UTF-32's little-endian mark starts alike): a file
that starts with one is not UTF-8, and each of its records' problems says so."""


def frame(data: bytes) -> Iterator[RawRecord]:
    """Split a file's (decompressed) bytes into records, in order. Never raises for any input."""
    if data.startswith(BOM):
        data = data[3:]
    utf16 = data[:2] in UTF16_BOMS  # said in every problem: the whole file is another encoding
    text = data.decode("utf-8", errors="surrogateescape")
    if "\r" in text:  # a line ends with LF, CRLF or a lone CR (old Mac files): lines are counted alike
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    n = len(text)
    pos = _ws_end(text, 0)
    line, counted = 1, 0  # line number of position `counted`
    previous_end = -1  # where the previous value ended (-1: none yet)
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
            key = storable(_duplicate_path(text, start) or exc.key)
            problem = (key, f"duplicate key {key!r}: RFC 8259 names must be unique")
        except json.JSONDecodeError as exc:
            end = _resync(text, start)
            glued = previous_end >= 0 and "\n" not in text[previous_end:start]
            problem = (None, _malformed(exc, text, start, end, glued))
        except RecursionError:  # deeper than MAX_DEPTH: Python's limit is about twice as deep
            end = _resync(text, start)
            problem = (None, _TOO_DEEP)
        else:
            # the next record may start right away ({..}{..}) or after whitespace; anything else
            # glued on (`{..}x`) is text that is not JSON: the next round rejects it
            pass
        span = text[start:end]
        bad_bytes = _RAW_BYTE.search(span) if not span.isascii() else None
        if bad_bytes:
            offset = len(span[: bad_bytes.start()].encode("utf-8", errors="surrogateescape"))
            problem, value = (None, f"invalid UTF-8 at byte {offset} of the record"), None
        elif problem is not None and "\x00" in span:  # raw NUL bytes: not text in UTF-8 (UTF-16, binary)
            offset = len(span[: span.index("\x00")].encode("utf-8", errors="surrogateescape"))
            problem = (None, f"a NUL byte at byte {offset} of the record: this is not UTF-8 text")
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
            elif span.count("{") + span.count("[") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
                problem = (None, _TOO_DEEP)
        if problem is not None and utf16:
            problem = (
                problem[0],
                f"{problem[1]} (the file starts with a UTF-16 byte order mark: records are UTF-8)",
            )
        shown = storable(span[:RAW_TEXT_LIMIT])
        yield RawRecord(line, shown, value if problem is None else None, problem)
        previous_end = end
        pos = _ws_end(text, end)


class _Duplicated(dict):
    """An object that named a key twice (the last value kept), and which key: see :func:`_duplicate_path`."""

    key = ""


def _keep_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    marked = _Duplicated(out)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            marked.key = key
            break
        seen.add(key)
    return marked


_LENIENT = json.JSONDecoder(
    parse_constant=_Nonstandard, object_pairs_hook=_keep_duplicates, parse_float=_Float, parse_int=_parse_int
)


def _duplicate_path(text: str, start: int) -> str | None:
    """Where the first duplicate key of the value at ``start`` is, as a path from the record's top:
    ``a`` for the record's own key, ``extra.a`` in an object it holds, ``tags[1].a`` in an array --
    the object hook that finds a duplicate sees no parent. None when the value does not parse whole
    (another fault came first). Only asked once a duplicate was found."""
    try:
        value, _ = _LENIENT.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:  # depth first, in document order
        v, path = stack.pop()
        if isinstance(v, _Duplicated):
            return f"{path}.{v.key}" if path else v.key
        if isinstance(v, dict):
            stack.extend((x, f"{path}.{k}" if path else k) for k, x in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend((x, f"{path}[{i}]") for i, x in reversed(list(enumerate(v))))
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value``'s objects and arrays nest more than ``limit`` levels (``value`` itself is
    level 1). Without recursion: it is asked about values Python's stack barely holds."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values() if isinstance(x, (dict, list)))
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v if isinstance(x, (dict, list)))
    return False


def _resync(text: str, start: int) -> int:
    """Where a value that is not JSON ends, so reading goes on after it.

    A value starting with ``{`` or ``[`` runs to where its brackets close (strings respected),
    unless a record seems to start first: a line beginning with ``{`` while only the value's own
    opening bracket is open and the text before it is not a key's ``:`` (such a line is that key's
    value). Then it runs to the end of its first line -- or, when that line holds only the ``{`` (a
    pretty-printed object), to that next record, and with none (an object cut off at the end of the
    file) to the end: its remaining lines are that record, not one reject each. When the brackets
    never close, a ``{`` line after a key's ``:`` is a record too: the object was cut off after the
    key, and the next one starts there (its events are not swallowed into the reject). Any other text
    runs to the end of its line. The search stops after :data:`MAX_RECORD_BYTES` characters.
    """
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    if text[start] not in "{[":
        return line_end
    limit = min(len(text), start + MAX_RECORD_BYTES)
    closed, _ = _scan_brackets(text, start, limit)
    if closed is not None:
        return closed
    if text[start:line_end].strip() == "{":
        _, first_start = _scan_brackets(text, start, limit, value_after_key=False)
        if first_start is None:  # a bracket that closes nothing stopped the scan, or no record follows
            brace = _BRACE_LINE.search(text, line_end, limit)
            first_start = brace.end() - 1 if brace else limit  # cut off at the end: the rest is the record
        return first_start
    return line_end


def _scan_brackets(
    text: str, start: int, limit: int, *, value_after_key: bool = True
) -> tuple[int | None, int | None]:
    """(position just after the bracket closing the one at ``start``, or None; where the next
    record seems to start, or None) -- whichever the scan meets first, before ``limit``.
    ``value_after_key``: a ``{`` line after a key's ``:`` is that key's value, not a record."""
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
                if after < limit and text[after] == "{" and not (value_after_key and before.endswith(":")):
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
    # a surrogate that stands for no byte (an escape such as "\udc00" in a key) is shown as its escape
    text = _NOT_A_BYTE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    shown = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
    shown = shown.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return shown.replace("\x00", "\\x00")


def _malformed(exc: json.JSONDecodeError, text: str, start: int, end: int, glued: bool) -> str:
    """Why the text from ``start`` to ``end`` is no JSON value. ``glued``: it follows the previous
    value on the line that value ends on (``{...},`` -- a comma after each record -- or ``{...} x``):
    said so, since the record before it was read."""
    if text.startswith("\ufeff", start):
        return "a byte order mark (U+FEFF) where a record starts: only one, at the very start of a file, is ignored"
    if exc.pos == start and text[start] not in '{["':  # not the start of any JSON value at all
        shown = text[start:end].strip(" \t\n\r")
        shown = shown if len(shown) <= 40 else shown[:40] + "..."
        where = " after the record that ends on this line" if glued else ""
        comma = ": records are separated by whitespace, not commas" if shown.startswith(",") else ""
        return f"malformed JSON: text that is not JSON{where} ({shown!r}){comma}"
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
