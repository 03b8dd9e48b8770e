"""JSON text as the real files write it: ASCII with ``\\uXXXX`` escapes and ``\\/``."""

from __future__ import annotations

import json


def json_text(value: str) -> str:
    """A JSON string as the real files write it: ASCII with ``\\uXXXX`` escapes and ``\\/``."""
    return json.dumps(value).replace("/", "\\/")


def json_value(value) -> str:
    """A song file's field value: a string, a number where a writer emitted one, or null."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json_text(value)
    return repr(value)


def mojibake(text: str) -> str:
    """UTF-8 decoded as Latin-1, twice: how some of the real log titles look (T\\u00c3\\u0083\\u00c2\\u00ba)."""
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text
