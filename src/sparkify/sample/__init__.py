"""The real Sparkify sample, shipped inside the package so that an installed ``sparkify run`` needs
nothing else: one compressed archive (``sparkify-sample.tar.xz``, about 1 MB), unpacked on first use
into a cache folder, with its provenance (``SOURCE.md``) and a note of where it was unpacked from.

Also here: ``log_json_path.json``, the JSONPaths file Redshift's ``COPY`` reads the events through
(``sparkify generate`` writes it beside the data it makes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

ARCHIVE = "sparkify-sample.tar.xz"
JSON_PATHS = "log_json_path.json"
COMPLETE = ".unpacked"
"""Written last: a folder without it was not fully unpacked (a killed process) and is redone."""


def cache_root() -> Path:
    """Where sparkify caches files: ``$XDG_CACHE_HOME/sparkify``, else ``~/.cache/sparkify``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base).expanduser() / "sparkify"


def archive_bytes() -> bytes:
    """The shipped archive."""
    return (resources.files(__name__) / ARCHIVE).read_bytes()


def json_paths_text() -> str:
    """The shipped ``log_json_path.json``."""
    return (resources.files(__name__) / JSON_PATHS).read_text(encoding="utf-8")


def path() -> Path:
    """The folder holding the sample's ``song_data/`` and ``log_data/``, unpacked on first use into
    :func:`cache_root` (a folder named after the archive's checksum, so a new version unpacks anew).
    Safe when several processes ask at once: each unpacks into a temporary folder and the first
    rename wins. Raises :class:`sparkify.errors.LocalIOError` when the cache cannot be written."""
    from sparkify.errors import LocalIOError

    data = archive_bytes()
    digest = hashlib.sha256(data).hexdigest()
    target = cache_root() / f"sparkify-sample-{digest[:16]}"
    if (target / COMPLETE).is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target.parent))
        try:
            with tarfile.open(fileobj=_reader(data), mode="r:xz") as tar:
                tar.extractall(scratch, filter="data")
            unpacked = scratch / "sparkify-sample"
            (unpacked / "UNPACKED.md").write_text(
                f"Unpacked by sparkify from its packaged {ARCHIVE} (sha256 {digest}).\n"
                "Where the data came from: SOURCE.md.\n",
                encoding="utf-8",
            )
            (unpacked / COMPLETE).write_text(digest + "\n", encoding="ascii")
            if target.exists():  # an incomplete earlier attempt, or another process just finished
                if (target / COMPLETE).is_file():
                    return target
                shutil.rmtree(target, ignore_errors=True)
            try:
                unpacked.rename(target)
            except OSError:
                if not (target / COMPLETE).is_file():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    except OSError as exc:
        raise LocalIOError(
            f"Cannot unpack the shipped sample into {target.parent}: {exc.strerror or exc}. Set XDG_CACHE_HOME "
            "to a writable folder, or pass --source."
        ) from exc
    return target


def _reader(data: bytes):
    import io

    return io.BytesIO(data)
