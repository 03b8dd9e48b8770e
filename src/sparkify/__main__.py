"""The ``sparkify`` console script and ``python -m sparkify``: :func:`main`."""

from __future__ import annotations

import signal
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def _early(signum: int, frame) -> None:
    """The handler until sparkify's own is installed (the first milliseconds): stop, saying which signal."""
    stop = KeyboardInterrupt()
    stop.signum = signum  # type: ignore[attr-defined]  # read by main()
    raise stop


def main() -> NoReturn:
    """Run the command line on ``sys.argv`` and exit with its code (the README's table).

    Signals are the CLI's from the first moment, before the commands are loaded (which takes a
    moment): a SIGINT, SIGTERM or SIGHUP then ends the process with 128 + the signal and one line,
    ``Interrupted; nothing was changed.``, as it would a moment later -- not with a traceback, or
    silently. Once the command has ended and printed its outcome, a signal while the interpreter shuts
    down ends the process at once with the command's own code."""
    handled = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    for signum in handled:  # before anything else is imported
        signal.signal(signum, _early)
    try:
        from sparkify import interrupts

        interrupts.install()
        from sparkify.cli import cli
        from sparkify.cli.app import run

        code = run(cli, sys.argv[1:], leaving=True)
    except KeyboardInterrupt as exc:  # before the command began, or after it ended
        from sparkify import interrupts
        from sparkify.errors import Interrupted

        code = (
            exc.exit_code
            if isinstance(exc, Interrupted)
            else 128 + int(getattr(exc, "signum", signal.SIGINT))
        )
        line = interrupts.stopped_line(code - 128, getattr(exc, "committed", None))
        print(line, file=sys.stderr)
        _early_json(line, code)
        interrupts.exit_on_signal(code)
    sys.exit(code)


def _early_json(line: str, code: int) -> None:
    """With ``--json``, the summary line of a command a signal stopped before it began (the README:
    printed whatever the outcome). Best effort: stdout may be gone too."""
    import contextlib

    from sparkify import summary

    out = summary.early(sys.argv[1:])
    if out is not None:
        with contextlib.suppress(OSError):
            print(summary.dumps(summary.add_error(out, line, code)), flush=True)


if __name__ == "__main__":
    main()
