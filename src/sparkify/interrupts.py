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

import atexit
import contextlib
import os
import signal
import threading
import weakref
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
_fired = False
"""True once the watcher has acted on this command's first signal (see :func:`interruptible`)."""
_lock = threading.Lock()
"""Held by the watcher while it interrupts and by :func:`deferred` while it begins: a commit is never
interrupted by the watcher."""
_queries: weakref.WeakSet = weakref.WeakSet()
"""The DuckDB connections the first signal interrupts at once (:func:`interruptible`)."""
_wakeup: tuple[int, int] | None = None
"""The (read, write) ends of the pipe the interpreter writes each signal's number to, while installed."""


def _reset() -> None:
    """No signal received, none deferred, nothing done: the state a command starts and ends with."""
    global _received, _raised, _deferring, _done, _fired
    _received, _raised, _deferring, _done, _fired = None, False, 0, None, False


def install() -> None:
    """Make the :data:`HANDLED` signals raise :class:`Interrupted` (main thread only; elsewhere a
    no-op), and start the watcher that interrupts DuckDB's queries on the first one
    (:func:`interruptible`)."""
    _reset()
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in HANDLED:
        signal.signal(signum, _handler)
    _start_watcher()


def interruptible(con):
    """Register the DuckDB connection ``con`` (returned as it is): the first signal interrupts the
    query it is running at once. Python runs a signal's handler only between two steps of the main
    thread, and a DuckDB query running on several threads holds the main thread until it ends: the
    events scan of a million events did not stop for 14 seconds. The interpreter also writes each
    signal's number to a pipe (:func:`signal.set_wakeup_fd`); a thread watching it interrupts the
    registered connections (``con.interrupt()``), the query fails with DuckDB's "interrupted", and the
    handler raises :class:`Interrupted` as usual. Not during :func:`deferred` (a commit), and only for
    the first signal: the cleanup after it (rollback, recording the run) is never cut short. Kept
    weakly: a connection closed and dropped is forgotten."""
    _queries.add(con)
    return con


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """For a library caller (the CLI's :func:`install` watches already): while the block runs, the
    first SIGINT interrupts the registered DuckDB connections' queries at once, as in the CLI (a
    million events' scan went on for 11 s after Ctrl-C). Main thread only, and only when nothing else
    has the interpreter's wakeup fd (asyncio's is left alone); otherwise it changes nothing."""
    global _fired
    if _wakeup is not None or threading.current_thread() is not threading.main_thread():
        yield
        return
    _fired = False
    started = _start_watcher(take_over=False)
    try:
        yield
    finally:
        if started:
            _stop_watcher()


def driver_interrupt(exc: BaseException) -> KeyboardInterrupt | None:
    """The interrupt a driver's error stands for, or None: :func:`pending` when a handled signal came,
    else a KeyboardInterrupt for DuckDB's own word for one (``INTERRUPT Error``, ``RuntimeError:
    Query interrupted``) -- a library caller's Ctrl-C, which no sparkify handler saw."""
    interrupted = pending()
    if interrupted is not None:
        return interrupted
    try:
        import duckdb
    except ImportError:  # pragma: no cover -- duckdb is a dependency
        return None
    if isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "query interrupted" in str(exc).lower()
    ):
        return KeyboardInterrupt(str(exc).splitlines()[0] if str(exc) else "interrupted")
    return None


def _start_watcher(*, take_over: bool = True) -> bool:
    """Open the wakeup pipe and its watching thread, once per process (main thread only). Without
    ``take_over``, nothing is done when another wakeup fd is set. True when it started."""
    global _wakeup
    if _wakeup is not None:
        return False
    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    except ValueError:  # not the main thread of the main interpreter
        os.close(read)
        os.close(write)
        return False
    if previous != -1 and not take_over:
        signal.set_wakeup_fd(previous)
        os.close(read)
        os.close(write)
        return False
    _wakeup = (read, write)
    threading.Thread(target=_watch, args=(read,), name="sparkify-signals", daemon=True).start()
    return True


def _stop_watcher() -> None:
    """Close the wakeup pipe (its thread ends) and give the interpreter back no wakeup fd."""
    global _wakeup
    if _wakeup is None:
        return
    write = _wakeup[1]
    _wakeup = None
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    os.close(write)  # the watcher reads the end of the pipe and closes its own end


def _watch(read: int) -> None:
    """The watcher thread: interrupt the registered DuckDB connections on the first handled signal."""
    global _fired
    handled = {int(s) for s in HANDLED}
    try:
        while data := os.read(read, 64):
            if _fired or not handled.intersection(data):
                continue
            with _lock:
                _fired = True
                if _deferring or _raised:
                    continue  # a commit (the signal takes effect once it is done), or already stopping
                for con in list(_queries):
                    with contextlib.suppress(Exception):  # closed meanwhile: nothing to stop
                        con.interrupt()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            os.close(read)


def exit_on_signal(code: int) -> None:
    """For the console script once its command has ended and printed its outcome: a signal from now
    on (the interpreter closing connections and joining threads) ends the process at once with
    ``code``, the command's own exit code -- not with a traceback, another code or no word at all.
    Flushes stdout and stderr first, as :func:`os._exit` does not (main thread only)."""
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
    # The interpreter's last steps run no Python: it gives every signal with a Python handler its
    # default action back (death by the signal, no word: seen after a command had printed its
    # table). The exit handlers run just before that, once the threads are joined: from then on
    # the signals are ignored, and the process ends with ``code`` a moment later.
    atexit.register(_ignore_signals)


def _ignore_signals() -> None:
    """Ignore the :data:`HANDLED` signals (the last moments of the process, see :func:`exit_on_signal`)."""
    if threading.current_thread() is threading.main_thread():
        for signum in HANDLED:
            signal.signal(signum, signal.SIG_IGN)


def uninstall() -> None:
    """Give the :data:`HANDLED` signals back their default behaviour (tests calling main() in process),
    and forget the signal received: code that runs after the command in the same process (a library
    call, the next test) must not take it for a signal of its own."""
    _reset()
    if threading.current_thread() is not threading.main_thread():
        return
    _stop_watcher()
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
    with _lock:  # the watcher is not interrupting anything as the block begins
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


@contextlib.contextmanager
def rehearsal() -> Iterator[None]:
    """Steps run inside change nothing (``sparkify sql`` runs them on a recording warehouse): what
    they note as done is forgotten on the way out, so a later error does not claim it stands."""
    global _done
    before = _done
    try:
        yield
    finally:
        _done = before


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
