"""A log file whose "line" is longer than DuckDB's line reader takes (objects back to back with no
newline, ``\\r`` line ends): a tester's run of 40,000 events failed whole with exit 69, even under
``--max-errors``, where the same bytes gzipped loaded. Every engine reads such a file record by
record (local: read in place is refused; S3 and gzip: the spool file of its own is refused).

Not on the Redshift stand-in: its COPY of 45,000 staged rows takes minutes there. The reader is the
same for every engine; the spool branch an S3 object takes is test_reader.py's gzip case."""

from __future__ import annotations

import json

import pytest

from sparkify import pipeline
from tests.conftest import source_for
from tests.helpers.records import event, rows, song, write_source

T = 1541105830796


@pytest.mark.engines("duckdb", "postgres", reason="the stand-in's COPY of 45,000 rows takes minutes")
@pytest.mark.parametrize("separator", [b"", b"\r"], ids=["back to back", "cr line ends"])
def test_a_day_file_of_one_17_mb_line_loads_every_event(warehouse, tmp_path, separator):
    day = [event(ts=T + i, itemInSession=i, sessionId=1, song="S " + "x" * 300) for i in range(45_000)]
    root = write_source(tmp_path / "src", songs=[song()], events=[])
    path = root / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(separator.join(json.dumps(e).encode() for e in day))
    assert path.stat().st_size > 16 << 20 and b"\n" not in path.read_bytes()
    report = pipeline.run(warehouse, source_for(warehouse, root))
    assert (report.stage.read, report.stage.rejected) == (45_001, 0)
    assert len(rows(warehouse, "songplays")) == 45_000
