"""``sparkify report``: the analytics report as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from sparkify.cli import options
from sparkify.cli.app import cli
from sparkify.console import make_console


@cli.command("report")
@options.warehouse_options
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    metavar="PATH",
    help="Where to write the HTML file (replaced if it exists).",
)
@options.common_options
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

    settings = options.settings(warehouse=warehouse, schema=schema, wait=wait)
    with options.connect(settings, read_only=True) as wh:
        pipeline.require_star(wh)
        report.write(wh, out)
    make_console().print(f"Report: {out}")
