"""The ``sparkify`` console script and ``python -m sparkify``: :func:`main`."""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> NoReturn:
    """Run the command line on ``sys.argv`` and exit with its code (the README's table).

    Signals are the CLI's from the first moment, before the commands are loaded (which takes a
    moment): a SIGINT, SIGTERM or SIGHUP then ends the process with 128 + the signal and one line,
    ``Interrupted; nothing was changed.``, as it would a moment later -- not with a traceback, or
    silently. Once the command has ended and printed its outcome, a signal while the interpreter shuts
    down ends the process at once with the command's own code."""
    from sparkify import interrupts
    from sparkify.errors import ExitCode, Interrupted

    interrupts.install()
    try:
        from sparkify.cli import cli
        from sparkify.cli.app import run

        code = run(cli, sys.argv[1:], leaving=True)
    except KeyboardInterrupt as exc:  # before the command began, or after it ended
        code = exc.exit_code if isinstance(exc, Interrupted) else int(ExitCode.INTERRUPTED)
        print(interrupts.stopped_line(code - 128, getattr(exc, "committed", None)), file=sys.stderr)
        interrupts.exit_on_signal(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
