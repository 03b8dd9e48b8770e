"""The ``sparkify`` command line: parse options, call one library function, print. No SQL and no
business rule here.

==================  ================================================================================
``app``             the group, the state its commands share (``ctx.obj``), errors -> exit codes
``options``         options shared by several commands; settings, source and connection from them
``output``          what the load and query commands print
``load``            run, create-tables, stage, transform, check, runs
``query``           analytics, query, compare
``sql``             sql
``report``          report
``generate``        generate
``infra``           infra up / status / down (printing in ``infra_output``)
==================  ================================================================================
"""

from sparkify.cli import generate, infra, load, query, report, sql  # noqa: F401  -- register the commands
from sparkify.cli.app import CliState, cli, main

__all__ = ["CliState", "cli", "main"]
