"""Where raw JSON comes from: a local folder or an ``s3://bucket/prefix``. Sources list and read
files; they know nothing of tables or SQL.

A source root holds ``song_data/`` (one JSON object per file, ``TR*.json``) and ``log_data/`` (one
newline-delimited JSON file per day); either may instead be given a place of its own.

Discovery reads every file under a kind's place, as Redshift's ``COPY`` of a prefix does: whatever
its name or suffix (``.json``, ``.jsonl``, ``.ndjson``, upper case, none). A file is compressed when
its first bytes are a compression's magic number, whatever its name (:func:`compression_of`): gzip,
bzip2 and xz are decompressed (:func:`decompress`); zstd, zip and the like are refused by name.
Only zero-byte files and folder
placeholders (S3 keys ending in ``/``) are passed over; a :class:`Listing` counts them so a run can
say so. A kind with no file to read is a :class:`~sparkify.errors.SourceError` naming the place.
"""

from __future__ import annotations

import bz2
import lzma
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

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
    def compression(self) -> str | None:
        """The compression the file's first bytes name (:func:`compression_of`: ``"gzip"``,
        ``"bzip2"``, ...), whatever its name; None when they name none (plain text).

        Reads the first bytes of a local file; None for a remote one, whose content is known only
        once read (:func:`decompress` then decides). Raises OSError if the file is unreadable.
        """
        if self.path is None:
            return None
        with open(self.path, "rb") as f:
            return compression_of(f.read(MAGIC_BYTES))


MAGIC = (
    ("gzip", re.compile(rb"\x1f\x8b")),
    ("bzip2", re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)")),  # a block, or the end of an empty stream
    ("xz", re.compile(rb"\xfd7zXZ\x00")),
    ("zstd", re.compile(rb"\x28\xb5\x2f\xfd")),
    ("zip", re.compile(rb"PK(\x03\x04|\x05\x06)")),
    ("lz4", re.compile(rb"\x04\x22\x4d\x18")),
    ("lzop", re.compile(rb"\x89LZO\x00\r\n\x1a\n")),
    ("snappy", re.compile(rb"\xff\x06\x00\x00sNaPpY")),
    ("7z", re.compile(rb"7z\xbc\xaf\x27\x1c")),
    ("compress (.Z)", re.compile(rb"\x1f\x9d")),
    ("zlib", re.compile(rb"\x78[\x01\x5e\x9c\xda]")),  # a raw zlib stream (RFC 1950): no gzip header
    ("lzma", re.compile(rb"\x5d\x00\x00")),
)
"""Compressions known by their magic numbers, first bytes no JSON text starts with."""

_MAGIC_FIRST = frozenset(bytes([b]) for b in b"\x1fB\xfd\x28P\x04\x89\xff7x]")
"""The first byte of each magic number in :data:`MAGIC`."""

MAGIC_BYTES = 10
"""How many of a file's first bytes :func:`compression_of` needs."""

DECOMPRESSED = ("gzip", "bzip2", "xz")
"""The compressions sparkify reads (Python's standard library decodes them); any other in
:data:`MAGIC` is one rejected record naming it."""


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
    after another. ``implicit: bool`` True marks the default source, which no setting named (the
    shipped sample): a load refuses it for a warehouse loaded from elsewhere.
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
    """A file's bytes cannot be decoded (a truncated or corrupt gzip stream, bytes after its end that
    are not gzip, a compression sparkify does not read): one rejected record naming the file; the run
    goes on.

    ``decoded``: what was decoded before the bad bytes (the whole gzip members before them; empty
    when nothing could be), which is read as the file's records. ``offset``: where the bad bytes
    start, in bytes from the start of the file."""

    def __init__(self, reason: str, *, decoded: bytes = b"", offset: int = 0):
        super().__init__(reason)
        self.decoded = decoded
        self.offset = offset


def compression_of(head: bytes) -> str | None:
    """The compression whose magic number ``head`` (a file's first :data:`MAGIC_BYTES` bytes, or all
    of a shorter file) starts with: a name from :data:`MAGIC`, or None (plain text, read as it is)."""
    if head[:1] not in _MAGIC_FIRST:  # JSON text: one test, not ten (a load reads 20,000 song files)
        return None
    for name, magic in MAGIC:
        if magic.match(head):
            return name
    return None


def decompress(name: str, data: bytes) -> bytes:
    """``data`` decompressed when it starts with the magic number of gzip, bzip2 or xz, whatever
    ``name`` says; other bytes are returned as they are.

    Raises CorruptFileError when the stream is broken, or for a compression sparkify does not read
    (zstd, zip, ...: :data:`MAGIC`). A file is read member by member or stream by stream, as
    ``gzip -d``, ``bzip2 -d`` and ``xz -d`` do, and zero bytes between or after them are padding;
    from the first member that does not decode whole, or the first bytes after one that are neither
    padding nor another, the error keeps what was decoded before them (``decoded``) and says where
    the bad bytes start. ``name`` is not used (kept for callers)."""
    kind = compression_of(data[:MAGIC_BYTES])
    if kind is None:
        return data
    if kind not in DECOMPRESSED:
        raise CorruptFileError(
            f"{kind}-compressed (its first bytes are {kind}'s magic number), which sparkify does not read: "
            f"decompress it, or compress it with {', '.join(DECOMPRESSED[:-1])} or {DECOMPRESSED[-1]}"
        )
    return _decode(data, kind)


_DECODERS: dict[str, tuple[Callable[[], Any], str, tuple[type[Exception], ...]]] = {
    "gzip": (lambda: zlib.decompressobj(wbits=31), "member", (zlib.error,)),  # CRC-32 and length checked
    "bzip2": (bz2.BZ2Decompressor, "stream", (OSError, EOFError, ValueError)),
    "xz": (lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ), "stream", (lzma.LZMAError, EOFError)),
}
"""Compression -> (a new decoder of one member or stream, what the format calls one, its errors)."""


def _decode(data: bytes, kind: str) -> bytes:
    """Every member (gzip, RFC 1952) or stream (bzip2, xz) of ``data`` decoded, one after another, as
    ``gzip -d``, ``bzip2 -d`` and ``xz -d`` read them; zero bytes between or after them are padding
    (tape blocks; xz's stream padding). Python's own ``bz2.decompress``/``lzma.decompress`` drop
    without a word whatever follows the first stream they cannot decode: here those bytes are the
    CorruptFileError's (see :func:`decompress`)."""
    new, unit, errors = _DECODERS[kind]
    parts: list[bytes] = []
    view = memoryview(data)
    pos = 0
    while True:
        stream = new()
        try:
            parts.append(stream.decompress(view[pos:]))
        except errors as exc:
            problem = f"not a valid {kind} {unit} ({exc})"
            break
        if not stream.eof:
            problem = f"the {kind} stream is cut short (truncated)"
            parts.pop()  # a member cut short: its output may end in the middle of a record
            break
        inner = compression_of(parts[-1][:MAGIC_BYTES])
        if inner is not None:  # compressed twice (a .gz of a .gz): read as text, it is garbage
            if len(parts) == 1:  # the whole file
                raise CorruptFileError(
                    f"{kind}-compressed, and what it holds is {inner}-compressed again: sparkify reads one "
                    f"layer, as Redshift's COPY does; decompress it once more before loading"
                )
            problem = f"the bytes there are a {kind} {unit} holding {inner}-compressed data again"
            parts.pop()
            break
        tail = stream.unused_data.lstrip(b"\x00")
        if not tail:
            return b"".join(parts)
        pos = len(data) - len(tail)
        if compression_of(tail[:MAGIC_BYTES]) != kind:
            problem = f"{len(tail):,} bytes after the end of the {kind} data are not {kind}"
            break
    if not parts:
        raise CorruptFileError(f"starts like {kind} but is not a valid {kind} file: {problem}")
    n = len(parts)
    before = (
        f"the {kind} {unit} before them was read"
        if n == 1
        else f"the {n:,} {kind} {unit}s before them were read"
    )
    raise CorruptFileError(f"{problem}; {before}", decoded=b"".join(parts), offset=pos)


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
        if "--source" not in given:  # no root: the root is the song prefix's parent (where Redshift's
            prefix = prefix.rstrip("/").rpartition("/")[0]  # staged rows go), never inside the songs
        s3 = S3Source(
            bucket,
            prefix,
            song_prefix=given.get(songs),
            log_prefix=given.get(events),
            endpoint_url=s3_endpoint,
            max_concurrency=s3_concurrency or DEFAULT_CONCURRENCY,
        )
        _refuse_overlap({kind: f"s3://{b}/{p}" for kind, (b, p) in s3.locations.items()})
        return s3
    from sparkify.sources.local import LocalSource

    local = LocalSource(
        Path(given["--source"]) if "--source" in given else None,
        song_dir=Path(given[songs]) if songs in given else None,
        log_dir=Path(given[events]) if events in given else None,
    )
    _refuse_overlap({"songs": f"{local._folder('songs')}/", "events": f"{local._folder('events')}/"})
    return local


def _refuse_overlap(places: dict[str, str]) -> None:
    """ConfigError when one kind's place (a folder or prefix, ending in "/") lies in the other's: its
    files would be read as songs and as events both (a tester's finding: ``--song-source`` given the
    whole source, ``--log-source`` its log_data/, failed on PostgreSQL's ledger key and loaded every
    log file twice on DuckDB)."""
    songs, events = places["songs"], places["events"]
    if not (songs.startswith(events) or events.startswith(songs)):
        return
    from sparkify.errors import ConfigError

    inner, outer = (songs, events) if len(songs) >= len(events) else (events, songs)
    same = (
        "are the same place"
        if inner == outer
        else f"overlap: {inner.rstrip('/')} is inside {outer.rstrip('/')}"
    )
    raise ConfigError(
        f"The song files' place ({songs.rstrip('/')}) and the log files' ({events.rstrip('/')}) {same}, so files "
        f"there would be read as songs and as events both. Give {SONG_FILES.flag} and {EVENT_FILES.flag} "
        "two separate places, or --source the folder holding song_data/ and log_data/."
    )


def check_source(source: Source) -> None:
    """Raise SourceError now if ``source`` names a place that is not there or holds no file to read
    (nothing, or only zero-byte files), for a command to refuse before it creates or changes
    anything: a local source's folders (a stat each, and a walk to the first non-empty file), an S3
    source's prefixes (the first page of each listing, for a good source)."""
    check = getattr(source, "check", None)
    if check is not None:
        check()


def open_configured(settings) -> Source:
    """The source :class:`sparkify.config.Settings` name (``source``, ``song_source``,
    ``log_source``, ``s3_endpoint``, ``s3_concurrency``). When neither ``source`` nor both
    ``song_source`` and ``log_source`` are set, the default source: ``./data/sparkify-sample`` in a
    checkout, else the sample shipped in the package (:func:`sparkify.config.default_source`),
    marked ``implicit``. Raises ConfigError as :func:`open_source` does, and when only one of
    ``song_source`` and ``log_source`` is set with no ``source``: the other kind would silently come
    from the sample."""
    if settings.source is None and not (settings.song_source and settings.log_source):
        for flag, setting, named, other, other_flag in PARTIAL_SOURCES:
            if getattr(settings, setting):  # the other kind would silently come from the demo sample
                from sparkify.config import default_source
                from sparkify.errors import ConfigError

                raise ConfigError(
                    f"{flag} names where the {named} are, but nothing names the {other}: with no --source "
                    f"they would come from the shipped sample ({default_source()}). Pass --source (the folder "
                    f"or s3:// prefix holding song_data/ and log_data/), or {other_flag} too."
                )
        return open_default()
    return open_source(
        settings.source,
        song_source=settings.song_source,
        log_source=settings.log_source,
        s3_endpoint=settings.s3_endpoint,
        s3_concurrency=settings.s3_concurrency,
    )


def open_default() -> Source:
    """The default source, when no setting names one: ``./data/sparkify-sample`` in a checkout, else
    the sample shipped in the package (:func:`sparkify.config.default_source`), marked ``implicit``
    so that a load refuses it for a warehouse loaded from elsewhere."""
    from sparkify.config import default_source

    opened = open_source(str(default_source()))
    opened.implicit = True  # type: ignore[attr-defined]
    return opened


PARTIAL_SOURCES = (
    ("--song-source", "song_source", "songs", "events", "--log-source"),
    ("--log-source", "log_source", "events", "songs", "--song-source"),
)
"""The options that name one kind's place: (flag, setting, its kind, the other kind, the other's flag)."""
