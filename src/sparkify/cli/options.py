"""Options shared by several commands, and the three things a command does with them: settings,
the source, the warehouse connection."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sparkify.cli.app import state
from sparkify.schema import FILE_KINDS
from sparkify.sources.s3 import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from rich.console import Console

    from sparkify.config import Settings
    from sparkify.console import ProgressReporter
    from sparkify.sources import Source
    from sparkify.warehouse import Warehouse


def folder_option(*decls: str, **attrs: Any) -> Callable[[Callable], Callable]:
    """An option naming a folder (``DIR``), given to the command as a Path."""
    return click.option(*decls, type=click.Path(file_okay=False, path_type=Path), metavar="DIR", **attrs)


def file_option(*decls: str, metavar: str = "PATH", **attrs: Any) -> Callable[[Callable], Callable]:
    """An option naming a file (``PATH`` unless ``metavar``), given to the command as a Path."""
    return click.option(*decls, type=click.Path(dir_okay=False, path_type=Path), metavar=metavar, **attrs)


def kept_on_state(name: str, option: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    """``option`` (whose parameter is ``name``) kept on the state (:func:`state`) instead of being
    passed to the command."""

    def decorate(f: Callable) -> Callable:
        @option
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            setattr(state(), name, kwargs.pop(name))
            return f(*args, **kwargs)

        return wrapper

    return decorate


def warehouse_options(f: Callable) -> Callable:
    """--warehouse, --schema, --wait/--no-wait and --wait-timeout (kept on the state, merged into
    the settings by :func:`settings`)."""
    f = click.option(
        "--warehouse",
        "-w",
        metavar="URL",
        help="duckdb:///file.duckdb (default ./sparkify.duckdb), postgresql://user@host/db or "
        "redshift://user@host:5439/db. Env SPARKIFY_WAREHOUSE. DuckDB (and PostgreSQL's parser) take "
        "memory settings in the query: ?memory_limit=4GB (default 1GB), threads, temp_directory, "
        "max_temp_directory_size, preserve_insertion_order.",
    )(f)
    f = click.option(
        "--schema",
        metavar="NAME",
        help="Schema for every table (PostgreSQL, Redshift; refused for a DuckDB file). Env SPARKIFY_SCHEMA.",
    )(f)
    f = click.option(
        "--wait/--no-wait",
        default=None,
        help="If another sparkify process (or, for DuckDB, another program) is using the warehouse, wait for "
        "it (default) or fail at once. Env SPARKIFY_WAIT.",
    )(f)

    return kept_on_state(
        "wait_timeout",
        click.option(
            "--wait-timeout",
            type=float,
            metavar="SECONDS",
            help="Give up waiting for another sparkify process after SECONDS (default 3600), exit 75. "
            "Env SPARKIFY_WAIT_TIMEOUT.",
        ),
    )(f)


def text_options(f: Callable, *specs: tuple[str, str, str]) -> Callable:
    """``f`` with a text option per ``(flag, metavar, help)``, applied in order."""
    for flag, metavar, text in specs:
        f = click.option(flag, metavar=metavar, help=text)(f)
    return f


def redshift_options(f: Callable) -> Callable:
    """--iam-role, --region and --manifest-prefix: what Redshift's COPY needs to read the rows a run
    stages on S3."""
    return text_options(
        f,
        (
            "--iam-role",
            "ARN",
            "IAM role Redshift's COPY assumes to read the rows a run stages under the staging prefix "
            "(see --manifest-prefix). Env SPARKIFY_IAM_ROLE.",
        ),
        (
            "--region",
            "NAME",
            "AWS region of the staging prefix's bucket, which COPY reads, when it differs from the "
            "cluster's. Env SPARKIFY_REGION.",
        ),
        (
            "--manifest-prefix",
            "URI",
            "s3://bucket/prefix where Redshift runs stage the checked rows and their COPY manifest "
            "(written by this machine, read by the IAM role; each deleted after its COPY). Default: "
            "<source>/_sparkify/manifests. Env SPARKIFY_MANIFEST_PREFIX.",
        ),
    )


SOURCE_FLAGS = ("source", *(kind.setting for kind in FILE_KINDS.values()), "s3_endpoint", "s3_concurrency")
"""The settings :func:`source_options` gathers into ``source_flags``."""


def source_options(f: Callable) -> Callable:
    """--source, a place of its own for each kind of file (--song-source, --log-source: from
    :data:`sparkify.schema.FILE_KINDS`), --s3-endpoint, --s3-concurrency; the command receives them
    as one dict, ``source_flags``."""
    folders = " and ".join(f"{kind.folder}/" for kind in FILE_KINDS.values())
    options = [
        click.option(
            "--source",
            "-s",
            metavar="PATH|URI",
            help=f"Folder or s3://bucket/prefix holding {folders} (Redshift: s3:// only). Default: "
            "./data/sparkify-sample, else the sample shipped in the package. Env SPARKIFY_SOURCE.",
        ),
        *(
            click.option(
                kind.flag,
                metavar="PATH|URI",
                help=f"Where the {kind.noun} files are, if not in <source>/{kind.folder}/. "
                f"Env SPARKIFY_{kind.setting.upper()}.",
            )
            for kind in FILE_KINDS.values()
        ),
        click.option(
            "--s3-endpoint",
            metavar="URL",
            help="S3-compatible endpoint, e.g. http://127.0.0.1:9000. Default: "
            "AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS. Env SPARKIFY_S3_ENDPOINT.",
        ),
        click.option(
            "--s3-concurrency",
            type=int,
            metavar="N",
            help=f"S3 objects read at once (default {DEFAULT_CONCURRENCY}). Env SPARKIFY_S3_CONCURRENCY.",
        ),
    ]

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs["source_flags"] = {name: kwargs.pop(name) for name in SOURCE_FLAGS}
        return f(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def max_errors_option(f: Callable) -> Callable:
    """--max-errors N: rejected input records tolerated."""
    return click.option(
        "--max-errors",
        type=int,
        metavar="N",
        help="Tolerate up to N rejected input records (default 0). Env SPARKIFY_MAX_ERRORS.",
    )(f)


def ts_bounds_options(f: Callable) -> Callable:
    """--ts-min / --ts-max: the plausible range of event times (dates, UTC)."""
    return text_options(
        f,
        (
            "--ts-max",
            "DATE",
            "Reject events whose ts is on or after DATE (default 2100-01-01). Env SPARKIFY_TS_MAX.",
        ),
        (
            "--ts-min",
            "DATE",
            "Reject events whose ts is before DATE, e.g. epoch seconds (default 2000-01-01). Env SPARKIFY_TS_MIN.",
        ),
    )


def common_options(f: Callable) -> Callable:
    """--quiet and --debug, also accepted after the command's name."""

    @click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and the final result.")
    @click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
    @functools.wraps(f)
    def wrapper(*args, quiet: bool, debug: bool, **kwargs):
        obj = state()
        obj.quiet = obj.quiet or quiet
        obj.debug = obj.debug or debug
        return f(*args, **kwargs)

    return wrapper


def json_option(f: Callable) -> Callable:
    """--json: print one JSON summary (see ``sparkify.summary``) instead of tables and progress."""

    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print one line of JSON (counts, rejects, checks, timings, load id, exit code) instead of tables.",
    )
    @functools.wraps(f)
    def wrapper(*args, as_json: bool, **kwargs):
        if as_json:
            from sparkify import summary

            obj = state()
            obj.summary = summary.empty(click.get_current_context().info_name or "")
            obj.quiet = True
        return f(*args, **kwargs)

    return wrapper


def load_step_options(f: Callable) -> Callable:
    """The options of a step that loads (run, stage): the source, warehouse and Redshift options,
    --max-errors, --ts-min/--ts-max, --full-refresh/--prune and --verify-content."""
    for option in (
        verify_content_option,
        full_refresh_option,
        ts_bounds_options,
        max_errors_option,
        redshift_options,
        warehouse_options,
        source_options,
    ):
        f = option(f)
    return f


def warehouse_step_options(f: Callable) -> Callable:
    """The options of a step that works on the warehouse alone (transform, check): the warehouse
    options, --json, --quiet and --debug."""
    return warehouse_options(json_option(common_options(f)))


def verify_content_option(f: Callable) -> Callable:
    """--verify-content: compare a checksum of each local file with the ledger's, for sources whose
    timestamps cannot be trusted."""
    return kept_on_state(
        "verify_content",
        click.option(
            "--verify-content",
            is_flag=True,
            help="Also compare each local file's checksum with the one recorded when it was loaded (reads "
            "every file; for sources whose timestamps cannot be trusted). S3 ETags already change with the "
            "content.",
        ),
    )(f)


def full_refresh_option(f: Callable) -> Callable:
    """--full-refresh and --prune: which files a run reloads, and whether gone files lose their rows."""
    f = click.option(
        "--prune",
        is_flag=True,
        help="Remove the rows of files loaded earlier that are no longer in the source (kept otherwise). "
        "The source is what this run reads: with --log-source at one day's folder, every other day counts "
        "as gone.",
    )(f)
    return click.option(
        "--full-refresh",
        is_flag=True,
        help="Reload every file in the source, not only those new or changed since the last run. Files no "
        "longer in the source keep their rows unless --prune.",
    )(f)


def dialect_option(default_help: str) -> Callable[[Callable], Callable]:
    """--dialect: the SQL dialect queries are written in; ``default_help`` says the default."""
    from sparkify.analytics.dialect import DIALECTS

    return click.option(
        "--dialect",
        type=click.Choice(DIALECTS),
        default=None,
        help=f"The SQL dialect the queries are written in; on another engine they are translated "
        f"(sqlglot) before they run. Default: {default_help}.",
    )


def show_sql_option(f: Callable) -> Callable:
    """--show-sql: print the SQL that runs, after translation, on stderr."""
    return click.option(
        "--show-sql", is_flag=True, help="Print the SQL that actually runs, after translation (on stderr)."
    )(f)


def format_option(f: Callable) -> Callable:
    """--format table|csv|json: how results print."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "csv", "json"]),
        default="table",
        show_default=True,
        help="How to print each result.",
    )(f)


# -- what commands do with the options -------------------------------------------------------------


def settings(**flags: Any) -> Settings:
    """The validated settings from ``flags`` (None: not given), the environment and sparkify.toml;
    kept on the state so that an error about a value names where it came from."""
    from sparkify.config import load_settings

    obj = state()
    if "wait" in flags:  # a command that takes the warehouse options, --wait-timeout among them
        flags = {**flags, "wait_timeout": obj.wait_timeout}
    obj.settings = load_settings(flags)
    if obj.summary is not None:  # known before anything can fail: a failed command's JSON says where
        from sparkify.config import mask_url

        obj.summary["warehouse"] = mask_url(obj.settings.warehouse)
        if obj.settings.source is not None:
            obj.summary["source"] = obj.settings.source
    return obj.settings


def source(config: Settings) -> Source:
    """The source the settings name (the shipped sample when none is given). The command's JSON
    summary names it as every other output does: the folder's full path, or the S3 URI."""
    from sparkify.sources import open_configured

    opened = open_configured(config)
    obj = state()
    if obj.summary is not None:
        obj.summary["source"] = opened.description
    return opened


def schema_for(engine: str, schema: str | None, origin: str) -> str | None:
    """The schema to open an ``engine`` warehouse with: ``schema`` as configured, except on DuckDB,
    whose file is its own namespace. There a schema named on this command line (``origin`` is a flag,
    e.g. ``--schema``) is a ConfigError, and one from the environment or sparkify.toml -- settings
    shared with a PostgreSQL or Redshift warehouse -- does not apply (None)."""
    from sparkify.errors import ConfigError

    if engine != "duckdb" or schema is None:
        return schema
    if origin.startswith("--"):
        raise ConfigError(
            f"{origin} {schema} applies to PostgreSQL and Redshift: a DuckDB warehouse keeps every table in "
            f"its own file. Drop {origin}, or use another DuckDB file."
        )
    return None


def say_waiting(message: str) -> None:
    """Tell stderr (unless --quiet) that the warehouse is busy and this command waits for it."""
    from sparkify.console import make_console

    if not state().quiet:
        make_console(stderr=True).print(message, markup=False)


def connect(
    config: Settings, *, read_only: bool = False, must_exist: bool | None = None, next_step: str | None = None
) -> Warehouse:
    """Open the warehouse of ``config``; ``read_only`` commands (and ``must_exist``: commands that need
    tables already there) never create a database file, and say ``next_step`` when there is none
    (default: run ``sparkify run`` first); commands that write refuse an in-memory one.
    While another sparkify process holds it, say so on stderr (unless quiet)."""
    from sparkify.warehouse import connect as open_warehouse
    from sparkify.warehouse import engine_of

    engine = engine_of(config.warehouse)
    schema = schema_for(engine, config.schema_name, config.origin("schema"))
    obj = state()
    if obj.summary is not None and engine != "duckdb":  # --json: which schema
        obj.summary["schema"] = schema or "public"
    return open_warehouse(
        config.warehouse,
        schema=schema,
        iam_role=config.iam_role,
        region=config.region,
        manifest_prefix=config.manifest_prefix,
        wait=config.wait,
        wait_timeout=config.wait_timeout,
        on_wait=say_waiting,
        must_exist=read_only if must_exist is None else must_exist,
        **({"next_step": next_step} if next_step else {}),
        must_persist=not read_only,
        read_only=read_only,
    )


@contextmanager
def progress(console: Console) -> Iterator[ProgressReporter]:
    """The library's progress reporter for ``console`` (silent when quiet), closed on the way out."""
    from sparkify.console import ProgressReporter

    reporter = ProgressReporter(console, quiet=state().quiet)
    try:
        yield reporter
    finally:
        reporter.close()
