"""Write the expected analytics results from the plain-Python reference (no SQL involved).

Usage::

    python -m tests.helpers.make_expected [SOURCE] [OUT]

SOURCE defaults to data/sparkify-sample and OUT to tests/expected/sample. One ``NAME.csv`` per query
in the analytics catalog, in the format ``sparkify.analytics.compare`` reads: a header row of column
names; ints as digits; floats as ``repr``; dates ISO (``2018-11-01``); NULL as an empty field.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sparkify.analytics import Result, expected
from tests.helpers import reference

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO / "data" / "sparkify-sample"
DEFAULT_OUT = REPO / "tests" / "expected" / "sample"


def query_names() -> list[str]:
    """The analytics catalog's query names: the file names in src/sparkify/analytics/queries/."""
    folder = REPO / "src" / "sparkify" / "analytics" / "queries"
    return sorted(p.name[:-4] for p in folder.glob("*.sql"))


def to_csv(columns: list[str], rows: list[tuple]) -> str:
    """The expected file of ``rows``, written as ``sparkify analytics --save-expected`` writes one
    (the format is pinned independently by the hand-written answers in tests/helpers/tricky.py)."""
    if any(isinstance(v, bool) for row in rows for v in row):
        raise TypeError("no boolean columns are expected")
    return expected.to_csv(Result(columns, rows))


def expected_csvs(source: Path | str = DEFAULT_SOURCE) -> dict[str, str]:
    """NAME -> CSV text for every query in the catalog, from the reference on ``source``."""
    star = reference.build_cached(str(Path(source).resolve()))
    return {name: to_csv(*reference.answer(name, star)) for name in query_names()}


def write(source: Path | str = DEFAULT_SOURCE, out: Path | str = DEFAULT_OUT) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in expected_csvs(source).items():
        path = out / f"{name}.csv"
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    if len(argv) > 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    for path in write(source, out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
