"""Warehouse engines behind one interface. :func:`connect` picks one from a URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sparkify.errors import ConfigError
from sparkify.warehouse.base import Warehouse, quote

ENGINES = ("duckdb", "postgres", "redshift")

__all__ = ["ENGINES", "Warehouse", "connect", "engine_of", "quote"]


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
    """``duckdb:///rel.duckdb`` -> ``rel.duckdb``; ``duckdb:////abs.duckdb`` -> ``/abs.duckdb``."""
    if "://" not in url:
        return url
    rest = url.split("://", 1)[1]
    if not rest.startswith("/"):
        raise ConfigError(f"Malformed DuckDB URL {url!r}: use duckdb:///relative.duckdb or duckdb:////abs.duckdb.")
    path = rest[1:]
    return path or ":memory:"


def connect(url: str, *, schema: str | None = None, **options) -> Warehouse:
    """Open the warehouse a URL names. The caller closes it (or uses ``with``)."""
    engine = engine_of(url)
    if engine == "duckdb":
        from sparkify.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(url, duckdb_path(url), schema=None, **options)
    raise ConfigError(f"The {engine} engine is not available yet. Use a DuckDB warehouse.")
