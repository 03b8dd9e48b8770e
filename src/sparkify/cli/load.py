"""The load commands: ``run``, and its steps one at a time (``create-tables``, ``stage``,
``transform``, ``check``); ``runs`` lists what the load ledger recorded."""

from __future__ import annotations

import time

import click

from sparkify import quality
from sparkify.cli import options, output
from sparkify.cli.app import cli, state
from sparkify.console import make_console
from sparkify.pipeline.tables import CREATE_FIRST
from sparkify.sources import check_source
from sparkify.wording import plural


def total_time(started: float) -> dict[str, float]:
    """The ``timings`` of a JSON summary: seconds since ``started`` (``time.perf_counter()``)."""
    return {"total": round(time.perf_counter() - started, 3)}


def load_arguments(settings, full_refresh: bool, prune: bool, progress) -> dict:
    """The keyword arguments ``pipeline.run`` and ``pipeline.stage`` take from the command line."""
    return {
        "max_errors": settings.max_errors,
        "full_refresh": full_refresh,
        "prune": prune,
        "progress": progress,
        "verify_content": state().verify_content,
        "rules": settings.record_rules,
    }


def upgrade(wh, console) -> None:
    """Upgrade bookkeeping tables made by an earlier sparkify before the load, and say so (one line;
    ``upgraded`` in --json). Its own transaction: it stands even when the load then fails, so it is
    said first."""
    from sparkify import ledger

    done = ledger.upgrade(wh)
    if not done:
        return
    obj = state()
    if obj.summary is not None:
        obj.summary["upgraded"] = done
    elif not obj.quiet:
        console.print(
            f"Upgraded the bookkeeping tables to layout {ledger.SCHEMA_VERSION}: {'; '.join(done)}.",
            markup=False,
        )


SHOWN_MESSAGE_CHARS = 200
"""How much of a failed run's message `sparkify runs` prints (the bookkeeping table keeps 1,000)."""


@cli.command("run")
@options.load_step_options
@options.file_option(
    "--report",
    "report_path",
    help="After the load, write the analytics report (HTML) to PATH, even when checks fail.",
)
@options.json_option
@options.common_options
def run_cmd(source_flags, full_refresh, prune, report_path, **flags):
    """Create missing tables, stage what is new, build the star schema, run the checks.

    Only files new or changed since the last run are read (--full-refresh reads all); staging and
    the star tables change together, in one transaction, or not at all. Files loaded earlier and
    no longer in the source keep their rows unless --prune.

    \b
    Example:
      sparkify run
      sparkify run --source data/sparkify-sample --warehouse duckdb:///sparkify.duckdb
      sparkify run --max-errors 100 --full-refresh --report report.html
      sparkify run --source data/sparkify-sample --log-source data/sparkify-sample/log_data/2018/11   # one folder of days; rows loaded earlier are kept
      sparkify run --prune   # remove the rows of files no longer under --source
      sparkify run --ts-min 2018-01-01   # reject events before 2018 (e.g. ts in seconds)
      sparkify run --source s3://my-bucket/sparkify
      sparkify run --warehouse postgresql://me@localhost/music --schema sparkify
      sparkify run --warehouse redshift://me@cluster.example:5439/dev \\
          --source s3://bucket/sparkify --iam-role arn:aws:iam::123456789012:role/redshift-s3
    """
    obj = state()
    from sparkify import pipeline

    settings = options.settings(**source_flags, **flags)  # the warehouse, Redshift, error and ts flags
    src = options.source(settings)
    check_source(src)  # a mistyped source creates no warehouse file and records no run
    console = make_console()
    with options.connect(settings) as wh:
        upgrade(wh, console)
        with options.progress(console) as progress:
            run_report = pipeline.run(wh, src, **load_arguments(settings, full_refresh, prune, progress))
        if obj.summary is not None:
            from sparkify import summary

            summary.add_run(obj.summary, run_report)
        else:
            output.print_run(console, run_report, quiet=obj.quiet)
        if report_path is not None:
            from sparkify import report

            report.write(wh, report_path, run_report=run_report)
            if obj.summary is None:
                console.print(f"Report: {report_path}")  # asked for: part of the result, even when quiet
            else:
                obj.summary["report"] = str(report_path)
    quality.require_passed(run_report.checks)


@cli.command("create-tables")
@options.warehouse_options
@options.common_options
def create_tables_cmd(**flags):
    """Create the staging and star tables that are missing. Safe to run twice.

    \b
    Example:
      sparkify create-tables --warehouse duckdb:///sparkify.duckdb
    """
    from sparkify import pipeline

    settings = options.settings(**flags)
    with options.connect(settings) as wh:
        created = pipeline.create_tables(wh)
    console = make_console()
    if created:
        console.print(f"Created {plural(len(created), 'table')}: {', '.join(created)}")
    else:
        console.print("All tables already exist.")


@cli.command("stage")
@options.load_step_options
@options.json_option
@options.common_options
def stage_cmd(source_flags, full_refresh, prune, **flags):
    """Load the source's new and changed song and log files into the staging tables.

    The tables must exist: `sparkify create-tables` makes them (`sparkify run` does every step).

    \b
    Example:
      sparkify create-tables --warehouse duckdb:///sparkify.duckdb
      sparkify stage --source data/sparkify-sample --warehouse duckdb:///sparkify.duckdb
      sparkify transform --warehouse duckdb:///sparkify.duckdb
    """
    obj = state()
    from sparkify import pipeline

    settings = options.settings(**source_flags, **flags)  # the warehouse, Redshift, error and ts flags
    src = options.source(settings)
    check_source(src)
    console = make_console()
    # the tables must be there already (create-tables, run): a missing DuckDB file is not made
    with (
        options.connect(settings, must_exist=True, next_step=CREATE_FIRST) as wh,
        options.progress(console) as progress,
    ):
        upgrade(wh, console)
        report = pipeline.stage(wh, src, **load_arguments(settings, full_refresh, prune, progress))
    if obj.summary is not None:
        from sparkify import summary

        summary.add_stage(obj.summary, report)
        obj.summary.update(source=src.description, warehouse=wh.display_url)
        return
    output.print_stage(console, report, quiet=obj.quiet)
    if obj.quiet:  # the final result alone
        console.print(
            f"Staged {plural(report.staged, 'record')} ({report.rejected:,} rejected) into {wh.display_name}.",
            markup=False,
        )


@cli.command("transform")
@options.warehouse_step_options
def transform_cmd(**flags):
    """Rebuild the star tables from the staging tables, in one transaction.

    \b
    Example:
      sparkify transform --warehouse duckdb:///sparkify.duckdb
    """
    obj = state()
    from sparkify import pipeline

    settings = options.settings(**flags)
    console = make_console()
    started = time.perf_counter()
    with options.connect(settings, must_exist=True) as wh, options.progress(console) as progress:
        rows = pipeline.transform(wh, progress=progress)
        shown_url, shown_name = wh.display_url, wh.display_name  # the name: with the schema, if any
    if obj.summary is not None:
        obj.summary.update(warehouse=shown_url, tables=rows, timings=total_time(started))
        return
    if obj.quiet:  # the final result alone
        counts = ", ".join(f"{name} {n:,}" for name, n in rows.items())
        console.print(f"Rebuilt the star tables in {shown_name}: {counts}.", markup=False)
        return
    output.print_rows(console, rows)


@cli.command("check")
@options.warehouse_step_options
def check_cmd(**flags):
    """Run the quality checks; exit 1 listing every failure.

    \b
    Example:
      sparkify check --warehouse duckdb:///sparkify.duckdb
    """
    from sparkify import pipeline

    started = time.perf_counter()
    obj, settings = state(), options.settings(**flags)
    with options.connect(settings, read_only=True) as wh:
        pipeline.require_star(wh)
        results = pipeline.check(wh)
        shown_url = wh.display_url
    if obj.summary is not None:
        from sparkify import summary

        summary.add_checks(obj.summary, results)
        obj.summary.update(warehouse=shown_url, timings=total_time(started))
    else:
        output.print_checks(make_console(), results, all_rows=True, quiet=obj.quiet)
    quality.require_passed(results)


@cli.command("runs")
@options.warehouse_options
@click.option(
    "--limit", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="How many runs to list."
)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON lines instead of a table.")
@options.common_options
def runs_cmd(limit, as_json, **flags):
    """List the most recent runs from load_runs, newest first: what each did, without SQL.

    \b
    Example:
      sparkify runs
      sparkify runs -n 1 --json      # the last run, for a script
    """
    from sparkify import ledger, pipeline
    from sparkify.console import printable
    from sparkify.schema import LOAD_RUNS

    settings = options.settings(**flags)
    with options.connect(settings, read_only=True) as wh:
        pipeline.require_tables(wh, [LOAD_RUNS.name])
        pipeline.refuse_foreign_tables(wh)  # load_runs altered by hand: named, not a TypeError
        runs = ledger.recent_runs(wh, limit)
    if as_json:
        from sparkify import summary

        for run in runs:
            click.echo(summary.dumps(run))
        return
    console = make_console()
    if not runs:
        console.print("No runs recorded yet. Run `sparkify run` first.")
        return
    print_runs_table(console, runs)
    if any(r["status"] != "succeeded" for r in runs):
        console.print("A run that did not succeed changed nothing: '-' under files and staged.")
    if any(_checks_cell(r) == "-" for r in runs):
        console.print(
            "'-' under checks failed: the run loaded, but its checks did not run then. `sparkify check` "
            "runs them on the warehouse as it is now (it reads only: its result is not recorded here)."
        )
    for r in runs:
        if r["message"]:
            message = printable(r["message"])
            if len(message) > SHOWN_MESSAGE_CHARS:  # ten rejects made a paragraph per failed run
                message = message[:SHOWN_MESSAGE_CHARS].rstrip() + " ... (--json gives the whole message)"
            console.print(f"{r['load_id'][:8]}: {message}")
        if r["files_removed"]:
            console.print(
                f"{r['load_id'][:8]}: --prune removed the rows of {plural(r['files_removed'], 'file')}"
            )


def print_runs_table(console, runs: list[dict]) -> None:
    """Print :func:`runs_table` on ``console``: within its width when every cell fits whole, else
    wider (the terminal wraps the lines): a number is never cut to fit."""
    shown = runs_table(runs)
    # never a number cut to fit a narrow terminal: wider than the screen, the lines wrap instead
    needed = sum(c.min_width or 0 for c in shown.columns) + len(shown.columns) - 1
    width = console.width
    if needed >= width:  # (squeezed to exactly its minimum, rich cuts the last column by two characters)
        console.width = needed + 2  # print(width=) cannot go past the console's own width
    console.print(shown)
    console.width = width


def runs_table(runs: list[dict]):
    """The table `sparkify runs` prints: one row per run of :func:`sparkify.ledger.recent_runs`,
    compact enough for an 80-column terminal (only the command and the last header wrap; the start
    and the load id never shrink). The command says ``full`` and ``prune`` when the run was asked
    for with ``--full-refresh`` / ``--prune``. A run that did not succeed shows '-' for its files
    and staged records (it was rolled back)."""
    import datetime as dt

    from sparkify.console import table

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        [
            _when(r["started_at"], now),
            r["load_id"][:8],
            # how it was asked for: "run full prune" for run --full-refresh --prune
            " ".join(
                [r["command"], *(["full"] if r["full_refresh"] else []), *(["prune"] if r["prune"] else [])]
            ),
            r["status"],
            _seconds(r["seconds"]),
            # a run that did not succeed was rolled back: nothing it read stayed staged
            r["files_loaded"] if r["status"] == "succeeded" else "-",
            (r["songs_staged"] or 0) + (r["events_staged"] or 0) if r["status"] == "succeeded" else "-",
            (r["songs_rejected"] or 0) + (r["events_rejected"] or 0),
            _checks_cell(r),
        ]
        for r in runs
    ]
    t = table(
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
        compact=True,
    )
    # Every cell whole: each column at least as wide as its widest cell, only the command's words
    # and the last header may wrap. (Squeezed, rich cuts a number silently: 12 showed as 1.)
    for i, column in enumerate(t.columns):
        wraps = str(column.header) in ("command", "checks failed")
        column.no_wrap = not wraps
        words = [w for row in rows for w in str(row[i]).split()] if wraps else [str(row[i]) for row in rows]
        head = str(column.header).split() if wraps else [str(column.header)]
        column.min_width = max(len(w) for w in [*words, *head])
    return t


def _when(started, now) -> str:
    """A run's start as ``ls -l`` shows a time: ``Dec 01 05:44`` within half a year of ``now``,
    else ``Dec 01  2025`` (both UTC, naive)."""
    if started is None:
        return ""
    recent = abs((now - started).days) < 183
    return started.strftime("%b %d %H:%M" if recent else "%b %d  %Y")


def _checks_cell(run: dict) -> object:
    """The checks cell of a run: how many failed; '-' for a ``run`` that loaded but whose checks did
    not run (interrupted or cut off after its commit); empty for ``stage``, which runs none."""
    if run["checks_failed"] is not None:
        return run["checks_failed"]
    return "-" if run["command"] == "run" and run["status"] == "succeeded" else ""


def _seconds(seconds: float | None) -> str:
    """A run's duration for the table: tenths under 100 s, whole seconds above (narrower)."""
    if seconds is None:
        return ""
    return f"{seconds:.1f}" if seconds < 100 else f"{seconds:.0f}"
