"""PostgreSQL driver errors -> sparkify errors, in one place (Redshift inherits it).

:class:`PostgresErrors` holds the SQLSTATEs and login messages as data and maps every psycopg error
into :class:`MissingTableError`, :class:`TransientWarehouseError` (exit 75), :class:`WarehouseError`
or, for a login the server refuses for good, :class:`ConfigError` (exit 2). Messages are one line and
never hold the password.
"""

from __future__ import annotations

from typing import ClassVar

from sparkify.errors import (
    ConfigError,
    MissingTableError,
    TransientWarehouseError,
    WarehouseBusyError,
    WarehouseError,
)
from sparkify.schema import Table, missing_table_hint
from sparkify.warehouse.base import Warehouse, quote
from sparkify.wording import agree, one_line, plural

CHARACTER_NOT_IN_REPERTOIRE = "22021"
"""What PostgreSQL answers to text it cannot store, such as the NUL character."""
UNDEFINED_TABLE = "42P01"
TRANSIENT_SQLSTATES = ("40001", "40P01", "57P01", "57P02", "57P03")
"""serialization failure, deadlock, admin shutdown, crash shutdown, cannot connect now: retried."""
UNDEFINED_SCHEMA = "3F000"
LOCK_NOT_AVAILABLE = "55P03"
"""A lock not granted within ``lock_timeout``: a reader's session met a load's full rebuild."""

REFUSED_AT_LOGIN = (
    "password authentication failed",
    "authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "permission denied",
    "is not permitted to log in",
)
"""What a server says when it answers a login and refuses it for good: wrong password, unknown role
or database, pg_hba rules. A configuration error (exit 2), not worth retrying."""

BUSY_AT_LOGIN = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "too many clients",
    "remaining connection slots",
    "terminating connection due to administrator command",
    "the database system is not yet accepting",
)
"""What a server says when it cannot take a connection *now*: worth retrying later (exit 75)."""

UNRESOLVED_HOST = ("failed to resolve host", "could not translate host name", "name or service not known")
"""A host name that does not resolve: almost always a typo in the URL (exit 2)."""

REFUSED_SECURITY = (
    "does not support ssl",
    "ssl was required",
    "channel binding required",
    "gssapi encryption required",
    "certificate",
    "sslcert",
    "sslkey",
    "sslrootcert",
)
"""What libpq says when the URL's security settings and the server cannot agree (``sslmode=require``
against a server without SSL, a certificate that is missing or does not verify): no retry helps, the
URL or the server's setup must change (exit 2)."""


def _refuse_nul(table: Table, reader_con, relation: str, label: str) -> None:
    """PostgreSQL text cannot hold the NUL character (JSON ``\\u0000``): when a load failed on it,
    say which records and columns hold it (checked after a failure only: a scan of every text
    column costs the happy path too much)."""
    text_cols = [c.name for c in table.columns if c.type == "text"]
    if not text_cols:
        return
    hits = " or ".join(f"contains({quote(c)}, chr(0))" for c in text_cols)
    count = reader_con.execute(f"select count(*) from {relation} where {hits}").fetchone()[0]
    if count:
        cols = [
            c
            for c in text_cols
            if reader_con.execute(
                f"select count(*) from {relation} where contains({quote(c)}, chr(0))"
            ).fetchone()[0]
        ]
        raise WarehouseError(
            f"{plural(count, 'record')} for {table.name} {agree(count, 'holds', 'hold')} the NUL character (\\u0000) in {', '.join(cols)}, "
            f"which {label} text cannot store. Remove it from the input, or load into DuckDB."
        )


class PostgresErrors(Warehouse):
    """The error mapping of :class:`~sparkify.warehouse.postgres.PostgresWarehouse` (and so of
    Redshift): :meth:`error_for` is what the base class's execute wrapper calls on a driver error."""

    label: ClassVar[str]
    """The engine's name in messages."""
    password_from: ClassVar[str]
    """Where a password is looked for, for messages."""

    # -- errors: the one place driver errors become sparkify errors ---------------------------------

    def error_details(self, exc: BaseException) -> tuple[str | None, str]:
        """The SQLSTATE and the one-line message of a driver error."""
        sqlstate = getattr(exc, "sqlstate", None)
        diag = getattr(exc, "diag", None)
        message = (getattr(diag, "message_primary", None) if diag is not None else None) or str(exc)
        return sqlstate, message

    def is_query_text_error(self, exc: BaseException) -> bool:
        """SQLSTATE class 42: a syntax error or access rule violation (an unknown column or function)."""
        sqlstate, _ = self.error_details(exc)
        return bool(sqlstate) and str(sqlstate).startswith("42")

    def error_for(self, exc: BaseException, *, connecting: bool = False) -> WarehouseError | ConfigError:
        """Map a driver error to :class:`MissingTableError` or :class:`WarehouseError`: one line
        that names the warehouse (password masked) and, where there is one, the next step."""
        sqlstate, message = self.error_details(exc)
        message = self._scrub(one_line(message))  # never the password
        if connecting:
            return self._connect_error(message)
        if sqlstate in (UNDEFINED_TABLE, UNDEFINED_SCHEMA):
            return MissingTableError(
                missing_table_hint(f"{self.label} ({self.display_url}, schema {self.schema}): {message}")
            )
        if (sqlstate and sqlstate.startswith("08")) or (sqlstate is None and self._is_connection_error(exc)):
            return TransientWarehouseError(
                f"Lost the connection to {self.label} at {self.display_url}: {message}."
            )
        if sqlstate == LOCK_NOT_AVAILABLE:
            if getattr(self, "wait", True):
                waited = f" within {getattr(self, 'wait_timeout', 0):g}s (--wait-timeout)"
                advice = "Retry later, or give it longer with a larger --wait-timeout."
            else:
                waited, advice = "", "Retry later, or run with --wait to wait for the commit."
            return WarehouseBusyError(
                f"A sparkify load is rebuilding the tables of schema {self.schema} of {self.display_url}: they are "
                f"not readable until it commits, and it did not commit{waited}. {advice}"
            )
        if sqlstate in TRANSIENT_SQLSTATES:
            return TransientWarehouseError(f"{self.label} ({self.display_url}): {message}")
        return WarehouseError(f"{self.label} ({self.display_url}): {message}")

    def _connect_error(self, message: str) -> WarehouseError | ConfigError:
        """The error for a failed login: a configuration error when the server answered no (wrong
        password, unknown role or database) or the host does not resolve; a temporary failure when
        nothing answered (refused, timed out) or the server is starting, stopping or full. A URL that
        libpq itself refuses (a bad ``sslmode``, port or parameter) is a configuration error."""
        lowered = message.lower()
        where = f"Cannot connect to {self.label} at {self.display_url}: {message.rstrip('.')}"
        where += "" if where.endswith(("?", "!")) else "."  # the driver's own sentence may end already
        if any(m in lowered for m in BUSY_AT_LOGIN):
            return TransientWarehouseError(f"{where} The server cannot take connections now; retry later.")
        if any(m in lowered for m in UNRESOLVED_HOST):
            return ConfigError(f"{where} Check the host name in the URL.")
        # libpq refusing the URL itself (sslmode=bogus, port=x, an unknown parameter): no retry helps
        bad_url = ("invalid sslmode", "invalid integer value", "invalid connection option", "invalid uri")
        malformed = (
            "extra key/value separator",
            "invalid percent-encoded token",
            "unterminated quoted string",
        )
        if any(m in lowered for m in (*bad_url, *malformed, "bad value for", 'missing "="', "invalid port")):
            return ConfigError(f"{where} Fix the URL.")
        if any(m in lowered for m in REFUSED_SECURITY):
            return ConfigError(
                f"{where} Fix the URL's SSL settings (sslmode, certificates), or the server's."
            )
        if "fatal:" in lowered or any(m in lowered for m in REFUSED_AT_LOGIN if m):
            return ConfigError(f"{where} Check the URL and the password (in {self.password_from}).")
        return TransientWarehouseError(
            f"{where} Check that the server is running and reachable; a scheduler may retry later."
        )

    def _is_connection_error(self, exc: BaseException) -> bool:
        import psycopg

        return isinstance(exc, psycopg.OperationalError)

    def _scrub(self, text: str) -> str:
        from sparkify.urls import scrub

        return scrub(text, self.url)

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error,)
