"""A source in a local folder."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn, cast

from sparkify.errors import SourceError, TransientSourceError
from sparkify.schema import EVENT_FILES, FILE_KINDS, SONG_FILES
from sparkify.sources import Kind, Listing, SourceFile, decompress
from sparkify.wording import plural, printable


def _canonical(folder: Path | str) -> Path:
    """The folder's one name: ``~`` expanded, absolute, symbolic links and ``..`` resolved."""
    return Path(folder).expanduser().resolve()


class LocalSource:
    """Every file under ``root/song_data`` and ``root/log_data``, whatever its name (see
    :mod:`sparkify.sources`). Symbolic links to files and folders are followed.

    ``song_dir`` / ``log_dir`` take that kind of file from another folder instead; with both given,
    ``root`` may be None.
    """

    def __init__(self, root: Path | None, *, song_dir: Path | None = None, log_dir: Path | None = None):
        # one name per file however the folder was spelled (~, relative, symbolic links): the ledger's key
        self.root = _canonical(root) if root is not None else None
        self.folders: dict[str, Path | None] = {
            "songs": _canonical(song_dir) if song_dir is not None else None,
            "events": _canonical(log_dir) if log_dir is not None else None,
        }
        if self.root is None and None in self.folders.values():
            raise ValueError("LocalSource needs a root folder unless both song_dir and log_dir are given")
        if song_dir is None and log_dir is None:
            self.description = str(self.root)
        else:
            self.description = " and ".join(str(self._folder(kind)) for kind in ("songs", "events"))

    def _folder(self, kind: Kind) -> Path:
        return self.folders[kind] or self._root() / FILE_KINDS[kind].folder

    def _root(self) -> Path:
        """The root folder (the constructor refuses a source without one unless both folders are given)."""
        if self.root is None:
            raise ValueError("LocalSource needs a root folder unless both song_dir and log_dir are given")
        return self.root

    def check(self) -> None:
        """Raise SourceError, as :meth:`list` would, when a kind's folder is missing or is a file, or
        holds no file to read (nothing, or only zero-byte files): a stat per folder and a walk that
        stops at the first non-empty file, so a command can refuse a mistyped source before it
        creates or opens anything."""
        kinds = [cast("Kind", kind) for kind in FILE_KINDS]
        folders = [self._checked_folder(kind)[0] for kind in kinds]  # every folder there, first
        for kind, folder in zip(kinds, folders):
            if not _holds_a_file(folder):
                self.list(kind)  # raises the error that says what is there

    def _checked_folder(self, kind: Kind) -> tuple[Path, str]:
        """The kind's folder, and the fix an error about what is under it names. Raises SourceError
        when the folder is missing or is a file."""
        folder = self.folders[kind]
        if folder is not None:
            if folder.is_file():
                flag = FILE_KINDS[kind].flag
                raise SourceError(
                    f"{folder} is a file; {flag} takes the folder that holds the files (every file "
                    f"under it is listed, the new or changed ones loaded): pass {folder.parent}."
                )
            if not folder.is_dir():
                raise SourceError(
                    f"{folder} does not exist or is not a folder. Check {FILE_KINDS[kind].flag}.{_uri_hint(folder)}"
                )
            fix = f"Check {FILE_KINDS[kind].flag}."
        else:
            root = self._root()
            if root.is_file():
                raise SourceError(
                    f"{self.root} is a file; --source takes the folder that holds song_data/ and log_data/ "
                    "(a file of one kind is loaded by pointing --song-source or --log-source at its folder)."
                )
            if not root.is_dir():
                raise SourceError(
                    f"Source folder {self.root} does not exist. Pass --source with a folder that holds "
                    f"song_data/ and log_data/.{_uri_hint(root)}"
                )
            folder = root / FILE_KINDS[kind].folder
            if folder.is_file():  # a tester's finding: "does not exist" of a file that does
                raise SourceError(
                    f"{folder} is a file: a source folder must hold {SONG_FILES.folder}/ and "
                    f"{EVENT_FILES.folder}/ as folders."
                )
            if not folder.is_dir():
                raise SourceError(
                    f"{folder} does not exist: a source folder must hold {SONG_FILES.folder}/ and "
                    f"{EVENT_FILES.folder}/."
                )
            fix = f"Check --source (or pass {FILE_KINDS[kind].flag})."
        return folder, fix

    def list(self, kind: Kind) -> Listing:
        """Every non-empty file under the kind's folder, sorted by name; zero-byte files are counted
        in the listing, not read.

        Raises SourceError naming the place when the folder is missing, when a folder or link under
        it cannot be read (never a silent gap), or when it holds no file to read.
        """
        folder, fix = self._checked_folder(kind)
        files: list[SourceFile] = []
        empty: list[str] = []
        repeated: list[str] = []
        seen: dict[str, str] = {}  # a file's name -> its path
        for entry, real_dir in _walk(folder, repeated):
            path = entry.path
            try:
                # a link is known from the folder listing; a file that is no link costs one lstat
                link = entry.is_symlink()
                st = os.stat(path) if link else entry.stat(follow_symlinks=False)
            except OSError as exc:
                what = "is a broken link" if os.path.islink(path) else "cannot be read"
                raise SourceError(
                    f"{path} {what} ({exc.strerror or exc}). Fix or remove it: every file under {folder} is input."
                ) from exc
            if not stat.S_ISREG(st.st_mode):
                raise SourceError(
                    f"{path} is not a regular file (a pipe, socket or device). Move it out of {folder}: "
                    "every file there is input."
                )
            # a file's one name is its resolved path, whatever link leads to it (the ledger's key): a
            # file that is no link is its folder's resolved path and its name (realpath of each of
            # 20,000 files took 2 s; folders are resolved once each)
            real = os.path.realpath(path) if link else os.path.join(real_dir, entry.name)
            name = text_name(real)
            if name in seen:
                if seen[name] != real:  # two files whose names differ only in undecodable bytes
                    raise SourceError(
                        f"{printable(name)} names two files under {printable(folder)}: one has bytes in its name that are not "
                        "UTF-8, written as \\x escapes, the other those escapes as text. Rename one."
                    )
                repeated.append(path)  # a second link to a file already listed: read once
                continue
            seen[name] = real
            if st.st_size == 0:
                empty.append(name)
            else:
                files.append(SourceFile(name, st.st_size, str(st.st_mtime_ns), real))
        listing = Listing(files, place=str(folder), empty=empty, repeated=repeated)
        if not listing:
            passed = f" (only {plural(len(empty), 'zero-byte file')})" if empty else ""
            raise SourceError(
                f"No {FILE_KINDS[kind].noun} files in {folder}{passed}. Nothing was loaded. {fix}"
            )
        return listing

    def read_bytes(self, file: SourceFile) -> bytes:
        """The file's content, gunzipped when it starts with the gzip magic number. Raises SourceError
        naming the file when it cannot be read."""
        try:
            data = _read_whole(file.path or file.name, file.size)
        except FileNotFoundError as exc:  # the next run lists the folder again: worth retrying (75)
            raise TransientSourceError(
                f"{printable(file.name)} was listed but is gone: it was deleted or moved while sparkify read "
                "the source. Nothing was loaded; run again."
            ) from exc
        except OSError as exc:
            raise SourceError(
                f"Cannot read {printable(file.name)}: {exc.strerror or exc}. Fix its permissions, or move it "
                "out of the source."
            ) from exc
        return decompress(file.name, data)


def _read_whole(path: str, size: int) -> bytes:
    """Every byte of the file at ``path``, which the listing found ``size`` bytes long: with plain
    ``os.read`` calls, first one of ``size + 1`` bytes, then on until the end of the file (a file
    that grew since it was listed is still read whole). Half the time of ``open().read()`` for the
    tiny song files, which a load reads by the ten thousand. Raises OSError."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        chunks: list[bytes] = []
        got, want = 0, size + 1
        # one read returns at most ~2 GiB, and may return less than asked: on to the end
        while chunk := os.read(fd, want):
            chunks.append(chunk)
            got += len(chunk)
            want = max(size + 1 - got, 0) + (1 << 16)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)  # no copy of a file read at once
    finally:
        os.close(fd)


def text_name(path: str) -> str:
    """``path`` as text that any warehouse can store: itself when it is valid UTF-8 (nearly always),
    else with each byte that is not written as a ``\\xNN`` escape (``caf\\xe9.json`` for the
    Latin-1 name ``café.json``). The name is the file's lineage (``source_file``, the ledger); the
    file is still read by its own path."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _holds_a_file(folder: Path) -> bool:
    """True when the walk under ``folder`` (see :func:`_walk`) meets a regular file of one byte or
    more, and stops there; False when it meets none, or anything it cannot read (then the listing
    raises the error that names it)."""
    try:
        for entry, _ in _walk(folder, []):
            st = os.stat(entry.path) if entry.is_symlink() else entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_size > 0:
                return True
    except (OSError, SourceError):
        return False
    return False


def _walk(folder: Path, repeated: list[str]) -> Iterator[tuple[os.DirEntry, str]]:
    """Yield the entry of every non-folder under ``folder`` (an :class:`os.DirEntry`: a file, a link
    to one, a broken link, a pipe...), following links to folders, with the resolved path of its
    folder. Folders are read depth first, each in name order (as ``os.walk`` does); ``os.scandir``
    gives each entry's kind without a ``stat``, so a listing of 20,000 files costs a ``stat`` each
    and no more.

    A folder reached again through a link (a loop, or two links to one folder) is not read twice --
    its files would be loaded twice under two names -- and its path is appended to ``repeated``.
    Raises SourceError naming a folder that cannot be listed.
    """

    def fail(exc: OSError) -> NoReturn:
        if exc.errno == errno.ELOOP:  # a link that leads back to itself, not a folder
            raise SourceError(
                f"{printable(exc.filename)} is a symbolic link that leads to itself ({exc.strerror}). Remove it or point "
                "it at a real file or folder: every entry under the source is input."
            ) from exc
        raise SourceError(
            f"Cannot read folder {printable(exc.filename)} ({exc.strerror or exc}): its files would be missed. Fix its "
            "permissions, or move it out of the source."
        ) from exc

    seen: set[tuple[int, int]] = set()
    stack = [str(folder)]
    while stack:
        top = stack.pop()
        try:
            st = os.stat(top)
            if (st.st_dev, st.st_ino) in seen:
                repeated.append(top)
                continue
            seen.add((st.st_dev, st.st_ino))
            real_top = os.path.realpath(top)
            folders = []
            with os.scandir(top) as entries:
                for entry in entries:
                    if entry.is_dir():  # follows a link to a folder
                        folders.append(entry.path)
                    else:
                        yield entry, real_top
        except OSError as exc:
            if exc.filename is None:
                exc.filename = top
            fail(exc)
        stack.extend(sorted(folders, reverse=True))  # popped in name order


def _uri_hint(path: Path) -> str:
    """For a missing folder whose name reads like a mistyped S3 URI (``S3://b/p``, ``s3:/b/p``: the
    operating system made a relative path of it), what an S3 source is written as; else ""."""
    import re

    m = re.search(r"(?:^|/)([A-Za-z][A-Za-z0-9+.-]*):/+(.*)$", str(path))
    if not m or not m.group(1).lower().startswith("s3"):
        return ""
    return f" An S3 source is written s3://{m.group(2)} (lower-case s3, two slashes)."
