"""Warehouse URLs and connection strings: masking their secrets, spotting passwords that need
percent-encoding. Imports nothing of sparkify, so every room can use it.

libpq accepts a password in three places, and all three are masked:

* the userinfo of a URI, ``postgresql://user:secret@host/db`` -- where an unencoded ``@``, ``/``,
  ``#`` or ``?`` in the password makes the URL ambiguous (its tail would otherwise leak);
* a ``password=`` query parameter, ``postgresql://host/db?sslmode=require&password=secret``;
* a ``password=`` keyword of a keyword/value string, ``host=h password=secret`` or ``password='a b'``.

See https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

_PASSWORD_KEYWORD = re.compile(r"(?i)(\b[a-z_]*password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^&\s]*)")
"""``password=value`` (or ``sslpassword=``, the passphrase of the client key: any key ending in
``password``) in a query string or a keyword/value string; the value runs to ``&``, blank space or
the end (quoted values to their closing quote)."""

NEEDS_ENCODING = {"@": "%40", "/": "%2F", "#": "%23", "?": "%3F", "%": "%25"}
"""Characters a URL password must percent-encode, with their encodings (``%`` only where it starts
no escape: ``%40`` is an ``@``, ``%ZZ`` no escape at all)."""

_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
"""A ``%`` that does not start a percent-escape (two hex digits)."""


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """``scheme://userinfo@rest`` -> (``scheme://``, userinfo, ``@rest``), splitting at the *last*
    ``@`` so that a password holding an unencoded ``@``, ``/`` or ``#`` is wholly inside userinfo
    (masking too much is safe; too little is not). A string without ``://`` whose first word holds
    ``user:secret@`` (a URL missing its scheme, ``me:secret@host/db``) splits the same way, with an
    empty head. None when there is no userinfo."""
    if "://" in url:
        scheme, rest = url.split("://", 1)
        head = scheme + "://"
    else:
        head, rest = "", url
    at = rest.rfind("@")
    if at < 0 or (not head and (":" not in rest[:at] or any(c.isspace() for c in rest[:at]))):
        return None
    return head, rest[:at], rest[at:]


def mask_url(url: str) -> str:
    """The URL (or keyword/value string) with every password replaced by ``***``: safe to print.

    ``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``;
    ``postgresql://h/db?password=secret`` -> ``postgresql://h/db?password=***``;
    ``host=h password=secret`` -> ``host=h password=***``; ``me:secret@host/db`` (no scheme) ->
    ``me:***@host/db``. Anything else is returned unchanged. Every error that echoes a warehouse
    string, recognised or not, shows it through this function.
    """
    text = url
    parts = _split_userinfo(text)
    if parts is not None:
        head, userinfo, tail = parts
        if ":" in userinfo:
            text = f"{head}{userinfo.split(':', 1)[0]}:{MASK}{tail}"
    return _PASSWORD_KEYWORD.sub(lambda m: m.group(1) + MASK, text)


def url_secrets(url: str) -> list[str]:
    """Every password the URL carries, as written and percent-decoded, longest first -- for
    scrubbing driver messages that might echo one. Empty when there is none."""
    found: list[str] = []
    parts = _split_userinfo(url)
    if parts is not None and ":" in parts[1]:
        found.append(parts[1].split(":", 1)[1])
    for m in _PASSWORD_KEYWORD.finditer(url):
        found.append(m.group(2).strip("'"))
    out = {s for f in found if f for s in (f, unquote(f))}
    return sorted(out, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with every password of ``url`` replaced by ``***``."""
    for secret in url_secrets(url):
        text = text.replace(secret, MASK)
    return text


def password_needing_encoding(url: str) -> list[str]:
    """The characters of the URL's userinfo password that must be percent-encoded (``@ / # ?``, and
    ``%`` where it starts no escape), in order of first appearance; empty when the password is fine or there is none.

    Only the part before the query string is looked at, so an ``@`` in a parameter is no password.
    """
    if "://" not in url:
        return []
    rest = url.split("://", 1)[1]
    at = rest.rfind("@", 0, _query_start(rest))
    if at < 0 or ":" not in rest[:at]:
        return []
    password = rest[:at].split(":", 1)[1]
    return [
        c
        for c in dict.fromkeys(password)
        if c in NEEDS_ENCODING and (c != "%" or _LONE_PERCENT.search(password))
    ]


def _query_start(rest: str) -> int:
    """Where the query string of ``rest`` (a URL after ``scheme://``) begins: the first ``?`` that
    follows a ``/`` after the last ``@`` before it, else the end."""
    q = rest.find("?")
    while q >= 0:
        before = rest[:q]
        at = before.rfind("@")
        if at >= 0 and "/" in before[at:]:
            return q
        if at < 0 and "/" in before:
            return q
        q = rest.find("?", q + 1)
    return len(rest)


def encoding_hint(chars: list[str]) -> str:
    """``percent-encode them: @ as %40, / as %2F`` for the characters given."""
    return "percent-encode them: " + ", ".join(f"{c} as {NEEDS_ENCODING[c]}" for c in chars)
