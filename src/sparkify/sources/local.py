"""A source in a local folder."""

from __future__ import annotations

from pathlib import Path

from sparkify.errors import SourceError
from sparkify.sources import FOLDERS, Kind, SourceFile, decompress


class LocalSource:
    """Files under ``root/song_data`` and ``root/log_data`` (``*.json`` and ``*.json.gz``)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.description = str(self.root)

    def list(self, kind: Kind) -> list[SourceFile]:
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
