"""Message text: the one place a message says "1 file" or "2 files" (:func:`plural`), and the one
way a value from the data (a file name, a title) is shown on one line (:func:`printable`).

Messages never pluralise by hand (``noun + "s"``): a noun phrase such as "folder reached again through
a link" takes its plural on its head noun, not on its last word, and a pronoun that refers back to a
count ("them", "its") must agree with it too.
"""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun phrase agreeing with it: ``plural(1, "file")`` -> ``"1 file"``,
    ``plural(2, "file")`` -> ``"2 files"``, ``plural(1_500, "record")`` -> ``"1,500 records"``.

    ``plural_form`` is the phrase for any count but 1 (default: ``singular`` + "s", right only for
    a phrase whose last word is its head noun): ``plural(2, "folder reached again through a link",
    "folders reached again through a link")``."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"


def agree(count: int, singular: str, plural_form: str) -> str:
    """The word that agrees with ``count``: ``agree(1, "is", "are")`` -> ``"is"``; for verbs and
    pronouns ("it"/"them", "its"/"their") that refer back to a counted noun."""
    return singular if count == 1 else plural_form


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}
"""Control characters (C0, DEL, C1) -> their ``\\xNN`` escape: printed as text, they would move the
cursor, ring the bell or restyle the terminal."""
_CONTROL.update({ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"})


def printable(value: object) -> str:
    """``value`` as a single line of plain text that a terminal shows as it is: control characters
    become ``\\xNN`` (tab, newline and carriage return ``\\t \\n \\r``); ``None`` becomes ``""``."""
    return "" if value is None else str(value).translate(_CONTROL)


def one_line(message: str) -> str:
    """A message of several lines as one, each line's blanks squeezed; a line after one that ends
    without punctuation starts a new sentence (``"...of the record. Fix the input..."``; libpq's
    ``"Connection refused. Is the server running..."``)."""
    out = ""
    for line in message.splitlines():
        line = " ".join(line.split())
        if line:
            out += line if not out else (" " if out.endswith((".", ":", ";", ",", "!", "?")) else ". ") + line
    return out
