"""Output for people: rich tables and progress bars on a terminal, plain lines elsewhere."""

from __future__ import annotations

import os
import sys
import time

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sparkify.wording import plural, printable

PLAIN_WIDTH = 100
"""Width used when output is not a terminal, so piped and tested output is stable."""


class _Console(Console):
    """rich's Console, but when what reads the output stops reading (``| head``) the rest of the
    output is dropped and the command goes on to its own exit code (a failed check is still 1),
    instead of rich's exit 1 whatever happened."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())  # later writes, rich's or click's, go nowhere
        except (OSError, ValueError):  # no real file descriptor (a test's captured stream)
            pass


def make_console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    return _Console(
        file=stream,
        width=None if is_tty else PLAIN_WIDTH,
        no_color=not is_tty,
        highlight=False,
        emoji=False,
        markup=False,  # everything printed is plain text: data values are never read as markup
        soft_wrap=not is_tty,
    )


def human_bytes(n: int) -> str:
    """1234 -> '1.2 kB', 3716227 -> '3.7 MB'."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} B"


class ProgressReporter:
    """The pipeline's Progress: rich bars on a terminal, a plain line per finished task otherwise,
    nothing when quiet."""

    def __init__(self, console: Console, quiet: bool = False):
        self.console = console
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self._bars: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._counts: dict[str, int] = {}
        self._totals: dict[str, int | None] = {}
        self._started: dict[str, float] = {}
        self._bytes: dict[str, int] = {}

    def start(self, task: str, total: int | None) -> None:
        self._counts[task] = 0
        self._bytes[task] = 0
        self._totals[task] = total
        self._started[task] = time.perf_counter()
        if self.live:
            if self._bars is None:
                self._bars = Progress(
                    TextColumn("{task.description:<16}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[size]}"),
                    TimeElapsedColumn(),
                    console=self.console,
                    transient=False,
                )
                self._bars.start()
            self._tasks[task] = self._bars.add_task(task, total=total, size="")

    def advance(self, task: str, amount: int = 1, nbytes: int = 0) -> None:
        self._counts[task] = self._counts.get(task, 0) + amount
        self._bytes[task] = self._bytes.get(task, 0) + nbytes
        if self._bars is not None and task in self._tasks:
            size = human_bytes(self._bytes[task]) if self._bytes[task] else ""
            self._bars.update(self._tasks[task], advance=amount, size=size)

    def finish(self, task: str) -> None:
        seconds = time.perf_counter() - self._started.get(task, time.perf_counter())
        if self._bars is not None and task in self._tasks:
            total = self._totals.get(task)
            if total is not None:
                self._bars.update(self._tasks[task], completed=total)
        elif not self.quiet:
            total = self._totals.get(task)
            unit = "table" if task == "transform" else "file"  # stage and generate count files
            size = f", {human_bytes(self._bytes[task])}" if self._bytes.get(task) else ""
            count = total if total is not None else self._counts[task]
            self.console.print(f"{task}: {plural(count, unit)}{size} in {seconds:.1f}s")

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None


def text(value: object) -> Text:
    """A value from the data (a song title, a file name) as rich :class:`Text`: never read as markup,
    so ``[feat. Bruno Mars]`` and ``[/Outro]`` print as they are, and control characters are escaped."""
    return Text(printable(value))


COMPACT_BOX = box.Box("    \n    \n -  \n    \n    \n    \n    \n    \n")
"""No borders, a dashed rule under the header, columns one space apart: many columns in 80."""


def table(
    title: str | None,
    columns: list[str],
    rows: list[list],
    *,
    right: set[int] | None = None,
    compact: bool = False,
) -> Table:
    """A rich table; every header and cell is plain text (see :func:`text`), never markup.
    ``compact``: no borders and one space between columns, so a wide listing still fits an
    80-column terminal."""
    if compact:
        t = Table(
            title=None if title is None else text(title),
            title_justify="left",
            box=COMPACT_BOX,
            show_edge=False,
            pad_edge=False,
            padding=0,
            collapse_padding=True,
        )
    else:
        t = Table(title=None if title is None else text(title), title_justify="left", show_edge=True)
    right = right or set()
    for i, c in enumerate(columns):
        t.add_column(text(c), justify="right" if i in right else "left")
    for r in rows:
        t.add_row(*[text(v) for v in r])
    return t
