"""Files sparkify writes for people (the report, ``sparkify.toml``): replaced in one step. And its
scratch folders under TMPDIR (spool, parser spill, COPY pipe), named so that those a killed process
left behind are removed by the next run (:func:`scratch_dir`)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

STALE_SECONDS = 3600
"""A scratch folder of a process that is gone is removed once it has not changed for this long (so a
folder whose process runs in another PID namespace, sharing TMPDIR, is never taken while in use)."""

SCRATCH_USES = ("spool", "reader", "copy", "redshift")
"""What sparkify's scratch folders are for; the only names :func:`sweep_scratch` considers."""

_SCRATCH = re.compile(rf"sparkify-(?:{'|'.join(SCRATCH_USES)})-(\d+)-[a-z0-9_]{{8}}")
"""A scratch folder's name: ``sparkify-<use>-<process id>-<tempfile's 8 random characters>``."""

MARK = ".sparkify-scratch"
"""The file every scratch folder holds from its first moment: a folder without it is never removed,
whatever its name (``sparkify-export-2024-06`` was taken for process 2024's)."""


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` in one step: a reader sees the old file or the new one,
    never half of it. The folder must exist.

    The file keeps the mode it had; a new file gets a new file's usual mode (0o666 less the
    umask). Raises OSError as the write does, leaving no temporary file behind.
    """
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)  # mkstemp makes the file private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def scratch_dir(use: str) -> tempfile.TemporaryDirectory:
    """A new scratch folder under TMPDIR, ``sparkify-<use>-<process id>-<random>`` (removed with the
    :class:`tempfile.TemporaryDirectory` it is), after removing those a killed process left
    (:func:`sweep_scratch`). ``use``: one of :data:`SCRATCH_USES` (ValueError otherwise)."""
    if use not in SCRATCH_USES:
        raise ValueError(f"scratch folders are for {', '.join(SCRATCH_USES)}, not {use!r}")
    sweep_scratch()
    made = tempfile.TemporaryDirectory(prefix=f"sparkify-{use}-{os.getpid()}-")
    Path(made.name, MARK).touch()
    return made


def sweep_scratch() -> list[str]:
    """Remove the scratch folders under TMPDIR that a sparkify process killed before it could (SIGKILL,
    an out-of-memory kill, a power cut) left: this user's, named as :func:`scratch_dir` names them,
    with a process id that is not running, holding its :data:`MARK`, unchanged for
    :data:`STALE_SECONDS`. Returns their paths. A spool of 10M events is hundreds of MB, the parser's
    spill of a server warehouse gigabytes: a nightly job killed each night would fill the disk. POSIX
    only (elsewhere nothing is removed); never raises."""
    if os.name != "posix":
        return []
    removed = []
    root = tempfile.gettempdir()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        match = _SCRATCH.fullmatch(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_dir(follow_symlinks=False) or info.st_uid != os.getuid():
                continue
            if time.time() - info.st_mtime < STALE_SECONDS or _running(int(match.group(1))):
                continue
            if not os.path.isfile(os.path.join(entry.path, MARK)):
                continue  # named like ours, but not made by scratch_dir
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _running(pid: int) -> bool:
    """True when a process ``pid`` exists (this user's or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True
