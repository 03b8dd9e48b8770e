"""The precise path: files framed (:mod:`sparkify.staging.framing`) and typed
(:mod:`sparkify.staging.rules`) record by record in Python, so every bad record is named by file,
line, field and reason and every good one is kept. The reader sends here every file its fast path is
not sure of.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from sparkify.sources import CorruptFileError, SourceFile
from sparkify.staging.framing import frame
from sparkify.staging.results import FileCount, Reject
from sparkify.staging.rules import KNOWN_KEYS, RecordRules, type_record


class _PreciseReader:
    """The precise path: frames and types files record by record with the rules, writing the
    staged rows as NDJSON to ``path`` and keeping counts and rejects per file."""

    def __init__(self, kind: str, rules: RecordRules, path: Path):
        self.kind = kind
        self.rules = rules
        self.path = path
        self.known = KNOWN_KEYS[kind]
        self.counts: dict[str, FileCount] = {}
        self.rejects: list[Reject] = []
        self.unknown_fields: dict[str, int] = {}
        self.staged = 0
        self._out: IO[str] | None = None

    def add(self, f: SourceFile, data: bytes | CorruptFileError) -> None:
        count = FileCount()
        self.counts[f.name] = count
        if isinstance(data, CorruptFileError):  # its records are those decoded before the bad bytes
            self._frame(f, count, data.decoded)
            count.read += 1
            count.rejected += 1
            where = f" from byte {data.offset:,} on" if data.offset else ""
            self.rejects.append(Reject(f.name, None, None, f"cannot be read{where}: {data}"))
            return
        self._frame(f, count, data)

    def _frame(self, f: SourceFile, count: FileCount, data: bytes) -> None:
        if not data:
            return
        if self._out is None:
            self._out = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 -- closed in close()
        for raw in frame(data):
            count.read += 1
            problem = raw.problem
            if problem is None:
                assert raw.record is not None  # frame() gives a record whenever it finds no problem
                row, problem = type_record(self.kind, raw.record, self.rules)
            if problem is not None:
                count.rejected += 1
                fld, reason = problem
                self.rejects.append(Reject(f.name, raw.line, fld, reason, raw.raw))
                continue
            count.staged += 1
            self.staged += 1
            for key in raw.record or ():  # counted for staged records, as the fast path counts them
                if key not in self.known:
                    self.unknown_fields[key] = self.unknown_fields.get(key, 0) + 1
            row["source_file"] = f.name
            self._out.write(json.dumps(row, ensure_ascii=False, allow_nan=False))
            self._out.write("\n")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
