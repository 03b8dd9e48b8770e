"""sparkify: load Sparkify's song and event JSON into a star schema.

The library is usable without the CLI (see the README's "Python API")::

    import sparkify

    with sparkify.connect("duckdb:///sparkify.duckdb") as wh:
        report = sparkify.run(wh)                    # the shipped sample, or source="path/or/s3://..."
        top = sparkify.query(wh, "top_songs")         # a named analytics query
        print(top.columns, top.rows[0])
"""

from __future__ import annotations

TYPE_CHECKING = (
    False  # not typing's: importing typing costs the console script 25 ms before its signal handlers
)

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "query", "run", "sample_path"]

if TYPE_CHECKING:  # pragma: no cover (and kept light: the console script imports this first)
    from pathlib import Path
    from typing import Any

    from sparkify.analytics import Result
    from sparkify.pipeline import RunReport
    from sparkify.sources import Source
    from sparkify.warehouse.base import Warehouse


def connect(url: str = "duckdb:///sparkify.duckdb", **options: Any) -> Warehouse:
    """Open the warehouse ``url`` names (``duckdb:///file.duckdb``, ``postgresql://...``,
    ``redshift://...``); use it in a ``with`` block. Options as :func:`sparkify.warehouse.connect`
    (``schema=``, ``wait=``, ...)."""
    from sparkify.warehouse import connect as _connect

    return _connect(url, **options)


def run(
    wh: Warehouse,
    source: str | Path | Source | None = None,
    *,
    max_errors: int = 0,
    full_refresh: bool = False,
) -> RunReport:
    """Create missing tables, stage what is new in ``source`` (default: the shipped sample), rebuild
    the star schema and check it: what ``sparkify run`` does. Returns the :class:`RunReport`
    (``.stage``, ``.rows``, ``.checks``, ``.load_id``); raises :class:`sparkify.errors.BadInputError`
    when more than ``max_errors`` records are rejected (nothing changes then), and ConfigError when
    ``source`` is None but ``wh`` holds files loaded from another source (the sample never mixes in)."""
    from sparkify import pipeline
    from sparkify.sources import open_default

    return pipeline.run(
        wh, open_default() if source is None else source, max_errors=max_errors, full_refresh=full_refresh
    )


def query(wh: Warehouse, name: str) -> Result:
    """Run the analytics query ``name`` (``sparkify analytics --list`` lists them) and return its
    result: ``.columns`` (names) and ``.rows`` (tuples). Raises ConfigError for an unknown name."""
    from sparkify import analytics

    [chosen] = analytics.select([name])
    return analytics.run_query(wh, chosen)


def sample_path() -> Path:
    """The folder of the real sample: ``./data/sparkify-sample`` in a checkout, else the one shipped
    in the package, unpacked on first use into a cache folder."""
    from sparkify.config import default_source

    return default_source()
