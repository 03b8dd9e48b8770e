"""SIGINT, SIGTERM and SIGHUP: stop promptly, and never in the middle of a commit.

:func:`install` (called by the CLI's entry point, main thread only) makes these signals raise
:class:`Interrupted` -- a :class:`KeyboardInterrupt`, so that no ``except Exception`` swallows it and
psycopg cancels the running query on the server. The first signal counts; later ones are ignored
while the process cleans up (rolls back, records the run, releases its lock).

Drivers that run a query in C turn a signal into their own error (DuckDB: ``RuntimeError: Query
interrupted``); code that maps driver errors calls :func:`pending` first, so that the interrupt is
reported as one and not as a warehouse or input problem.

Inside :func:`deferred` (a commit, recording a run's outcome) a signal is only noted; it is raised
when the block ends, so a commit is either wholly done or not begun when the process stops.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from sparkify.errors import Interrupted

HANDLED = (signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))
"""SIGHUP too: a run started from a terminal that closes (an ssh session dropped) stops as cleanly
as one interrupted, its run recorded as ``interrupted`` (POSIX only)."""

_received: int | None = None
"""The first signal received, or None."""
_raised = False
"""True once :class:`Interrupted` has been raised for it (later calls do not raise it again)."""
_deferring = 0
_done: str | None = None
"""What the command has made permanent so far (see :func:`note_done`), or None."""


def _reset() -> None:
    """No signal received, none deferred, nothing done: the state a command starts and ends with."""
    global _received, _raised, _deferring, _done
    _received, _raised, _deferring, _done = None, False, 0, None


def install() -> None:
    """Make the :data:`HANDLED` signals raise :class:`Interrupted` (main thread only; elsewhere a no-op)."""
    _reset()
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in HANDLED:
        signal.signal(signum, _handler)


def exit_on_signal(code: int) -> None:
    """For the console script once its command has ended and printed its outcome: a signal from now
    on (the interpreter closing connections and joining threads) ends the process at once with
    ``code``, the command's own exit code -- not with a traceback, another code or no word at all.
    Flushes stdout and stderr first, as :func:`os._exit` does not (main thread only)."""
    import os
    import sys

    if threading.current_thread() is not threading.main_thread():
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()

    def leave(signum: int, frame) -> None:
        os._exit(code)

    for signum in HANDLED:
        signal.signal(signum, leave)


def uninstall() -> None:
    """Give the :data:`HANDLED` signals back their default behaviour (tests calling main() in process),
    and forget the signal received: code that runs after the command in the same process (a library
    call, the next test) must not take it for a signal of its own."""
    _reset()
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in HANDLED:
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)


def _handler(signum: int, frame) -> None:
    global _received, _raised
    if _received is not None:
        return  # already stopping: let the cleanup finish
    _received = signum
    if _deferring:
        return  # raised when the deferred block ends
    _raised = True
    raise Interrupted(signum)


def received() -> int | None:
    """The signal received (one of :data:`HANDLED`), or None."""
    return _received


def pending() -> Interrupted | None:
    """An :class:`Interrupted` for the signal received, or None: for code that maps a driver error
    (``raise interrupts.pending() or WarehouseError(...)``), so an interrupt is never taken for one."""
    return Interrupted(_received) if _received is not None else None


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived and has not been raised yet."""
    global _raised
    if _received is not None and not _raised and not _deferring:
        _raised = True
        raise Interrupted(_received)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold off a signal until the block ends (a commit; recording an outcome). Nests."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    check()


def note_done(what: str) -> None:
    """Note what now stands whatever happens next, as the end of a sentence: ``"load 1a2b3c4d was
    committed"``. A signal from here on is reported as having come after it
    (``Interrupted after load 1a2b3c4d was committed.``), never as "nothing was changed"."""
    global _done
    _done = what


def done() -> str | None:
    """What :func:`note_done` last noted in this command, or None (nothing was made permanent)."""
    return _done


def is_fatal(exc: BaseException) -> bool:
    """True for errors no fallback may absorb: an interrupt (or a driver error caused by one), running
    out of memory, an operating-system I/O error. Parsers use it before trying another way."""
    if _received is not None or isinstance(exc, (KeyboardInterrupt, MemoryError, OSError)):
        return True
    try:
        import duckdb
    except ImportError:  # pragma: no cover -- duckdb is a dependency
        return False
    return isinstance(exc, (duckdb.OutOfMemoryException, duckdb.IOException, duckdb.InterruptException))


def stopped_line(signum: int, committed: str | None = None) -> str:
    """The one line a signal ends a command with: what stands, if the command had made anything
    permanent before it came (noted by :func:`note_done`; ``committed``: the load id a commit the
    signal arrived during went through with), else that nothing was changed:
    ``Interrupted; nothing was changed.``, ``Terminated after load 1a2b3c4d was committed.``"""
    what = stopped_by(signum)
    if _done:  # noted once the commit went through (even when the signal came during it)
        return f"{what} after {_done}."
    if committed:
        return f"{what} after load {committed} was committed."
    return f"{what}; nothing was changed."


def stopped_by(signum: int) -> str:
    """How the CLI's last line says a signal stopped it: ``Interrupted`` (SIGINT), ``Terminated``
    (SIGTERM), ``Hung up`` (SIGHUP)."""
    if signum == signal.SIGINT:
        return "Interrupted"
    return "Hung up" if signum == getattr(signal, "SIGHUP", None) else "Terminated"
