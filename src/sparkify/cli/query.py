"""The query commands: ``analytics`` (the named queries, and their expected results), ``query``
(one ad-hoc statement) and ``compare`` (the star tables of two warehouses)."""

from __future__ import annotations

import click

from sparkify.cli import options, output
from sparkify.cli.app import cli, state
from sparkify.console import make_console
from sparkify.errors import ConfigError
from sparkify.wording import plural


@cli.command("analytics")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@options.warehouse_options
@options.format_option
@options.folder_option(
    "--queries",
    help="Run the NAME.sql files in DIR (one query each, a leading comment as its description) "
    "instead of the shipped catalog.",
)
@options.folder_option(
    "--expected",
    help="Compare each result with DIR/NAME.csv; exit 1 with a diff when one differs. Rows are "
    "compared in order only where the query orders them.",
)
@options.folder_option(
    "--save-expected",
    help="Write each result to DIR/NAME.csv, the expected files of a later --expected run (once "
    "every query has run: all files or none).",
)
@options.dialect_option("redshift (the team's target; the catalog is written in it)")
@options.show_sql_option
@options.folder_option(
    "--out",
    "-o",
    help="Write each result to DIR/NAME.csv (or .json, .txt) instead of printing it; needed for "
    "several queries as CSV.",
)
@click.option("--list", "list_only", is_flag=True, help="List the queries and what each answers.")
@options.common_options
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
    obj = state()
    from sparkify import analytics

    console = make_console()
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
    settings = options.settings(warehouse=warehouse, schema=schema, wait=wait)
    from sparkify import pipeline
    from sparkify.analytics import expected as expectations

    if expected is not None:  # every file it needs there before any query runs (tester finding)
        expectations.require_files(expected, selected, every_query=not names, say=console.print)

    matches = []
    to_save: list = []
    with options.connect(settings, read_only=True) as wh:
        if queries is None:  # the catalog reads the star tables; a folder of team queries may not
            pipeline.require_star(wh)
        for query in selected:
            sql = analytics.sql_for(wh, query)
            if show_sql:
                output.print_sql(query, sql, wh)
            result = analytics.run_sql(wh, sql, origin=query.origin, written_for=query.dialect)
            if save_expected is not None:
                to_save.append((query, result))  # written once every query has run: all or none
            if expected is not None:
                match = expectations.check(result, expected, query)
                matches.append(match)
                output.print_match(console, match, quiet=obj.quiet)
                continue
            if out is not None and save_expected is None:
                output.write_result(console, out, query, result, fmt, quiet=obj.quiet)
            elif save_expected is None:
                output.print_result(console, query, result, fmt)
    for query, result in to_save:
        path = analytics.save_expected(result, save_expected, query.name, query=query)
        if not obj.quiet and expected is None:
            console.print(f"{query.name}: {plural(len(result.rows), 'row')} saved to {path}", markup=False)
    if expected is not None:
        expectations.require_all_match(matches)
        console.print(f"All {len(selected)} analytics results match {expected}.", markup=False)


@cli.command("query")
@click.argument("sql", required=False)
@options.file_option(
    "--file",
    "-f",
    "sql_file",
    metavar="FILE",
    help="Read the query from FILE instead of the SQL argument.",
)
@options.warehouse_options
@options.format_option
@options.dialect_option("the warehouse engine's own")
@options.show_sql_option
@options.common_options
def query_cmd(sql, sql_file, warehouse, schema, wait, fmt, dialect, show_sql):
    """Run one ad-hoc query on the warehouse and print its result.

    Read-only: one SELECT (WITH ... SELECT, DESCRIBE, EXPLAIN SELECT); a statement that would change
    the warehouse (DELETE, DROP, CREATE, INSERT ...) or several statements exit 2 before anything
    is sent.

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
    settings = options.settings(warehouse=warehouse, schema=schema, wait=wait)
    with options.connect(settings, read_only=True) as wh:
        query = analytics.ad_hoc(sql, dialect=dialect or wh.sql_dialect, origin=str(sql_file or "the query"))
        text = analytics.sql_for(wh, query)
        if show_sql:
            output.print_sql(query, text, wh)
        result = analytics.run_sql(
            wh, text, origin=query.origin if sql_file else "", written_for=query.dialect
        )
    output.print_result(make_console(), query, result, fmt)


@cli.command("compare")
@options.warehouse_options
@click.option(
    "--against",
    required=True,
    metavar="URL",
    help="The other warehouse: duckdb:///file.duckdb, postgresql://... or redshift://...",
)
@click.option(
    "--against-schema",
    metavar="NAME",
    help="Schema of the --against warehouse (PostgreSQL, Redshift; default: the configured schema).",
)
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    metavar="N",
    help="Differing rows shown per table.",
)
@options.common_options
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
    from sparkify.warehouse import engine_of

    settings = options.settings(warehouse=warehouse, schema=schema, wait=wait)
    compare.require_two(settings.warehouse, settings.schema_name, against, against_schema)
    # --against-schema names the --against warehouse's schema; left out, that side takes the
    # configured schema -- which a DuckDB file, having none, does not take
    if against_schema is not None:
        right_schema = options.schema_for(engine_of(against), against_schema, "--against-schema")
    else:
        right_schema = options.schema_for(engine_of(against), settings.schema_name, "the configured schema")
    console = make_console()
    with (
        options.connect(settings, read_only=True) as left,
        _open_against(
            against,
            schema=right_schema,
            wait=settings.wait,
            wait_timeout=settings.wait_timeout,  # the --against side waits no longer than the other
            on_wait=options.say_waiting,
            must_exist=True,
            read_only=True,
        ) as right,
    ):
        results = compare.compare_warehouses(left, right, examples=examples)
        if not state().quiet:  # --quiet: the outcome's one line (the error names the tables that differ)
            output.print_comparison(console, results, left, right)
    compare.require_identical(results)
    console.print(f"All {len(results)} star tables are identical.", markup=False)


def _open_against(url: str, **options):
    """The --against warehouse, opened as :func:`sparkify.warehouse.connect` opens any; its errors
    name --against, the option that gave it, where they would say --warehouse (a tester's finding:
    "point --warehouse at an existing one" for a mistyped --against)."""
    from sparkify.errors import SparkifyError
    from sparkify.warehouse import connect

    try:
        return connect(url, **options)
    except SparkifyError as exc:
        if "--warehouse" not in str(exc):
            raise
        renamed = type(exc)(str(exc).replace("--warehouse", "--against"))
        raise renamed from exc.__cause__
