"""Waiting for another sparkify process: one loop for every engine's lock, bounded by
``--wait-timeout``. Imports no driver."""

from __future__ import annotations

import time
from collections.abc import Callable

from sparkify import interrupts
from sparkify.errors import WarehouseBusyError

POLL_SECONDS = 0.2
"""How often a waiting process tries the lock again (the holder is never slowed down by it)."""


def wait_for(
    try_lock: Callable[[], bool],
    *,
    what: str,
    wait: bool,
    timeout: float | None,
    on_wait: Callable[[str], None] | None,
    holder: Callable[[], str] = lambda: "another sparkify process",
) -> None:
    """Take a lock through ``try_lock`` (True when taken, never blocking). Busy and not ``wait``:
    :class:`WarehouseBusyError` at once. Busy and ``wait``: tell ``on_wait`` once, try again every
    :data:`POLL_SECONDS` for up to ``timeout`` seconds (None: no limit), then WarehouseBusyError
    (exit 75: worth retrying later). ``what`` names the warehouse in messages, ``holder()`` what holds
    it (asked after a failed try: "another sparkify process", or another program a driver names)."""
    if try_lock():
        return
    if not wait:
        raise WarehouseBusyError(
            f"{_capital(holder())} is using {what}. Wait for it to finish, or run with --wait to queue behind it."
        )
    if on_wait:
        on_wait(f"Waiting for {holder()} using {what} ...")
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        interrupts.check()
        if deadline is not None and time.monotonic() >= deadline:
            raise WarehouseBusyError(
                f"Gave up after waiting {timeout:g}s (--wait-timeout) for {holder()} using {what}. "
                "Retry later, or find the process that holds it."
            )
        time.sleep(
            POLL_SECONDS if deadline is None else max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
        )
        if try_lock():
            return


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
