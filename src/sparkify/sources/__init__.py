"""Where raw JSON comes from: a local folder or an ``s3://bucket/prefix``. Sources list and read
files; they know nothing of tables or SQL.

A source root holds ``song_data/`` (one JSON object per file, ``TR*.json``) and ``log_data/`` (one
newline-delimited JSON file per day); either may instead be given a place of its own.

Discovery reads every file under a kind's place, as Redshift's ``COPY`` of a prefix does: whatever
its name or suffix (``.json``, ``.jsonl``, ``.ndjson``, upper case, none). A file is gzip-compressed
when its first bytes are the gzip magic number, whatever its name. Only zero-byte files and folder
placeholders (S3 keys ending in ``/``) are passed over; a :class:`Listing` counts them so a run can
say so. A kind with no file to read is a :class:`~sparkify.errors.SourceError` naming the place.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from sparkify.schema import EVENT_FILES, SONG_FILES

Kind = Literal["songs", "events"]


@dataclass(frozen=True)
class SourceFile:
    """One input file or object."""

    name: str
    """What error messages and the ledger call it: a path or an s3:// URI."""
    size: int
    version: str
    """Changes when the content changes: mtime for files, ETag for objects."""
    path: str | None = None
    """The local path, when the file is on this machine (text, not a :class:`~pathlib.Path`: building
    20,000 of those took a third of a listing's time)."""

    @property
    def is_gzip(self) -> bool | None:
        """True when the file starts with the gzip magic number (its name does not matter).

        Reads the first two bytes of a local file; None for a remote one, whose content is known
        only once read (:func:`decompress` then decides). Raises OSError if the file is unreadable.
        """
        if self.path is None:
            return None
        with open(self.path, "rb") as f:
            return f.read(2) == GZIP_MAGIC


GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of every gzip stream (RFC 1952)."""


class Listing(list):
    """The files of one kind to read (a list of :class:`SourceFile`, sorted by name), and what the
    listing passed over without reading, by name.

    Compares equal to a plain list of the same files.
    """

    def __init__(
        self,
        files: Iterable[SourceFile] = (),
        *,
        place: str = "",
        empty: Iterable[str] = (),
        placeholders: Iterable[str] = (),
        repeated: Iterable[str] = (),
    ):
        super().__init__(sorted(files, key=lambda f: f.name))
        self.place = place
        """Where the files were listed: a folder path or an s3:// URI."""
        self.empty = sorted(empty)
        """Zero-byte files or objects: nothing to read (e.g. ``.keep``, ``_SUCCESS``)."""
        self.placeholders = sorted(placeholders)
        """S3 keys ending in ``/``: "folders" made by consoles and sync tools, not files."""
        self.repeated = sorted(repeated)
        """Local folders reached a second time through a symbolic link (a loop, or two links to one
        folder), and links to a file already listed: each file is read once, under its resolved path."""

    @property
    def passed_over(self) -> int:
        """How many entries were not read: zero-byte files, folder placeholders, folders seen twice."""
        return len(self.empty) + len(self.placeholders) + len(self.repeated)


class Source(Protocol):
    """A place that lists and reads the input files of each kind.

    A source may also have ``max_concurrency: int``: how many files the reader reads at once from
    threads (remote sources; ``read_bytes`` must then be thread-safe). Without it, files are read one
    after another.
    """

    description: str

    def list(self, kind: Kind) -> Listing:
        """Every non-empty file of that kind, sorted by name, with what was passed over.

        Raises SourceError naming the place if it is missing or unreadable, or holds no file to read.
        """
        ...

    def read_bytes(self, file: SourceFile) -> bytes:
        """The file's content, decompressed."""
        ...


class CorruptFileError(Exception):
    """A file's bytes cannot be decoded as a whole (e.g. a truncated gzip stream): its records are
    rejected, the run goes on."""


def decompress(name: str, data: bytes) -> bytes:
    """Gunzip ``data`` when it starts with the gzip magic number, whatever ``name`` says; other bytes
    are returned as they are. ``name`` only names the file in the CorruptFileError of a broken stream.
    """
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptFileError(f"starts like gzip but is not a valid gzip file: {exc}") from exc
    return data


def open_source(
    location: str | Path | None = None,
    *,
    song_source: str | Path | None = None,
    log_source: str | Path | None = None,
    s3_endpoint: str | None = None,
    s3_concurrency: int | None = None,
) -> Source:
    """The source at ``location``: a local folder or ``s3://bucket/prefix``, each holding song_data/
    and log_data/.

    ``song_source`` / ``log_source`` take that kind of file from another folder or prefix (with both,
    ``location`` may be None). All three must be local, or all ``s3://``. ``s3_endpoint`` and
    ``s3_concurrency`` apply to S3 only. Raises ConfigError when the combination makes no sense.
    """
    songs, events = SONG_FILES.flag, EVENT_FILES.flag
    flags = {"--source": location, songs: song_source, events: log_source}
    given = {flag: str(value) for flag, value in flags.items() if value is not None and str(value) != ""}
    if "--source" not in given and not (songs in given and events in given):
        from sparkify.errors import ConfigError

        raise ConfigError(f"No source given: pass --source, or both {songs} and {events}.")
    remote = {flag for flag, value in given.items() if value.startswith("s3://")}
    if remote and remote != set(given):
        from sparkify.errors import ConfigError

        shown = ", ".join(f"{flag} {value}" for flag, value in given.items())
        raise ConfigError(f"Mixed sources ({shown}): give all local folders or all s3:// URIs.")
    if remote:
        from sparkify.sources.s3 import DEFAULT_CONCURRENCY, S3Source, parse_s3_uri

        bucket, prefix = parse_s3_uri(given.get("--source") or given[songs])
        return S3Source(
            bucket,
            prefix,
            song_prefix=given.get(songs),
            log_prefix=given.get(events),
            endpoint_url=s3_endpoint,
            max_concurrency=s3_concurrency or DEFAULT_CONCURRENCY,
        )
    from sparkify.sources.local import LocalSource

    return LocalSource(
        Path(given["--source"]) if "--source" in given else None,
        song_dir=Path(given[songs]) if songs in given else None,
        log_dir=Path(given[events]) if events in given else None,
    )


def check_source(source: Source) -> None:
    """Raise SourceError now if ``source`` names a place that is not there, for a command to refuse
    before it creates or changes anything: a local source's folders (a stat each). A remote source has
    no such check (its listing finds a wrong prefix)."""
    check = getattr(source, "check", None)
    if check is not None:
        check()


def open_configured(settings) -> Source:
    """The source :class:`sparkify.config.Settings` name (``source``, ``song_source``,
    ``log_source``, ``s3_endpoint``, ``s3_concurrency``). When neither ``source`` nor both
    ``song_source`` and ``log_source`` are set, the default source: ``./data/sparkify-sample`` in a
    checkout, else the sample shipped in the package (:func:`sparkify.config.default_source`).
    Raises ConfigError as :func:`open_source` does."""
    location = settings.source
    if location is None and not (settings.song_source and settings.log_source):
        from sparkify.config import default_source

        location = str(default_source())
    return open_source(
        location,
        song_source=settings.song_source,
        log_source=settings.log_source,
        s3_endpoint=settings.s3_endpoint,
        s3_concurrency=settings.s3_concurrency,
    )
