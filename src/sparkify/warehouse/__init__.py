"""Warehouse engines behind one interface. :func:`connect` picks one from a URL."""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from sparkify.errors import ConfigError, MissingTableError, did_you_mean
from sparkify.urls import mask_url
from sparkify.warehouse.base import Warehouse, quote

ENGINES = ("duckdb", "postgres", "redshift")

__all__ = ["ENGINES", "Warehouse", "connect", "engine_class", "engine_of", "offline", "quote"]


def engine_of(url: str) -> str:
    """The engine a warehouse URL names: ``duckdb:///x.duckdb`` or a bare ``*.duckdb`` path -> duckdb."""
    try:
        scheme = urlsplit(url).scheme if "://" in url else ""
    except ValueError:  # an IPv6 host's [ without its ]
        raise ConfigError(_unreadable_url(url, "an IPv6 host goes in brackets, [::1]")) from None
    if not scheme and url.startswith("duckdb:"):
        return "duckdb"
    if not scheme:
        if url.endswith(".duckdb") or url.endswith(".db") or url == ":memory:":
            return "duckdb"
        raise ConfigError(
            f"Cannot tell the engine of warehouse {mask_url(url)!r}. Use duckdb:///file.duckdb, "
            "postgresql://user@host/db or redshift://user@host:5439/db."
        )
    if scheme == "duckdb":
        return "duckdb"
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    if scheme == "redshift":
        return "redshift"
    raise ConfigError(f"Unknown warehouse scheme {scheme!r}. Use duckdb://, postgresql:// or redshift://.")


def check_host_and_port(url: str) -> None:
    """Raise ConfigError when a server URL's host or port cannot be read (an unclosed IPv6 bracket,
    a port that is no number from 0 to 65535). The message shows the URL masked and never the
    parser's own words, which may quote a fragment of an unencoded password."""
    if "://" not in url or engine_of(url) == "duckdb":
        return
    try:
        urlsplit(url).port  # noqa: B018 -- parses the host and the port
    except ValueError:
        raise ConfigError(_unreadable_url(url, "the port is a number from 0 to 65535")) from None


def _unreadable_url(url: str, rule: str) -> str:
    return (
        f"Invalid warehouse URL {mask_url(url)!r}: its host or port cannot be read ({rule}). Write "
        "postgresql://user@host:5432/db, an IPv6 host as postgresql://user@[::1]:5432/db."
    )


def duckdb_path(url: str) -> str:
    """The file a DuckDB URL names, ``~`` expanded: ``duckdb:///rel.duckdb`` -> ``rel.duckdb``;
    ``duckdb:////abs.duckdb`` -> ``/abs.duckdb``; ``duckdb:rel.duckdb`` (what DuckDB itself accepts)
    -> ``rel.duckdb``; ``duckdb:///~/w.duckdb`` and ``~/w.duckdb`` -> ``/home/me/w.duckdb`` (a
    ``?setting=value`` query is left out: see :func:`duckdb_settings`). ``:memory:`` stays as it is;
    a URL that names no file (``duckdb:///``, ``duckdb:``) is a ConfigError."""
    url = url.split("?", 1)[0]
    if "://" not in url:
        path = url[len("duckdb:") :] if url.startswith("duckdb:") else url
    else:
        rest = url.split("://", 1)[1]
        if not rest.startswith("/"):
            raise ConfigError(
                f"Malformed DuckDB URL {mask_url(url)!r}: use duckdb:///relative.duckdb or duckdb:////abs.duckdb."
            )
        path = rest[1:]
    if not path.strip():
        # e.g. duckdb:///$DB with DB unset: DuckDB would open a database in memory and lose every load
        raise ConfigError(
            f"The DuckDB URL {mask_url(url)!r} names no file: use duckdb:///file.duckdb "
            "(duckdb:///:memory: for a database that lives only as long as the process)."
        )
    return os.path.expanduser(path)


def duckdb_settings(url: str) -> dict[str, str]:
    """The DuckDB settings a URL's query names, e.g. ``duckdb:///w.duckdb?memory_limit=8GB&threads=2``
    -> ``{"memory_limit": "8GB", "threads": "2"}``; checked by :class:`DuckDBWarehouse`."""
    if "?" not in url:
        return {}
    from sparkify.warehouse.duckdb import once_each

    return once_each(parse_qsl(url.split("?", 1)[1], keep_blank_values=True))


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
    hint = did_you_mean(engine, ENGINES)
    raise ConfigError(f"Unknown engine {engine!r}.{hint} Engines: {', '.join(ENGINES)}.")


def _options(
    cls: type[Warehouse], iam_role: str | None, region: str | None, manifest_prefix: str | None = None
) -> dict:
    # only Redshift's COPY reads S3: the other engines take no AWS settings
    if not cls.copies_from_s3:
        return {}
    return {"iam_role": iam_role, "region": region, "manifest_prefix": manifest_prefix}


def connect(
    url: str,
    *,
    schema: str | None = None,
    iam_role: str | None = None,
    region: str | None = None,
    manifest_prefix: str | None = None,
    wait: bool = True,
    wait_timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    must_exist: bool = False,
    next_step: str = "Run `sparkify run` first.",
    must_persist: bool = False,
    read_only: bool = False,
) -> Warehouse:
    """Open the warehouse a URL names. The caller closes it (or uses ``with``).

    ``must_exist`` is for commands that only read: a DuckDB file that does not exist is a
    :class:`MissingTableError` (saying ``next_step``: run ``sparkify run`` first, by default) instead
    of a new, empty file.
    ``must_persist`` is for commands that write and then end (the CLI's run, stage, ...): an
    in-memory DuckDB database (``:memory:``), which would lose what they write, is a ConfigError.

    ``schema`` places every table (PostgreSQL, Redshift; default ``public``; a ConfigError on DuckDB,
    whose file is its own namespace); ``iam_role`` and
    ``region`` are what Redshift's COPY reads S3 with, ``manifest_prefix`` where its manifests go.
    While another sparkify process holds the warehouse, ``wait`` waits for it (``on_wait`` is told
    once) -- for at most ``wait_timeout`` seconds (None: no limit), then :class:`WarehouseBusyError`
    -- or fails at once. ``read_only`` (commands that only read): on a server engine, no wait at all
    (PostgreSQL shows a reader the last committed load); a DuckDB file is shared by one process at
    a time whatever the command.
    """
    engine = engine_of(url)
    cls = engine_class(engine)
    if schema is not None and not schema.strip():
        raise ConfigError("A schema needs a name: pass schema=None for the default (public).")
    if schema is not None and engine != "duckdb" and _is_system_schema(schema):
        raise ConfigError(
            f"Schema {schema!r} belongs to the server (its catalog, or a name starting with pg_, which "
            "PostgreSQL and Redshift keep for themselves): pass a schema of sparkify's own, e.g. --schema sparkify."
        )
    if engine == "duckdb":
        path = duckdb_path(url)
        _refuse_duckdb_schema(schema)
        if must_persist and path == ":memory:":
            raise ConfigError(
                f"The warehouse {mask_url(url)!r} is an in-memory DuckDB database: what this command writes "
                "would be thrown away when it ends. Name a file: --warehouse duckdb:///sparkify.duckdb."
            )
        if must_exist and path != ":memory:" and not os.path.exists(path):
            raise MissingTableError(
                f"There is no DuckDB database at {path}. {next_step.rstrip('.')}, or point --warehouse at "
                "an existing one."
            )
        from sparkify.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(
            url,
            path,
            schema=None,
            wait=wait,
            wait_timeout=wait_timeout,
            on_wait=on_wait,
            settings=duckdb_settings(url),
            read_only=read_only,
        )
    from sparkify.warehouse.postgres import PostgresWarehouse

    assert issubclass(cls, PostgresWarehouse)  # every engine with a server: PostgreSQL, Redshift
    return cls.open(
        url,
        schema=schema,
        wait=wait,
        wait_timeout=wait_timeout,
        on_wait=on_wait,
        lock=not read_only,
        **_options(cls, iam_role, region, manifest_prefix),
    )


def offline(
    engine: str,
    *,
    schema: str | None = None,
    iam_role: str | None = None,
    region: str | None = None,
    manifest_prefix: str | None = None,
) -> Warehouse:
    """An engine that renders its statements without connecting to anything (``sparkify sql``)."""
    cls = engine_class(engine)
    if engine == "duckdb":
        _refuse_duckdb_schema(schema)
    return cls.offline(schema=schema, **_options(cls, iam_role, region, manifest_prefix))


def _refuse_duckdb_schema(schema: str | None) -> None:
    """A schema given for DuckDB is a ConfigError: taken silently, the user's tables would not be
    where they asked (a DuckDB warehouse's file is its namespace)."""
    if schema is not None:
        raise ConfigError(
            f"A schema ({schema!r}) applies to PostgreSQL and Redshift: a DuckDB warehouse keeps every "
            "table in its own file. Pass schema=None, or use another DuckDB file."
        )


def _is_system_schema(schema: str) -> bool:
    """True for a schema of the server's own: ``information_schema`` or a name starting with ``pg_``
    (``pg_catalog``, ``pg_temp``, ``pg_toast``: PostgreSQL refuses to create any such schema)."""
    name = schema.lower()
    return name == "information_schema" or name.startswith("pg_")
