"""The exceptions sparkify raises, and the exit code of each. The CLI turns each into one line and
its code; the same condition gives the same code in every command (``infra`` included).

Exit codes (the README's table is this one):

====  ==================================================================================
0     ok
1     checks failed, or an analytics result differs from the expected one
2     usage or configuration error: a bad flag or setting, credentials or a password
      refused, a driver missing, the tables not there yet (run ``sparkify run`` first), a
      mistake in a query's text (its syntax, an unknown column or function)
65    bad input rejected (more than ``--max-errors`` records); nothing was changed
66    the source cannot be found or read (missing folder, bucket, key; access denied)
69    the warehouse or AWS refused the operation, and retrying it as is will not help
70    internal error: a bug in sparkify (``--debug`` shows the traceback)
74    a local file could not be written: disk full, no permission, a foreign lock file
75    temporary failure worth retrying later (EX_TEMPFAIL): the warehouse is busy
      (``--no-wait``, ``--wait-timeout``), a connection refused or lost, S3 throttling
130   interrupted (SIGINT, Ctrl-C); nothing was changed
143   terminated (SIGTERM); nothing was changed
====  ==================================================================================

The codes from 64 up follow BSD's sysexits.h where one fits, so that schedulers and ``systemd``
(``RestartForceExitStatus=75``) can act on them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``sparkify`` process's exit status means."""

    OK = 0
    CHECKS_FAILED = 1
    """Quality checks failed, or an analytics comparison differs."""
    USAGE = 2
    """Usage or configuration error (also: credentials refused, tables missing)."""
    BAD_INPUT = 65
    """EX_DATAERR: input records rejected beyond ``--max-errors``; nothing changed."""
    NO_INPUT = 66
    """EX_NOINPUT: the source cannot be found or read."""
    REFUSED = 69
    """EX_UNAVAILABLE: the warehouse or AWS refused the operation; retrying as is will not help."""
    INTERNAL = 70
    """EX_SOFTWARE: a bug."""
    IO_ERROR = 74
    """EX_IOERR: a local file could not be written (disk full, permission, foreign lock file)."""
    TEMPFAIL = 75
    """EX_TEMPFAIL: worth retrying later (busy, connection refused or lost, throttled)."""
    HANGUP = 129
    """128 + SIGHUP."""
    INTERRUPTED = 130
    """128 + SIGINT."""
    TERMINATED = 143
    """128 + SIGTERM."""


EXIT_CODES: dict[int, str] = {
    0: "ok",
    1: "checks failed, or an analytics result differs from the expected one",
    2: (
        "usage or configuration error (a bad flag or setting, credentials refused, tables not there yet, "
        "a mistake in a query's text: its syntax, an unknown column or function)"
    ),
    65: "bad input rejected; nothing was changed",
    66: "the source cannot be found or read",
    69: "the warehouse or AWS refused the operation (retrying as is will not help)",
    70: "internal error: a bug (run again with --debug and report the traceback)",
    74: "a local file could not be written (disk full, no permission, a foreign lock file)",
    75: (
        "temporary failure: retry later (warehouse busy, connection refused or lost, S3 throttling, "
        "a source file deleted while it was read)"
    ),
    129: "hung up (SIGHUP: its terminal closed); nothing was changed",
    130: "interrupted (SIGINT); nothing was changed",
    143: "terminated (SIGTERM); nothing was changed",
}
"""Exit code -> what it means, for ``--help``, ``--json`` and the README (a test keeps them equal)."""


class SparkifyError(Exception):
    """Base class: a problem the user can act on. Its message is one line that says what to do."""

    exit_code: int = ExitCode.REFUSED
    """The process's exit status when this ends a command; a subclass names its own in its class line
    (``class SourceError(SparkifyError, exit_code=ExitCode.NO_INPUT)``), else inherits its base's."""

    def __init_subclass__(cls, exit_code: int | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code = exit_code


class ConfigError(SparkifyError, exit_code=ExitCode.USAGE):
    """A setting is missing, unknown or invalid."""


class SourceError(SparkifyError, exit_code=ExitCode.NO_INPUT):
    """The input cannot be found or read (missing folder, bucket, key, unreadable file)."""


class TransientSourceError(SourceError, exit_code=ExitCode.TEMPFAIL):
    """Reading the input failed in a way worth retrying later: S3 throttling, a 5xx, a dropped
    connection or a body cut short, after sparkify's own bounded retries."""


class BadInputError(SparkifyError, exit_code=ExitCode.BAD_INPUT):
    """Input records could not be parsed or typed, and more of them than --max-errors allows."""


class WarehouseError(SparkifyError, exit_code=ExitCode.REFUSED):
    """The warehouse refused a statement or cannot be reached."""


class TransientWarehouseError(WarehouseError, exit_code=ExitCode.TEMPFAIL):
    """A failure worth retrying: a lost connection, a serialization failure, a deadlock."""


class ChecksNotRun(TransientWarehouseError):
    """The load committed, then the connection dropped before the checks ran: ``loaded; checks not run``."""


class WarehouseBusyError(WarehouseError, exit_code=ExitCode.TEMPFAIL):
    """Another sparkify process holds the warehouse (``--no-wait``), or held it past ``--wait-timeout``."""


class LocalIOError(SparkifyError, exit_code=ExitCode.IO_ERROR):
    """A local file could not be written or locked: disk full, no permission, a foreign lock file.
    The message names the path and what to do."""


class MissingTableError(WarehouseError, exit_code=ExitCode.USAGE):
    """A table the step needs does not exist yet."""


class ForeignTableError(WarehouseError, exit_code=ExitCode.USAGE):
    """A table under a name sparkify writes is not one sparkify made (another application's
    ``users``, or columns sparkify does not make): it is never emptied or changed."""


class QueryError(SparkifyError, exit_code=ExitCode.USAGE):
    """An analytics query cannot be read, or cannot be translated faithfully to the engine's SQL."""


class CheckFailed(SparkifyError, exit_code=ExitCode.CHECKS_FAILED):
    """One or more quality checks, or an analytics comparison, failed."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived: stop now, roll back, release the lock, record the run as interrupted.

    A :class:`KeyboardInterrupt` (so a :class:`BaseException`): no ``except Exception`` takes it for a
    problem of the input and carries on, and psycopg cancels the server's query on it.
    ``committed`` is the load id of a transaction that committed before the signal took effect.
    """

    def __init__(self, signum: int):
        import signal

        self.signum = int(signum)
        self.name = signal.Signals(signum).name
        self.committed: str | None = None
        super().__init__(f"{self.name} received")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` closest to ``name`` (a typo's likely meaning), or None when none is
    close enough (:func:`difflib.get_close_matches`' default cutoff, 0.6)."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return close[0] if close else None


def did_you_mean(name: str, choices: Iterable[str], *, aside: bool = False) -> str:
    """The hint for an unknown ``name``: `` Did you mean 'x'?`` for the closest of ``choices``
    (`` (did you mean 'x'?)`` with ``aside``, for the middle of a sentence), or ``""`` when none
    is close. The one "did you mean" of every message."""
    close = closest(name, choices)
    if close is None:
        return ""
    return f" (did you mean {close!r}?)" if aside else f" Did you mean {close!r}?"
