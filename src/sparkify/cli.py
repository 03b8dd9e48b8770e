"""The ``sparkify`` command: parse options, call one library function, print. No SQL here."""

from __future__ import annotations

import difflib
import functools
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sparkify import __version__
from sparkify.errors import CheckFailed, ConfigError, SparkifyError
from sparkify.sources.s3 import DEFAULT_CONCURRENCY

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class State:
    """Options shared by every command: --debug, --quiet."""

    debug = False
    quiet = False
    settings = None
    """The settings of the command running, so that an error about a value names where it came from."""
    summary: dict | None = None
    """With --json: the summary being filled; printed once, at the end, whatever the outcome."""
    wait_timeout: float | None = None
    """--wait-timeout, when the command takes the warehouse options."""
    verify_content = False
    """--verify-content (run, stage)."""


def _console():
    from sparkify.console import make_console

    return make_console()


# -- shared options -------------------------------------------------------------------------------


def warehouse_options(f: Callable) -> Callable:
    f = click.option(
        "--warehouse",
        "-w",
        metavar="URL",
        help="duckdb:///file.duckdb (default ./sparkify.duckdb), postgresql://user@host/db or "
        "redshift://user@host:5439/db. Env SPARKIFY_WAREHOUSE.",
    )(f)
    f = click.option(
        "--schema", metavar="NAME", help="Schema for every table (PostgreSQL, Redshift). Env SPARKIFY_SCHEMA."
    )(f)
    f = click.option(
        "--wait/--no-wait",
        default=None,
        help="If another sparkify process is using the warehouse, wait for it (default) or fail at once. "
        "Env SPARKIFY_WAIT.",
    )(f)

    @click.option(
        "--wait-timeout",
        type=float,
        metavar="SECONDS",
        help="Give up waiting for another sparkify process after SECONDS (default 3600), exit 75. "
        "Env SPARKIFY_WAIT_TIMEOUT.",
    )
    @functools.wraps(f)
    def wrapper(*args, wait_timeout, **kwargs):
        State.wait_timeout = wait_timeout  # merged into the settings by _settings()
        return f(*args, **kwargs)

    return wrapper


def redshift_options(f: Callable) -> Callable:
    f = click.option(
        "--iam-role",
        metavar="ARN",
        help="IAM role Redshift's COPY assumes to read the S3 source. Env SPARKIFY_IAM_ROLE.",
    )(f)
    f = click.option(
        "--region",
        metavar="NAME",
        help="AWS region of the S3 source, when it differs from the cluster's. Env SPARKIFY_REGION.",
    )(f)
    return f


SOURCE_FLAGS = ("source", "song_source", "log_source", "s3_endpoint", "s3_concurrency")


def source_options(f: Callable) -> Callable:
    """--source and its companions; the command receives them as one dict, ``source_flags``."""

    @click.option(
        "--source",
        "-s",
        metavar="PATH|URI",
        help="Folder or s3://bucket/prefix holding song_data/ and log_data/ (Redshift: s3:// only). Default: "
        "./data/sparkify-sample, else the sample shipped in the package. Env SPARKIFY_SOURCE.",
    )
    @click.option(
        "--song-source",
        metavar="PATH|URI",
        help="Where the song files are, if not in <source>/song_data/. Env SPARKIFY_SONG_SOURCE.",
    )
    @click.option(
        "--log-source",
        metavar="PATH|URI",
        help="Where the log files are, if not in <source>/log_data/. Env SPARKIFY_LOG_SOURCE.",
    )
    @click.option(
        "--s3-endpoint",
        metavar="URL",
        help="S3-compatible endpoint, e.g. http://127.0.0.1:9000. Default: "
        "AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS. Env SPARKIFY_S3_ENDPOINT.",
    )
    @click.option(
        "--s3-concurrency",
        type=int,
        metavar="N",
        help=f"S3 objects read at once (default {DEFAULT_CONCURRENCY}). Env SPARKIFY_S3_CONCURRENCY.",
    )
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs["source_flags"] = {name: kwargs.pop(name) for name in SOURCE_FLAGS}
        return f(*args, **kwargs)

    return wrapper


def max_errors_option(f: Callable) -> Callable:
    return click.option(
        "--max-errors",
        type=int,
        metavar="N",
        help="Tolerate up to N rejected input records (default 0). Env SPARKIFY_MAX_ERRORS.",
    )(f)


def ts_bounds_options(f: Callable) -> Callable:
    """--ts-min / --ts-max: the plausible range of event times (dates, UTC)."""
    f = click.option(
        "--ts-max",
        metavar="DATE",
        help="Reject events whose ts is on or after DATE (default 2100-01-01). Env SPARKIFY_TS_MAX.",
    )(f)
    return click.option(
        "--ts-min",
        metavar="DATE",
        help="Reject events whose ts is before DATE, e.g. epoch seconds (default 2000-01-01). Env SPARKIFY_TS_MIN.",
    )(f)


def common_options(f: Callable) -> Callable:
    @click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and the final result.")
    @click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
    @functools.wraps(f)
    def wrapper(*args, quiet: bool, debug: bool, **kwargs):
        State.quiet = State.quiet or quiet
        State.debug = State.debug or debug
        return f(*args, **kwargs)

    return wrapper


def _settings(**flags: Any):
    from sparkify.config import load_settings

    if "wait" in flags:  # a command that takes the warehouse options, --wait-timeout among them
        flags = {**flags, "wait_timeout": State.wait_timeout}
    State.settings = load_settings(flags)
    return State.settings


def _source(settings):
    """The Source the settings name; the shipped sample when none is given."""
    from sparkify.config import default_source
    from sparkify.sources import open_source

    location = settings.source
    if location is None and not (settings.song_source and settings.log_source):
        location = str(default_source())
    return open_source(
        location,
        song_source=settings.song_source,
        log_source=settings.log_source,
        s3_endpoint=settings.s3_endpoint,
        s3_concurrency=settings.s3_concurrency,
    )


def _connect(settings, *, read_only: bool = False, must_exist: bool | None = None):
    """Open the warehouse of ``settings``; ``read_only`` commands (and ``must_exist``: commands that
    need tables already there) never create a database file."""
    from sparkify.console import make_console
    from sparkify.warehouse import connect

    def on_wait(message: str) -> None:
        if not State.quiet:
            make_console(stderr=True).print(message, markup=False)

    return connect(
        settings.warehouse,
        schema=settings.schema_name,
        iam_role=settings.iam_role,
        region=settings.region,
        manifest_prefix=settings.manifest_prefix,
        wait=settings.wait,
        wait_timeout=settings.wait_timeout,
        on_wait=on_wait,
        must_exist=read_only if must_exist is None else must_exist,
        must_persist=not read_only,
    )


# -- the command group ----------------------------------------------------------------------------


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="sparkify")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and the final result.")
def cli(debug: bool, quiet: bool) -> None:
    """Load Sparkify's song and event JSON into a star schema and check it.

    \b
    Example:
      sparkify run                                   # the shipped sample into ./sparkify.duckdb
      sparkify run --source ~/data --warehouse duckdb:///warehouse.duckdb
      sparkify analytics top_songs --format csv

    Settings come from flags, then SPARKIFY_* environment variables, then sparkify.toml in the
    working directory.

    \b
    Exit codes (the same in every command):
      0    ok
      1    checks failed, or an analytics result differs
      2    usage or configuration error (also: credentials refused, tables not there yet)
      65   bad input rejected; nothing was changed
      66   the source cannot be found or read
      69   the warehouse or AWS refused the operation
      70   internal error (a bug: --debug shows the traceback)
      74   a local file could not be written (disk full, permission)
      75   temporary failure, retry later (busy, connection refused or lost, throttled)
      130  interrupted (SIGINT); 143 terminated (SIGTERM)
    """
    State.debug = debug
    State.quiet = quiet


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

            State.summary = summary.empty(click.get_current_context().info_name)
            State.quiet = True
        return f(*args, **kwargs)

    return wrapper


def verify_content_option(f: Callable) -> Callable:
    """--verify-content: compare a checksum of each local file with the ledger's, for sources whose
    timestamps cannot be trusted."""

    @click.option(
        "--verify-content",
        is_flag=True,
        help="Also compare each local file's checksum with the one recorded when it was loaded (reads every "
        "file; for sources whose timestamps cannot be trusted). S3 ETags already change with the content.",
    )
    @functools.wraps(f)
    def wrapper(*args, verify_content: bool, **kwargs):
        State.verify_content = verify_content
        return f(*args, **kwargs)

    return wrapper


def full_refresh_option(f: Callable) -> Callable:
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


@cli.command("run")
@source_options
@warehouse_options
@redshift_options
@max_errors_option
@ts_bounds_options
@full_refresh_option
@verify_content_option
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="After the load, write the analytics report (HTML) to PATH, even when checks fail.",
)
@json_option
@common_options
def run_cmd(
    source_flags,
    warehouse,
    schema,
    wait,
    iam_role,
    region,
    max_errors,
    ts_min,
    ts_max,
    full_refresh,
    prune,
    report_path,
):
    """Create missing tables, stage what is new, build the star schema, run the checks.

    Only files new or changed since the last run are read (--full-refresh reads all); staging and
    the star tables change together, in one transaction, or not at all. Files loaded earlier and
    no longer in the source keep their rows unless --prune.

    \b
    Example:
      sparkify run
      sparkify run --source data/sparkify-sample --warehouse duckdb:///sparkify.duckdb
      sparkify run --max-errors 100 --full-refresh --report report.html
      sparkify run --log-source data/log_data/2018/11/02   # today's folder; earlier days are kept
      sparkify run --prune   # remove the rows of files no longer under --source
      sparkify run --ts-min 2018-01-01   # reject events before 2018 (e.g. ts in seconds)
      sparkify run --source s3://my-bucket/sparkify
      sparkify run --warehouse postgresql://me@localhost/music --schema sparkify
      sparkify run --warehouse redshift://me@cluster.example:5439/dev \\
          --source s3://bucket/sparkify --iam-role arn:aws:iam::123456789012:role/redshift-s3
    """
    from sparkify import pipeline

    settings = _settings(
        **source_flags,
        warehouse=warehouse,
        schema=schema,
        wait=wait,
        iam_role=iam_role,
        region=region,
        max_errors=max_errors,
        ts_min=ts_min,
        ts_max=ts_max,
    )
    src = _source(settings)
    console = _console()
    with _connect(settings) as wh:
        with _progress(console) as progress:
            run_report = pipeline.run(
                wh,
                src,
                max_errors=settings.max_errors,
                full_refresh=full_refresh,
                prune=prune,
                progress=progress,
                verify_content=State.verify_content,
                rules=settings.record_rules,
            )
        if State.summary is not None:
            from sparkify import summary

            summary.add_run(State.summary, run_report)
        else:
            _print_run(console, run_report)
        if report_path is not None:
            from sparkify import report

            report.write(wh, report_path, run_report=run_report)
            if State.summary is None:
                console.print(f"Report: {report_path}")  # asked for: part of the result, even when quiet
            else:
                State.summary["report"] = str(report_path)
    _fail_on_checks(run_report.checks)


@cli.command("create-tables")
@warehouse_options
@common_options
def create_tables_cmd(warehouse, schema, wait):
    """Create the staging and star tables that are missing. Safe to run twice.

    \b
    Example:
      sparkify create-tables --warehouse duckdb:///sparkify.duckdb
    """
    from sparkify import pipeline

    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    with _connect(settings) as wh:
        created = pipeline.create_tables(wh)
    console = _console()
    if created:
        console.print(f"Created {len(created)} tables: {', '.join(created)}")
    else:
        console.print("All tables already exist.")


@cli.command("stage")
@source_options
@warehouse_options
@redshift_options
@max_errors_option
@ts_bounds_options
@full_refresh_option
@verify_content_option
@json_option
@common_options
def stage_cmd(
    source_flags, warehouse, schema, wait, iam_role, region, max_errors, ts_min, ts_max, full_refresh, prune
):
    """Load the source's new and changed song and log files into the staging tables.

    \b
    Example:
      sparkify stage --source data/sparkify-sample
    """
    from sparkify import pipeline

    settings = _settings(
        **source_flags,
        warehouse=warehouse,
        schema=schema,
        wait=wait,
        iam_role=iam_role,
        region=region,
        max_errors=max_errors,
        ts_min=ts_min,
        ts_max=ts_max,
    )
    src = _source(settings)
    console = _console()
    with _connect(settings) as wh, _progress(console) as progress:
        report = pipeline.stage(
            wh,
            src,
            max_errors=settings.max_errors,
            full_refresh=full_refresh,
            prune=prune,
            progress=progress,
            verify_content=State.verify_content,
            rules=settings.record_rules,
        )
    if State.summary is not None:
        from sparkify import summary

        summary.add_stage(State.summary, report)
        State.summary.update(source=src.description, warehouse=wh.display_url)
        return
    _print_stage(console, report, quiet=State.quiet)
    if State.quiet:  # the final result alone
        console.print(
            f"Staged {report.staged:,} records ({report.rejected:,} rejected) into {wh.display_url}.",
            markup=False,
        )


@cli.command("transform")
@warehouse_options
@json_option
@common_options
def transform_cmd(warehouse, schema, wait):
    """Rebuild the star tables from the staging tables, in one transaction.

    \b
    Example:
      sparkify transform --warehouse duckdb:///sparkify.duckdb
    """
    from sparkify import pipeline

    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    console = _console()
    started = time.perf_counter()
    with _connect(settings, must_exist=True) as wh, _progress(console) as progress:
        rows = pipeline.transform(wh, progress=progress)
        shown_url = wh.display_url
    if State.summary is not None:
        State.summary.update(
            warehouse=shown_url, tables=rows, timings={"total": round(time.perf_counter() - started, 3)}
        )
        return
    if State.quiet:  # the final result alone
        counts = ", ".join(f"{name} {n:,}" for name, n in rows.items())
        console.print(f"Rebuilt the star tables in {shown_url}: {counts}.", markup=False)
        return
    _print_rows(console, rows)


@cli.command("check")
@warehouse_options
@json_option
@common_options
def check_cmd(warehouse, schema, wait):
    """Run the quality checks; exit 1 listing every failure.

    \b
    Example:
      sparkify check --warehouse duckdb:///sparkify.duckdb
    """
    from sparkify import pipeline

    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    started = time.perf_counter()
    with _connect(settings, read_only=True) as wh:
        pipeline.require_star(wh)
        results = pipeline.check(wh)
        shown_url = wh.display_url
    if State.summary is not None:
        from sparkify import summary

        summary.add_checks(State.summary, results)
        State.summary.update(warehouse=shown_url, timings={"total": round(time.perf_counter() - started, 3)})
    else:
        _print_checks(_console(), results, all_rows=True)
    _fail_on_checks(results)


@cli.command("runs")
@warehouse_options
@click.option(
    "--limit", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="How many runs to list."
)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON lines instead of a table.")
@common_options
def runs_cmd(warehouse, schema, wait, limit, as_json):
    """List the most recent runs from load_runs, newest first: what each did, without SQL.

    \b
    Example:
      sparkify runs
      sparkify runs -n 1 --json      # the last run, for a script
    """
    from sparkify import ledger, pipeline
    from sparkify.console import printable, table
    from sparkify.schema import LOAD_RUNS

    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    with _connect(settings, read_only=True) as wh:
        pipeline.require_tables(wh, [LOAD_RUNS.name])
        runs = ledger.recent_runs(wh, limit)
    if as_json:
        from sparkify import summary

        for run in runs:
            click.echo(summary.dumps(run))
        return
    console = _console()
    if not runs:
        console.print("No runs recorded yet. Run `sparkify run` first.")
        return
    rows = [
        [
            r["started_at"].strftime("%Y-%m-%d %H:%M") if r["started_at"] else "",
            r["load_id"][:8],
            r["command"],
            r["status"],
            "" if r["seconds"] is None else f"{r['seconds']:.1f}",
            r["files_loaded"],
            (r["songs_staged"] or 0) + (r["events_staged"] or 0),
            (r["songs_rejected"] or 0) + (r["events_rejected"] or 0),
            "" if r["checks_failed"] is None else r["checks_failed"],
        ]
        for r in runs
    ]
    console.print(
        table(
            "Recent runs (UTC)",
            [
                "started",
                "load id",
                "command",
                "status",
                "secs",
                "files",
                "staged",
                "rejected",
                "checks failed",
            ],
            rows,
            right={4, 5, 6, 7, 8},
        )
    )
    for r in runs:
        if r["message"]:
            console.print(f"{r['load_id'][:8]}: {printable(r['message'])}")


@cli.command("sql")
@click.argument("steps", nargs=-1, metavar="[STEP]...")
@click.option(
    "--engine",
    metavar="NAME",
    help="duckdb, postgres or redshift. Default: the engine of --warehouse (duckdb).",
)
@source_options
@warehouse_options
@redshift_options
@max_errors_option
@common_options
def sql_cmd(steps, engine, source_flags, warehouse, schema, wait, iam_role, region, max_errors):
    """Print the statements each STEP runs on an engine, without connecting to anything.

    STEP is create-tables, stage, transform or check (default: all four, in order). Review the
    Redshift SQL before pointing sparkify at a cluster; passwords are never printed.

    \b
    Example:
      sparkify sql --engine redshift
      sparkify sql --engine redshift stage --source s3://bucket/sparkify --iam-role ARN
      sparkify sql --engine postgres --schema music transform
    """
    from sparkify import pipeline
    from sparkify.config import mask_url
    from sparkify.warehouse import engine_of, offline

    settings = _settings(
        **source_flags,
        warehouse=warehouse,
        schema=schema,
        iam_role=iam_role,
        region=region,
        max_errors=max_errors,
    )
    chosen = steps or pipeline.STEPS
    for step in chosen:
        if step not in pipeline.STEPS:
            close = difflib.get_close_matches(step, pipeline.STEPS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"Unknown step {step!r}.{hint} Steps: {', '.join(pipeline.STEPS)}.")
    name = engine or engine_of(settings.warehouse)
    wh = offline(name, schema=settings.schema_name, iam_role=settings.iam_role, region=settings.region)
    try:
        lines = [f"-- sparkify sql: statements for the {wh.name} engine"]
        if engine is None or warehouse:
            lines.append(f"-- warehouse: {mask_url(settings.warehouse)}")
        if wh.schema:
            lines.append(f"-- schema: {wh.schema}")
        # what every session runs first: unqualified names in the statements below resolve in the schema
        setup = wh.setup_statements()
        if setup:
            lines += ["", "-- every connection starts with (replaying in psql needs it too):"]
            lines += [s.rstrip(";") + ";" for s in setup]
        for step in chosen:
            lines += ["", f"-- == {step} " + "=" * (90 - len(step))]
            for statement in pipeline.statements(
                wh, step, source=settings.source, max_errors=settings.max_errors
            ):
                lines += ["", statement.rstrip().rstrip(";") + ";"]
    finally:
        wh.close()
    click.echo("\n".join(lines))


def dialect_option(default_help: str) -> Callable:
    from sparkify.analytics.dialect import DIALECTS

    return click.option(
        "--dialect",
        type=click.Choice(DIALECTS),
        default=None,
        help=f"The SQL dialect the queries are written in; on another engine they are translated "
        f"(sqlglot) before they run. Default: {default_help}.",
    )


def show_sql_option(f: Callable) -> Callable:
    return click.option(
        "--show-sql", is_flag=True, help="Print the SQL that actually runs, after translation (on stderr)."
    )(f)


def format_option(f: Callable) -> Callable:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "csv", "json"]),
        default="table",
        show_default=True,
        help="How to print each result.",
    )(f)


@cli.command("analytics")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@warehouse_options
@format_option
@click.option(
    "--queries",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Run the NAME.sql files in DIR (one query each, a leading comment as its description) "
    "instead of the shipped catalog.",
)
@click.option(
    "--expected",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Compare each result with DIR/NAME.csv; exit 1 with a diff when one differs. Rows are "
    "compared in order only where the query orders them.",
)
@click.option(
    "--save-expected",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write each result to DIR/NAME.csv, the expected files of a later --expected run.",
)
@dialect_option("redshift (the team's target; the catalog is written in it)")
@show_sql_option
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write each result to DIR/NAME.csv (or .json, .txt) instead of printing it; needed for "
    "several queries as CSV.",
)
@click.option("--list", "list_only", is_flag=True, help="List the queries and what each answers.")
@common_options
def analytics_cmd(
    names, warehouse, schema, wait, fmt, queries, expected, save_expected, dialect, show_sql, out, list_only
):
    """Run the analytics team's queries (all, or those NAMEd) and print their results.

    \b
    Example:
      sparkify analytics --list
      sparkify analytics top_songs --format csv > top_songs.csv
      sparkify analytics top_songs plays_by_hour --format csv --out results/
      sparkify analytics --expected tests/expected/sample
      sparkify analytics --queries team/ --expected team/expected --show-sql
      sparkify analytics --queries team/ --save-expected team/expected
    """
    from sparkify import analytics

    console = _console()
    if queries is not None:
        catalog = analytics.load_queries(queries, dialect=dialect or "redshift")
    else:
        if dialect not in (None, analytics.CATALOG_DIALECT):
            raise click.BadParameter(
                f"the catalog is written in {analytics.CATALOG_DIALECT}; --dialect applies to --queries files",
                param_hint="--dialect",
            )
        catalog = analytics.catalog()
    if list_only:
        from sparkify.console import table

        console.print(table(None, ["name", "answers"], [[q.name, q.description] for q in catalog.values()]))
        return
    selected = analytics.select(names, catalog)
    if fmt == "csv" and len(selected) > 1 and out is None and expected is None and save_expected is None:
        raise click.UsageError(
            f"{len(selected)} queries as CSV would make one unparseable stream: pass --out DIR to write "
            "one file per query (DIR/NAME.csv), or name one query."
        )
    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    failures = []
    from sparkify import pipeline

    with _connect(settings, read_only=True) as wh:
        if queries is None:  # the catalog reads the star tables; a folder of team queries may not
            pipeline.require_star(wh)
        for query in selected:
            sql = analytics.sql_for(wh, query)
            if show_sql:
                _print_sql(query, sql, wh)
            result = analytics.run_sql(wh, sql, origin=query.origin)
            if save_expected is not None:
                path = analytics.save_expected(result, save_expected, query.name, query=query)
                if not State.quiet and expected is None:
                    n = len(result.rows)
                    console.print(
                        f"{query.name}: {n} row{'' if n == 1 else 's'} saved to {path}", markup=False
                    )
            if expected is not None:
                diff = analytics.compare(result, expected / f"{query.name}.csv", query=query)
                if diff:
                    failures.append(query.name)
                    console.print(
                        f"{query.name}: DIFFERS from {expected / (query.name + '.csv')}", markup=False
                    )
                    console.print(diff, markup=False)
                elif not State.quiet:
                    n = len(result.rows)
                    note = analytics.expected.note(result, query)
                    console.print(
                        f"{query.name}: matches ({n} row{'' if n == 1 else 's'}{'; ' + note if note else ''})",
                        markup=False,
                    )
                continue
            if out is not None and save_expected is None:
                _write_result(console, out, query, result, fmt)
            elif save_expected is None:
                _print_result(console, query, result, fmt)
    if expected is not None:
        if failures:
            raise CheckFailed(
                f"{len(failures)} of {len(selected)} analytics results differ: {', '.join(failures)}"
            )
        console.print(f"All {len(selected)} analytics results match {expected}.", markup=False)


@cli.command("query")
@click.argument("sql", required=False)
@click.option(
    "--file",
    "-f",
    "sql_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read the query from FILE instead of the SQL argument.",
)
@warehouse_options
@format_option
@dialect_option("the warehouse engine's own")
@show_sql_option
@common_options
def query_cmd(sql, sql_file, warehouse, schema, wait, fmt, dialect, show_sql):
    """Run one ad-hoc query on the warehouse and print its result.

    \b
    Example:
      sparkify query "select level, count(*) as plays from songplays group by level"
      sparkify query --dialect redshift "select top 5 * from users" --show-sql
      sparkify query -f plays.sql --format csv > plays.csv
    """
    from sparkify import analytics

    if (sql is None) == (sql_file is None):
        raise click.UsageError("Give the query as the SQL argument or with --file FILE (one of them).")
    if sql_file is not None:
        try:
            sql = sql_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read query file {sql_file}: {exc.strerror or exc}.") from exc
    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    with _connect(settings, read_only=True) as wh:
        query = analytics.ad_hoc(sql, dialect=dialect or wh.sql_dialect, origin=str(sql_file or "the query"))
        text = analytics.sql_for(wh, query)
        if show_sql:
            _print_sql(query, text, wh)
        result = analytics.run_sql(wh, text, origin=query.origin if sql_file else "")
    _print_result(_console(), query, result, fmt)


@cli.command("compare")
@warehouse_options
@click.option(
    "--against",
    required=True,
    metavar="URL",
    help="The other warehouse: duckdb:///file.duckdb, postgresql://... or redshift://...",
)
@click.option(
    "--against-schema", metavar="NAME", help="Schema of the --against warehouse (default: --schema)."
)
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    metavar="N",
    help="Differing rows shown per table.",
)
@common_options
def compare_cmd(warehouse, schema, wait, against, against_schema, examples):
    """Compare the star tables of two warehouses: row counts, then every row (all columns but the
    surrogate songplay_id), streamed so it works on millions of rows. Exit 0 when identical, 1 with
    the first differing rows of each table and their counts.

    \b
    Example:
      sparkify compare --warehouse duckdb:///local.duckdb --against redshift://me@cluster:5439/dev --against-schema sparkify
      sparkify compare -w duckdb:///a.duckdb --against duckdb:///b.duckdb
    """
    from sparkify import compare
    from sparkify.warehouse import connect

    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    if against == settings.warehouse and (against_schema or settings.schema_name) == settings.schema_name:
        raise ConfigError("--warehouse and --against name the same warehouse: give two different ones.")
    console = _console()
    with (
        _connect(settings, read_only=True) as left,
        connect(
            against, schema=against_schema or settings.schema_name, wait=settings.wait, must_exist=True
        ) as right,
    ):
        results = compare.compare_warehouses(left, right, examples=examples)
        _print_comparison(console, results, left, right)
    differ = [r.table for r in results if not r.is_identical]
    if differ:
        raise CheckFailed(f"{len(differ)} of {len(results)} star tables differ: {', '.join(differ)}")
    console.print(f"All {len(results)} star tables are identical.", markup=False)


@cli.command("report")
@warehouse_options
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    metavar="PATH",
    help="Where to write the HTML file (replaced if it exists).",
)
@common_options
def report_cmd(warehouse, schema, wait, out):
    """Write the analytics report: one self-contained HTML file with the load's summary, a chart
    and table per analytics question, and the data-quality results. It loads nothing from the
    network, so it can be mailed, opened offline and printed.

    \b
    Example:
      sparkify report
      sparkify report --warehouse duckdb:///sparkify.duckdb --out /tmp/report.html
    """
    from sparkify import pipeline, report

    settings = _settings(warehouse=warehouse, schema=schema, wait=wait)
    with _connect(settings, read_only=True) as wh:
        pipeline.require_star(wh)
        report.write(wh, out)
    _console().print(f"Report: {out}")


@cli.command("generate")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write into."
)
@click.option("--events", type=int, default=10_000, show_default=True, help="Number of log events.")
@click.option("--songs", type=int, default=1_000, show_default=True, help="Number of song files.")
@click.option("--users", type=int, default=100, show_default=True, help="Number of users.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same seed, same files.")
@common_options
def generate_cmd(out, events, songs, users, seed):
    """Write deterministic synthetic data in the real layout and format.

    One JSON object per song file under song_data/A/B/C/, one NDJSON file per day under
    log_data/YYYY/MM/, with the real data's quirks.

    \b
    Example:
      sparkify generate --out /tmp/synthetic --events 1000000 --songs 20000
      sparkify run --source /tmp/synthetic --warehouse duckdb:////tmp/synthetic.duckdb
    """
    from sparkify.generate import generate

    for name, value in (("--events", events), ("--songs", songs), ("--users", users)):
        if value < 1:
            raise click.BadParameter(f"must be at least 1, got {value}", param_hint=name)
    console = _console()
    started = time.perf_counter()
    with _progress(console) as progress:
        report = generate(out, events=events, songs=songs, users=users, seed=seed, progress=progress)
    console.print(
        f"Wrote {report.song_files} song files and {report.log_files} log files "
        f"({report.events} events) and log_json_path.json to {out} in {time.perf_counter() - started:.1f}s"
    )


from sparkify.infra.cli import infra  # noqa: E402  -- the AWS provisioning commands

cli.add_command(infra)


# -- printing -------------------------------------------------------------------------------------

SHOWN = 10
"""How many unreadable files a summary lists by name."""


class _progress:
    def __init__(self, console):
        from sparkify.console import ProgressReporter

        self.reporter = ProgressReporter(console, quiet=State.quiet)

    def __enter__(self):
        return self.reporter

    def __exit__(self, *exc):
        self.reporter.close()


def _n(count: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def plan_summary(plan) -> str:
    """``events: 30 files: 2 new, 28 already loaded`` (zero parts left out)."""
    if plan.full_refresh:
        why = "staging did not match the load ledger" if plan.repair else "--full-refresh"
        return f"{plan.kind}: {len(plan.listed)} files: all loaded afresh ({why})"
    parts = [f"{plan.new} new"]
    if plan.changed:
        parts.append(f"{plan.changed} changed")
    if plan.unchanged:
        parts.append(f"{plan.unchanged} already loaded")
    return f"{plan.kind}: {len(plan.listed)} files: {', '.join(parts)}"


def passed_over_summary(plan) -> str | None:
    """``events: passed over 1 zero-byte file`` -- what the listing did not read; None if nothing."""
    listing = plan.listed
    parts = []
    for attr, noun, rest in (
        ("empty", "zero-byte file", ""),
        ("placeholders", "folder placeholder", ""),
        ("repeated", "link", " to a folder or file already read"),  # "2 links to ...", not "2 ... reads"
    ):
        names = getattr(listing, attr, ())
        if names:
            parts.append(_n(len(names), noun) + rest)
    return f"{plan.kind}: passed over {', '.join(parts)} (nothing to read)" if parts else None


def history_summary(plan) -> str | None:
    """What happens to the files loaded earlier and no longer in the source or now empty (see
    :meth:`sparkify.pipeline.FilePlan.history_summary`); None if there are none."""
    return plan.history_summary()


def unreadable_files(report) -> list[str]:
    """``name: reason`` of every file whose bytes could not be decoded as a whole (a broken gzip
    stream): the reader rejects it as one record with no line, its reason starting "cannot be read"."""
    return [
        f"{r.source}: {r.reason}"
        for r in report.rejects
        if r.line is None and r.reason.startswith("cannot be read")
    ]


def _print_stage(console, report, *, quiet: bool = False) -> None:
    """The staging part of a run's summary. Under ``quiet``, only what was removed or could not be read."""
    from sparkify.console import printable, table

    for plan in report.plans.values():
        line = history_summary(plan)
        if line and (plan.prune or not quiet):
            console.print(line, markup=False)
    unreadable = unreadable_files(report)
    if unreadable:
        console.print(f"Could not read {_n(len(unreadable), 'file')} (rejected whole):", markup=False)
        for line in unreadable[:SHOWN]:
            console.print(f"  {line}", markup=False)
        if len(unreadable) > SHOWN:
            console.print(
                f"  ... and {len(unreadable) - SHOWN} more (see the load_errors table)", markup=False
            )
    if quiet:
        return
    rows = []
    for kind, result in report.results.items():
        plan = report.plans.get(kind)
        size = f"{plan.bytes_to_read / 1e6:.1f}" if plan else ""
        seconds = f"{report.read_seconds[kind]:.1f}" if kind in report.read_seconds else ""
        rows.append([kind, len(result.files), size, result.read, result.staged, result.rejected, seconds])
    for plan in report.plans.values():
        console.print(plan_summary(plan), markup=False)
        skipped = passed_over_summary(plan)
        if skipped:
            console.print(skipped, markup=False)
    console.print(
        table(
            "Staged this run",
            ["input", "files read", "MB", "records read", "staged", "rejected", "seconds"],
            rows,
            right={1, 2, 3, 4, 5, 6},
        )
    )
    empty = [name for r in report.results.values() for name, c in r.files.items() if c.read == 0]
    if empty:
        shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        console.print(f"{len(empty)} files held no records: {printable(shown)}")
    if report.rejected:
        console.print(f"{report.rejected} records rejected (see the load_errors table):")
        for r in report.rejects[:10]:
            console.print(f"  {printable(r)}")
    if report.unknown_fields:
        fields = ", ".join(f"{k} ({n})" for k, n in sorted(report.unknown_fields.items()))
        console.print(f"Unknown fields ignored: {printable(fields)}")


def _print_rows(console, rows: dict[str, int]) -> None:
    from sparkify.console import table

    console.print(
        table("Star schema", ["table", "rows"], [[k, f"{v:,}"] for k, v in rows.items()], right={1})
    )


def _print_checks(console, results, all_rows: bool = False) -> None:
    from sparkify.console import table

    failed = [r for r in results if not r.passed]
    shown = results if all_rows else failed
    if shown and not State.quiet:  # quiet: the final line, and the error naming each failure
        console.print(
            table(
                "Checks",
                ["check", "result", "offending"],
                [[r.check.name, "ok" if r.passed else "FAILED", r.failures] for r in shown],
                right={2},
            )
        )
    console.print(f"Checks: {len(results) - len(failed)} of {len(results)} passed.")


def _print_run(console, report) -> None:
    from sparkify.console import printable

    _print_stage(console, report.stage, quiet=State.quiet)
    if not State.quiet:
        _print_rows(console, report.rows)
        _print_checks(console, report.checks)
    console.print(
        f"Loaded {report.stage.staged:,} records ({report.stage.rejected:,} rejected) from "
        f"{printable(report.source)} into {printable(report.destination)} in {report.seconds:.1f}s."
    )


def _print_result(console, query, result, fmt: str) -> None:
    from sparkify import analytics
    from sparkify.console import table

    if fmt == "table":
        title = f"{query.name}: {query.description}" if query.description else query.name
        console.print(table(title, result.columns, result.rows))
    elif fmt == "csv":
        sys.stdout.write(analytics.to_csv(result))
    else:
        sys.stdout.write(analytics.to_json(query, result) + "\n")


def _write_result(console, folder: Path, query, result, fmt: str) -> None:
    """Write one result to ``folder/NAME.csv`` (``.json``, or ``.txt`` for a table); say where."""
    from sparkify import analytics

    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        path, body = folder / f"{query.name}.csv", analytics.to_csv(result)
    elif fmt == "json":
        path, body = folder / f"{query.name}.json", analytics.to_json(query, result) + "\n"
    else:
        from rich.console import Console

        from sparkify.console import PLAIN_WIDTH, table

        path = folder / f"{query.name}.txt"
        with open(path, "w", encoding="utf-8") as fh:
            Console(file=fh, width=PLAIN_WIDTH, no_color=True, markup=False).print(
                table(f"{query.name}: {query.description}", result.columns, result.rows)
            )
        body = None
    if body is not None:
        path.write_text(body, encoding="utf-8")
    if not State.quiet:
        console.print(f"{query.name}: {len(result.rows)} rows -> {path}")


def _print_sql(query, sql: str, wh) -> None:
    """``--show-sql``: the text that runs, after a header saying what it was translated from. On
    stderr, so results piped as CSV or JSON stay clean."""
    how = (
        f"{query.dialect}, as written"
        if query.dialect == wh.sql_dialect
        else f"translated from {query.dialect}"
    )
    click.echo(f"-- {query.name} on {wh.name} ({how})\n{sql.strip()}\n", err=True)


def _print_comparison(console, results, left, right) -> None:
    """Per table: identical with its count, or the counts, the differing rows and examples."""
    from sparkify.analytics.expected import text

    def name(wh) -> str:
        return wh.display_url + (f" (schema {wh.schema})" if wh.schema else "")

    console.print(f"< {name(left)}\n> {name(right)}", markup=False)
    for r in results:
        if r.is_identical:
            console.print(
                f"{r.table}: identical ({r.left_count:,} row{'' if r.left_count == 1 else 's'})", markup=False
            )
            continue
        console.print(
            f"{r.table}: DIFFERS: {r.left_count:,} rows <, {r.right_count:,} rows >; "
            f"{r.only_left:,} only in <, {r.only_right:,} only in >",
            markup=False,
        )
        console.print(f"  columns: {', '.join(r.columns)}", markup=False)
        for side, row in r.examples:
            cells = " | ".join("NULL" if v is None else text(v) for v in row)
            console.print(f"  {side} {cells}", markup=False)
        shown = len(r.examples)
        if r.only_left + r.only_right > shown:
            console.print(
                f"  ... and {r.only_left + r.only_right - shown:,} more differing rows", markup=False
            )


def _fail_on_checks(results) -> None:
    failed = [r for r in results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} checks failed: {', '.join(r.check.name for r in failed)}")


# -- entry point ----------------------------------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    """The error's message for the terminal: values blamed on where they came from (flag, env,
    sparkify.toml), every password masked, control characters escaped line by line."""
    from sparkify.console import printable
    from sparkify.urls import mask_url

    text = str(exc)
    if State.settings is not None:
        text = State.settings.blame(text)
        text = text.replace(State.settings.warehouse, mask_url(State.settings.warehouse))
    return "\n".join(printable(line) for line in text.split("\n"))


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; end with one line on stderr for any error and the exit code of
    :class:`sparkify.errors.ExitCode` (the README's table). SIGINT and SIGTERM stop it promptly:
    the open transaction rolls back, the lock is released, the run is recorded as interrupted, and
    the process exits 130 or 143."""
    from sparkify import interrupts

    State.debug = State.quiet = False
    State.settings = State.summary = State.wait_timeout = None
    State.verify_content = False
    debug = "--debug" in (argv if argv is not None else sys.argv)
    interrupts.install()
    try:
        code = _invoke(argv, debug)
    finally:
        interrupts.uninstall()
    sys.exit(code)


def _invoke(argv: list[str] | None, debug: bool) -> int:
    """Run the command; return the exit code after printing what ended it."""
    from sparkify.errors import ExitCode, Interrupted

    try:
        # make_context + invoke, not cli.main(): click would turn an interrupt into Abort (and print a
        # blank line first); here it reaches the handler below as the Interrupted it is
        args = list(sys.argv[1:] if argv is None else argv)
        with cli.make_context("sparkify", args) as ctx:
            cli.invoke(ctx)
        code, message = 0, None
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.exceptions.Abort:  # a prompt (infra up) answered with Ctrl-C or end of input
        code, message = ExitCode.INTERRUPTED, "Aborted."
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code
        return _finish_json(code, exc.format_message())
    except SparkifyError as exc:
        if State.debug or debug:
            traceback.print_exc()
        code, message = exc.exit_code, f"Error: {_error_text(exc)}"
    except KeyboardInterrupt as exc:  # Interrupted (SIGINT, SIGTERM) or a Ctrl-C before install
        if State.debug or debug:
            traceback.print_exc()
        code = exc.exit_code if isinstance(exc, Interrupted) else ExitCode.INTERRUPTED
        committed = getattr(exc, "committed", None)
        what = "Interrupted" if code == ExitCode.INTERRUPTED else "Terminated"
        message = (
            f"{what} after load {committed} was committed; the checks did not run (`sparkify check` runs them)."
            if committed
            else f"{what}; nothing was changed."
        )
    except (OSError, MemoryError) as exc:
        if State.debug or debug:
            traceback.print_exc()
        code, message = _system_error(exc)
    except Exception as exc:
        if State.debug or debug:
            traceback.print_exc()
        from sparkify import interrupts

        if interrupts.received() is not None:  # a driver's own error for the signal (DuckDB)
            name = "Interrupted" if interrupts.received() == 2 else "Terminated"
            click.echo(f"{name}; nothing was changed.", err=True)
            return _finish_json(128 + int(interrupts.received()), f"{name}; nothing was changed.")
        code = ExitCode.INTERNAL
        message = f"Error: unexpected {type(exc).__name__}: {_error_text(exc)}. Run again with --debug for the traceback."
    if message:
        click.echo(message, err=True)
    return _finish_json(int(code), message)


def _finish_json(code: int, message: str | None) -> int:
    """With --json, print the summary (once) with the outcome; return ``code``."""
    if State.summary is not None:
        from sparkify import summary

        if code:
            summary.add_error(State.summary, (message or "").removeprefix("Error: "), code)
        click.echo(summary.dumps(State.summary))
        State.summary = None
    return code


def _system_error(exc: BaseException) -> tuple[int, str]:
    """One line for an operating-system error nothing else mapped: the path, and what to do."""
    import errno

    from sparkify.errors import ExitCode

    if isinstance(exc, MemoryError):
        return (
            ExitCode.INTERNAL,
            "Error: out of memory. Nothing was changed; free memory, or load fewer files at once.",
        )
    path = exc.filename or "a file"
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free space there (or set TMPDIR to a larger disk) and run again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "check who owns it and its permissions, or use another path"
    else:
        hint = "check the disk and the path, then run again"
    return ExitCode.IO_ERROR, f"Error: cannot write {path}: {reason}. Nothing was changed; {hint}."
