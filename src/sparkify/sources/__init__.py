"""Where raw JSON comes from: a local folder (or, later, S3). Sources list and read files; they know
nothing of tables or SQL.

A source root holds ``song_data/`` (one JSON object per file, ``TR*.json``) and ``log_data/`` (one
newline-delimited JSON file per day). Files may be gzip-compressed (``.json.gz``).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

Kind = Literal["songs", "events"]

FOLDERS: dict[str, str] = {"songs": "song_data", "events": "log_data"}
"""The folder under a source root that holds each kind of file."""


@dataclass(frozen=True)
class SourceFile:
    """One input file or object."""

    name: str
    """What error messages and the ledger call it: a path or an s3:// URI."""
    size: int
    version: str
    """Changes when the content changes: mtime for files, ETag for objects."""
    path: Path | None = None
    """The local path, when the file is on this machine."""

    @property
    def is_gzip(self) -> bool:
        return self.name.endswith(".gz")


class Source(Protocol):
    """A place that lists and reads the input files of each kind."""

    description: str

    def list(self, kind: Kind) -> list[SourceFile]:
        """Every file of that kind, sorted by name. Raises SourceError if the place is missing."""
        ...

    def read_bytes(self, file: SourceFile) -> bytes:
        """The file's content, decompressed."""
        ...


class CorruptFileError(Exception):
    """A file's bytes cannot be decoded as a whole (e.g. a truncated gzip stream): its records are
    rejected, the run goes on."""


def decompress(name: str, data: bytes) -> bytes:
    """Gunzip ``data`` when ``name`` ends in .gz (or the bytes carry the gzip magic number)."""
    if name.endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptFileError(f"not a valid gzip file: {exc}") from exc
    return data


def open_source(location: str | Path) -> Source:
    """The source for a local folder (``s3://`` sources come with the S3 support)."""
    text = str(location)
    if text.startswith("s3://"):
        from sparkify.errors import ConfigError

        raise ConfigError(f"S3 sources are not supported yet: {text}. Use a local folder.")
    from sparkify.sources.local import LocalSource

    return LocalSource(Path(text))
