"""A source in a local folder."""

from __future__ import annotations

from pathlib import Path

from sparkify.errors import SourceError
from sparkify.sources import FOLDERS, Kind, SourceFile, decompress

FLAGS = {"songs": "--song-source", "events": "--log-source"}


def _canonical(folder: Path | str) -> Path:
    """The folder's one name: ``~`` expanded, absolute, symbolic links and ``..`` resolved."""
    return Path(folder).expanduser().resolve()


class LocalSource:
    """Files under ``root/song_data`` and ``root/log_data`` (``*.json`` and ``*.json.gz``).

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
        return self.folders[kind] or self.root / FOLDERS[kind]

    def list(self, kind: Kind) -> list[SourceFile]:
        folder = self.folders[kind]
        if folder is not None:
            if not folder.is_dir():
                raise SourceError(f"{folder} does not exist or is not a folder. Check {FLAGS[kind]}.")
        else:
            if not self.root.is_dir():
                raise SourceError(
                    f"Source folder {self.root} does not exist. Pass --source with a folder that holds "
                    "song_data/ and log_data/."
                )
            folder = self.root / FOLDERS[kind]
            if not folder.is_dir():
                raise SourceError(
                    f"{folder} does not exist: a source folder must hold {FOLDERS['songs']}/ and "
                    f"{FOLDERS['events']}/."
                )
        files = []
        for path in sorted(folder.rglob("*")):
            if path.is_file() and (path.name.endswith(".json") or path.name.endswith(".json.gz")):
                st = path.stat()
                files.append(SourceFile(str(path), st.st_size, str(st.st_mtime_ns), path))
        return files

    def read_bytes(self, file: SourceFile) -> bytes:
        try:
            data = Path(file.name).read_bytes()
        except OSError as exc:
            raise SourceError(f"Cannot read {file.name}: {exc.strerror or exc}") from exc
        return decompress(file.name, data)
