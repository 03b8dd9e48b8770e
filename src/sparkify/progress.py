"""The progress interface the library reports to: :class:`Progress` (the CLI draws bars or plain
lines) and :class:`NoProgress`, which shows nothing. Imports nothing of sparkify, so every room can
report through it.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Where the pipeline reports progress on long work. The CLI draws bars or plain lines."""

    def start(self, task: str, total: int | None) -> None: ...

    def advance(self, task: str, amount: int = 1, nbytes: int = 0) -> None: ...

    def finish(self, task: str) -> None: ...


class NoProgress:
    def start(self, task: str, total: int | None) -> None:
        pass

    def advance(self, task: str, amount: int = 1, nbytes: int = 0) -> None:
        pass

    def finish(self, task: str) -> None:
        pass
