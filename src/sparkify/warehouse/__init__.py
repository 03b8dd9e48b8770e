"""Warehouse engines behind one interface. :func:`connect` picks one from a URL."""

from __future__ import annotations

import difflib
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

from sparkify.errors import ConfigError
from sparkify.warehouse.base import Warehouse, quote

ENGINES = ("duckdb", "postgres", "redshift")

__all__ = ["ENGINES", "Warehouse", "connect", "engine_class", "engine_of", "offline", "quote"]


def engine_of(url: str) -> str:
    """The engine a warehouse URL names: ``duckdb:///x.duckdb`` or a bare ``*.duckdb`` path -> duckdb."""
    scheme = urlsplit(url).scheme if "://" in url else ""
    if not scheme:
        if url.endswith(".duckdb") or url.endswith(".db") or url == ":memory:":
            return "duckdb"
        raise ConfigError(
            f"Cannot tell the engine of warehouse {url!r}. Use duckdb:///file.duckdb, "
            "postgresql://user@host/db or redshift://user@host:5439/db."
        )
    if scheme == "duckdb":
        return "duckdb"
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    if scheme == "redshift":
        return "redshift"
    raise ConfigError(
        f"Unknown warehouse scheme {scheme!r} in --warehouse. Use duckdb://, postgresql:// or redshift://."
    )


def duckdb_path(url: str) -> str:
    """``duckdb:///rel.duckdb`` -> ``rel.duckdb``; ``duckdb:////abs.duckdb`` -> ``/abs.duckdb`` (a
    ``?setting=value`` query is left out: see :func:`duckdb_settings`)."""
    url = url.split("?", 1)[0]
    if "://" not in url:
        return url
    rest = url.split("://", 1)[1]
    if not rest.startswith("/"):
        raise ConfigError(f"Malformed DuckDB URL {url!r}: use duckdb:///relative.duckdb or duckdb:////abs.duckdb.")
    path = rest[1:]
    return path or ":memory:"


def duckdb_settings(url: str) -> dict[str, str]:
    """The DuckDB settings a URL's query names, e.g. ``duckdb:///w.duckdb?memory_limit=8GB&threads=2``
    -> ``{"memory_limit": "8GB", "threads": "2"}``; checked by :class:`DuckDBWarehouse`."""
    if "?" not in url:
        return {}
    return dict(parse_qsl(url.split("?", 1)[1], keep_blank_values=True))


def engine_class(engine: str) -> type[Warehouse]:
    """The class of an engine named in ``ENGINES`` (``--engine``); a ConfigError with a did-you-mean
    otherwise."""
    if engine == "duckdb":
        from sparkify.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse
    if engine in ("postgres", "postgresql"):
        from sparkify.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse
    if engine == "redshift":
        from sparkify.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse
    close = difflib.get_close_matches(engine, ENGINES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"Unknown engine {engine!r}.{hint} Engines: {', '.join(ENGINES)}.")


def _options(cls: type[Warehouse], iam_role: str | None, region: str | None) -> dict:
    # only Redshift's COPY reads S3: the other engines take no AWS settings
    return {"iam_role": iam_role, "region": region} if cls.copies_from_s3 else {}


def connect(
    url: str,
    *,
    schema: str | None = None,
    iam_role: str | None = None,
    region: str | None = None,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> Warehouse:
    """Open the warehouse a URL names. The caller closes it (or uses ``with``).

    ``schema`` places every table (PostgreSQL, Redshift; default ``public``); ``iam_role`` and
    ``region`` are what Redshift's COPY reads S3 with. While another sparkify process holds the
    warehouse, ``wait`` waits for it (``on_wait`` is told once) or fails at once.
    """
    engine = engine_of(url)
    cls = engine_class(engine)
    if engine == "duckdb":
        return cls(url, duckdb_path(url), schema=None, wait=wait, on_wait=on_wait, settings=duckdb_settings(url))
    return cls.open(url, schema=schema, wait=wait, on_wait=on_wait, **_options(cls, iam_role, region))


def offline(
    engine: str, *, schema: str | None = None, iam_role: str | None = None, region: str | None = None
) -> Warehouse:
    """An engine that renders its statements without connecting to anything (``sparkify sql``)."""
    cls = engine_class(engine)
    return cls.offline(schema=schema, **_options(cls, iam_role, region))
