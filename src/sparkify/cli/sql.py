"""``sparkify sql``: the statements a run sends, printed for review without connecting."""

from __future__ import annotations

import click

from sparkify.cli import options
from sparkify.cli.app import cli


@cli.command("sql")
@click.argument("steps", nargs=-1, metavar="[STEP]...")
@click.option(
    "--engine",
    metavar="NAME",
    help="duckdb, postgres or redshift. Default: the engine of --warehouse (duckdb).",
)
@options.source_options
@options.warehouse_options
@options.redshift_options
@options.max_errors_option
@options.common_options
def sql_cmd(steps, engine, source_flags, **flags):
    """Print the statements each STEP runs on an engine, without connecting to anything.

    STEP is create-tables, stage, transform or check (default: all four, in order). Review the
    Redshift SQL before pointing sparkify at a cluster; passwords are never printed.

    The statements are traced: each step's own code runs against a recording copy of the engine
    (the stage step reads one placeholder record per kind of file), and what it sends is printed,
    values as placeholders. Left out: reads that plan the work (row counts, the ledger) and
    bookkeeping on load_runs, load_files, load_errors and load_schema.

    \b
    Example:
      sparkify sql --engine redshift
      sparkify sql --engine redshift stage --source s3://bucket/sparkify --iam-role ARN
      sparkify sql --engine postgres --schema music transform
    """
    from sparkify import script
    from sparkify.config import mask_url
    from sparkify.warehouse import engine_of, offline

    flags.pop("wait")  # nothing is opened: nothing to wait for
    settings = options.settings(**source_flags, **flags)  # the warehouse, Redshift and error flags
    chosen = script.steps_named(steps)
    engine = engine if engine is not None else engine_of(settings.warehouse)
    wh = offline(
        engine,
        schema=options.schema_for(engine, settings.schema_name, settings.origin("schema")),
        iam_role=settings.iam_role,
        region=settings.region,
        manifest_prefix=settings.manifest_prefix,
    )
    try:
        text = script.script(
            wh,
            chosen,
            source=settings.source,
            max_errors=settings.max_errors,
            shown_url=mask_url(settings.warehouse) if engine is None or flags["warehouse"] else None,
        )
    finally:
        wh.close()
    click.echo(text)
