"""The ``sparkify`` group, the state its commands share, and the one place where an error becomes a
line on stderr and an exit code (:class:`sparkify.errors.ExitCode`)."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import click

from sparkify import __version__
from sparkify.errors import ExitCode, SparkifyError

if TYPE_CHECKING:
    from sparkify.config import Settings

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class CliState:
    """What the commands of one invocation share, kept on click's context object (``ctx.obj``)."""

    debug: bool = False
    """--debug: show the traceback of an error."""
    quiet: bool = False
    """--quiet (or --json): print nothing but errors and the final result."""
    settings: Settings | None = None
    """The settings of the command running, so that an error about a value names where it came from."""
    summary: dict | None = None
    """With --json: the summary being filled; printed once, at the end, whatever the outcome."""
    wait_timeout: float | None = None
    """--wait-timeout, when the command takes the warehouse options."""
    verify_content: bool = False
    """--verify-content (run, stage)."""


def state() -> CliState:
    """The running invocation's :class:`CliState`."""
    return click.get_current_context().ensure_object(CliState)


class SparkifyGroup(click.Group):
    """A click group whose ``main`` ends every invocation the same way: with ``main(args)``, with
    click's ``CliRunner`` and from the console script alike (see :func:`run`)."""

    def main(  # type: ignore[override]  # same call, but it always exits with our code
        self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None, **extra: Any
    ) -> NoReturn:
        argv = list(sys.argv[1:] if args is None else args)
        sys.exit(run(self, argv))


@click.group(cls=SparkifyGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="sparkify")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and the final result.")
def cli(debug: bool, quiet: bool) -> None:
    """Load Sparkify's song and event JSON into a star schema and check it.

    \b
    Example:
      sparkify run                                   # the shipped sample into ./sparkify.duckdb
      sparkify run --source ~/data --warehouse duckdb:///warehouse.duckdb
      sparkify analytics top_songs --format csv

    Settings come from flags, then SPARKIFY_* environment variables, then sparkify.toml in the
    working directory.

    \b
    Exit codes (the same in every command):
      0    ok
      1    checks failed, or an analytics result differs
      2    usage or configuration error (also: credentials refused, tables not there yet,
           a mistake in a query's text)
      65   bad input rejected; nothing was changed
      66   the source cannot be found or read
      69   the warehouse or AWS refused the operation
      70   internal error (a bug: --debug shows the traceback)
      74   a local file could not be written (disk full, permission)
      75   temporary failure, retry later (busy, connection refused or lost, throttled)
      130  interrupted (SIGINT); 143 terminated (SIGTERM); 129 hung up (SIGHUP)
    """
    obj = state()
    obj.debug = debug
    obj.quiet = quiet


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI (the console script ``sparkify``); exit with the code of
    :class:`sparkify.errors.ExitCode` (the README's table)."""
    cli.main(args=argv)


def run(group: click.Group, argv: list[str], *, leaving: bool = False) -> int:
    """Run one invocation of ``group``; return its exit code after printing what ended it: one
    line on stderr for any error. SIGINT, SIGTERM and SIGHUP stop it promptly: the open transaction rolls
    back, the lock is released, the run is recorded as interrupted, and the code is 128 + the signal.

    ``leaving``: the process exits right after (the console script): a signal once the command has
    ended exits at once with its code (:func:`sparkify.interrupts.exit_on_signal`). Otherwise (a
    test calling main() in process) the signals get their default behaviour back."""
    from sparkify import interrupts

    obj = CliState()
    interrupts.install()
    code = int(ExitCode.INTERRUPTED)  # what a signal raised past _invoke's handlers means
    try:
        with naming_stdout():
            code = _invoke(group, argv, obj, debug="--debug" in argv)
        return code
    finally:
        if leaving:
            interrupts.exit_on_signal(code)
        else:
            interrupts.uninstall()


def _invoke(group: click.Group, args: list[str], obj: CliState, debug: bool) -> int:
    """Run the command; return the exit code after printing what ended it."""
    from sparkify import interrupts
    from sparkify.errors import Interrupted

    caught: BaseException | None = None  # what ended the command, for --json's counts of a failed load
    from sparkify import summary

    obj.summary = summary.early(args)  # a usage error or a signal before --json is parsed prints it too
    try:
        # make_context + invoke, not click's own main(): click would turn an interrupt into Abort (and
        # print a blank line first); here it reaches the handler below as the Interrupted it is
        with group.make_context("sparkify", args, obj=obj) as ctx:
            group.invoke(ctx)
        code, message = 0, None
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.exceptions.Abort:  # a prompt (infra up) answered with Ctrl-C or end of input
        code, message = ExitCode.INTERRUPTED, "Aborted."
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code
        return _finish_json(obj, code, exc.format_message())
    except SparkifyError as exc:
        if debug or obj.debug:
            traceback.print_exc()
        caught = exc
        code, message = exc.exit_code, f"Error: {_error_text(obj, exc)}"
    except KeyboardInterrupt as exc:  # Interrupted (SIGINT, SIGTERM, SIGHUP) or a Ctrl-C before install
        if debug or obj.debug:
            traceback.print_exc()
        caught = exc
        code = exc.exit_code if isinstance(exc, Interrupted) else ExitCode.INTERRUPTED
        message = interrupts.stopped_line(code - 128, getattr(exc, "committed", None))
    except BrokenPipeError:  # what reads the output stopped (`| head`): nothing more to say, no error
        _stdout_to_devnull()
        return 0
    except (OSError, MemoryError) as exc:
        if debug or obj.debug:
            traceback.print_exc()
        caught = exc
        code, message = _system_error(exc)
    except Exception as exc:
        if debug or obj.debug:
            traceback.print_exc()
        signum = interrupts.received()
        if signum is not None:  # a driver's own error for the signal (DuckDB)
            message = interrupts.stopped_line(int(signum))
            click.echo(message, err=True)
            return _finish_json(obj, 128 + int(signum), message, exc)
        caught = exc
        code = ExitCode.INTERNAL
        message = (
            f"Error: unexpected {type(exc).__name__}: {_error_text(obj, exc)}. "
            "Run again with --debug for the traceback."
        )
    if message:
        click.echo(message, err=True)
    return _finish_json(obj, int(code), message, caught)


def _error_text(obj: CliState, exc: BaseException) -> str:
    """The error's message for the terminal: values blamed on where they came from (flag, env,
    sparkify.toml), every password masked, control characters escaped line by line."""
    from sparkify.console import printable
    from sparkify.urls import mask_url

    text = str(exc)
    if obj.settings is not None:
        text = obj.settings.blame(text)
        text = text.replace(obj.settings.warehouse, mask_url(obj.settings.warehouse))
    return "\n".join(printable(line) for line in text.split("\n"))


def _finish_json(obj: CliState, code: int, message: str | None, exc: BaseException | None = None) -> int:
    """With --json, print the summary (once) with the outcome; return ``code``. A load that failed
    after reading (``exc.stage_report``: rejected input, a refused insert, a signal) still reports its
    load id and what it read and rejected; nothing it read was staged (it rolled back)."""
    if obj.summary is not None:
        from sparkify import summary

        failed_load = getattr(exc, "stage_report", None)
        if failed_load is not None and failed_load.load_id != obj.summary.get("load_id"):
            summary.add_stage(obj.summary, failed_load, rolled_back=True)
        if code:
            summary.add_error(obj.summary, (message or "").removeprefix("Error: "), code)
        text = summary.dumps(obj.summary)
        obj.summary = None
        try:
            click.echo(text)
        except BrokenPipeError:  # the reader is gone (`| true`): the outcome's code stands
            _stdout_to_devnull()
        except OSError as exc:  # stdout on a full disk, /dev/full: the summary is lost, and the code says so
            _stdout_to_devnull()
            failed, line = _system_error(exc)
            click.echo(line, err=True)
            return code or failed
    return code


def _stdout_to_devnull() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush of what the closed pipe
    did not take raises nothing (Python's advice for SIGPIPE ignored)."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout)
        pass


def _system_error(exc: OSError | MemoryError) -> tuple[int, str]:
    """One line for an operating-system error nothing else mapped: the path, and what to do."""
    import errno

    from sparkify import interrupts

    if isinstance(exc, MemoryError):
        return (
            ExitCode.INTERNAL,
            "Error: out of memory. Nothing was changed; free memory, or load fewer files at once.",
        )
    path = exc.filename or "a file"
    reason = exc.strerror or str(exc)
    if path == STDOUT_NAME:
        hint = "send it where it can be written (a file on a disk with room, or /dev/null)"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free space there (or set TMPDIR to a larger disk) and run again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "check who owns it and its permissions, or use another path"
    else:
        hint = "check the disk and the path, then run again"
    done = interrupts.done()  # a load that committed before the write failed stands: say so
    outcome = f"This came after {done}" if done else "Nothing was changed"
    return ExitCode.IO_ERROR, f"Error: cannot write {path}: {reason}. {outcome}; {hint}."


STDOUT_NAME = "standard output"
"""How an error names the command's standard output (a write to it failed: a full disk, /dev/full)."""


class _NamedStream:
    """Standard output whose failed writes name it: an OSError raised writing or flushing it (other
    than a closed pipe, which the commands handle) gets ``filename`` :data:`STDOUT_NAME`, so the error
    line says what could not be written instead of "a file". Everything else is the stream's own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._named(self._stream.write, text)

    def flush(self) -> None:
        self._named(self._stream.flush)

    @staticmethod
    def _named(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            exc.filename = exc.filename or STDOUT_NAME
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _ClosedStream:
    """Standard output the process was started without (``>&-``): every write fails as writing a
    closed descriptor does, naming standard output (exit 74), instead of an AttributeError on None."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str) -> int:
        import errno
        import os

        raise OSError(errno.EBADF, os.strerror(errno.EBADF), STDOUT_NAME)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _Diagnostics:
    """Standard error whose writes never fail the command: a full disk or a closed descriptor there
    loses the messages, not the work, the exit code or the --json line on stdout (a tester's finding:
    every failure became exit 1, "checks failed", with no JSON, when stderr was /dev/full)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                self._stream = None  # once it fails, it is gone for the rest of the command
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._stream = None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


@contextmanager
def naming_stdout() -> Iterator[None]:
    """For the command's duration, ``sys.stdout`` is a :class:`_NamedStream` over itself (a
    :class:`_ClosedStream` when the process has none), and ``sys.stderr`` a :class:`_Diagnostics`."""
    stream, errors = sys.stdout, sys.stderr
    named = _NamedStream(stream if stream is not None else _ClosedStream())
    diagnostics = _Diagnostics(errors)
    sys.stdout, sys.stderr = named, diagnostics
    try:
        yield
    finally:
        if sys.stdout is named:
            sys.stdout = stream
        if sys.stderr is diagnostics:
            sys.stderr = errors
