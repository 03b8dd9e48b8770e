"""Pack data/sparkify-sample into the one compressed archive the package ships
(src/sparkify/sample/sparkify-sample.tar.xz). Deterministic: sorted entries, fixed owner and mtime,
so the same folder always gives the same bytes. A test checks the archive still equals the folder.

    .venv/bin/python scripts/pack-sample.py
"""

from __future__ import annotations

import io
import lzma
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "data" / "sparkify-sample"
ARCHIVE = REPO / "src" / "sparkify" / "sample" / "sparkify-sample.tar.xz"
MTIME = 1543622400  # 2018-12-01T00:00:00Z: the day after the last log file


def pack(folder: Path = FOLDER, archive: Path = ARCHIVE) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(f"sparkify-sample/{path.relative_to(folder).as_posix()}")
            data = path.read_bytes()
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    archive.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))


if __name__ == "__main__":
    pack()
    print(f"wrote {ARCHIVE} ({ARCHIVE.stat().st_size:,} bytes)", file=sys.stderr)
