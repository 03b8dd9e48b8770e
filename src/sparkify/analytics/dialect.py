"""Redshift SQL on DuckDB and PostgreSQL: translate a query with sqlglot, or refuse it in one line.

The analytics team writes for Redshift. Before a query runs on another engine it is parsed as
Redshift SQL and generated in the engine's dialect by sqlglot, with the fixes below where sqlglot's
own translation gives a different answer than Redshift documents (each is a row of the construct
table in tests/test_dialect.py). A construct that has no faithful translation raises
:class:`~sparkify.errors.QueryError` naming it, the file and the line -- never a query that
silently answers something else.

Fixes, as data where they can be (``REFUSED``) and as one function each where they cannot:

- integer division (``7 / 2`` is 3 in Redshift and PostgreSQL, 3.5 in DuckDB): operand types come
  from the star schema (schema.py); a division whose operand types cannot be told is refused on
  DuckDB, with the cast that makes it unambiguous.
- ``DATEDIFF``: Redshift counts the boundaries crossed (hours between 08:30 and 10:00: 2; weeks
  from a Saturday to the Monday after: 1). sqlglot's PostgreSQL translation divides the elapsed
  time, and DuckDB's ``date_diff('week')`` counts whole weeks.
- ``TO_CHAR``: PostgreSQL has the same function (Redshift's comes from it) and gets the call as
  written; DuckDB gets ``strftime`` for the format elements in ``fixes.DUCKDB_TIME_FORMAT`` and a refusal
  for any other.
- ``ADD_MONTHS``: a month end goes to the next month's end, unlike interval arithmetic.
- ``MONTHS_BETWEEN``: whole months from years and months, a fraction over a 31-day month unless both
  dates share their day of the month or are both a month's last day (neither engine has it).
- ``TRUNC(x)``: a timestamp's DATE, or a number toward zero; the type (from the star schema) decides,
  and an argument of unknown type is refused.
- ``LISTAGG``: Redshift's delimiter defaults to none (sqlglot assumes ','); PostgreSQL gets
  ``string_agg(... order by ...)``.
- ``REGEXP_SUBSTR`` on PostgreSQL (``substring(x from p)``) and ``SIMILAR TO`` on DuckDB (whose
  SIMILAR TO is a plain regular expression), for literal patterns.
- division by zero is an error, as in Redshift and PostgreSQL: on DuckDB a query written for either
  runs with ``ieee_floating_point_ops`` off and ``error_on_division_by_zero`` on (not ``inf``/``NaN``).
- ``APPROXIMATE COUNT(DISTINCT x)`` is the exact count on both engines: Redshift's HyperLogLog
  estimate lies within about 2% of it, DuckDB's own estimate elsewhere, and PostgreSQL has none.
- ``AVG`` of an integer is a BIGINT in Redshift (the fraction dropped), of a decimal a decimal of its
  scale; DuckDB and PostgreSQL give the fraction. Refused, as is an argument of unknown type, with the
  cast that makes it one answer (``avg(cast(x as double precision))``); a double is averaged alike.
- ``CONCAT(a, b)`` is NULL when either is, as ``a || b`` (DuckDB's and PostgreSQL's CONCAT skip a
  NULL); it is rendered as ``||``, and a call with other than two arguments is refused as Redshift does.
- ``REGEXP_REPLACE`` replaces every match, as Redshift documents (sqlglot, DuckDB and PostgreSQL
  replace the first unless told ``g``); a start position other than 1 or the ``p`` parameter is refused.
- ``SUBSTRING`` with a start before 1 keeps only the characters from 1 on, as Redshift (DuckDB
  counted it from the end); ``CAST(x AS VARCHAR(n))`` keeps n characters on DuckDB too, ``CHAR(n)``
  n characters, their trailing blanks dropped (Redshift ignores them in LEN and comparisons).
- ``REGEXP_SUBSTR`` with no match is ``''`` on PostgreSQL too (its ``substring`` gives NULL).
- ``EXTRACT`` of seconds, milliseconds, microseconds is that part alone, an integer; ``DATE_PART`` the
  seconds whole, a DOUBLE PRECISION. Date parts take Redshift's abbreviations on both engines (``qtr``,
  ``dayofweek``...); one Redshift does not know is refused. ``DATE_CMP`` and ``MONTHS_BETWEEN`` are
  written out; ``TRUNC(x, places)`` of a double works on PostgreSQL; ``APPROXIMATE PERCENTILE_DISC``
  is the exact one. ``DESCRIBE table`` on PostgreSQL and Redshift reads ``information_schema``.
- Refused as Redshift refuses them: an aggregate or value window (FIRST_VALUE...) with ORDER BY and no
  frame clause, a RANGE or GROUPS frame, EXCEPT ALL
  and INTERSECT ALL, SPLIT_PART of a part 0 or negative, a SELECT with no column; on DuckDB, DATE_TRUNC to a
  century or millennium (its centuries start at 00); on PostgreSQL, MEDIAN, PERCENTILE_CONT or LISTAGG
  as a window function (it has no ordered-set window aggregates).
- On DuckDB an unnamed column (of the result, a subquery or a CTE) is named as Redshift names it (``count``, ``max``, ``?column?``,
  ``int4`` for ``'1'::int``, ``date_add`` for DATEADD, ``pgdate_part`` for DATE_PART, ``date`` for
  CURRENT_DATE: the names Redshift's documentation shows), not by its text (``count_star()``), and on
  PostgreSQL where its own name differs (``btrim``, ``string_agg``), so expected files hold on every engine.
- ``SUM`` of integers is a BIGINT, as in Redshift (PostgreSQL gave a NUMERIC of BIGINTs, DuckDB a
  HUGEINT), so dividing it divides integers on every engine.
- ``STDDEV``/``VARIANCE`` and kin are DOUBLE PRECISION, as in Redshift (PostgreSQL gave a NUMERIC of integers).
- ``CAST(text AS INTEGER)`` of text that is not digits (``'1.5'``, ``'1e3'``) is an error, as in Redshift;
  DuckDB rounded or read an exponent.
- ``REPLICATE`` and ``ISNULL`` are Redshift's names for REPEAT and NVL; ``OCTET_LENGTH`` of text is
  DuckDB's ``strlen`` (bytes). ``QUOTE_IDENT`` (DuckDB) and ``NEXT_DAY`` (PostgreSQL) are refused.
- ``GETDATE()`` is the statement's start in UTC to the second, ``SYSDATE`` the transaction's start
  in UTC with microseconds; both are timestamps without time zone. sqlglot gives PostgreSQL's
  ``current_timestamp`` (with time zone, in the session's zone).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from sparkify.analytics.fixes import (
    WRITTEN_NAME,
    fix_add_months,
    fix_approximate_percentile,
    fix_avg,
    fix_cast_length,
    fix_cast_text_to_integer,
    fix_concat,
    fix_date_cmp,
    fix_date_part_name,
    fix_datediff,
    fix_deviation,
    fix_integer_sum,
    fix_listagg,
    fix_months_between,
    fix_now,
    fix_regexp_replace,
    fix_regexp_substr,
    fix_round,
    fix_second_parts,
    fix_sign,
    fix_similar_to,
    fix_substring,
    fix_to_char,
    fix_trunc,
    fix_trunc_places,
    line_of,
    output_name,
    refuse_median_of_dates,
    refuse_unfaithful,
    require_date_part,
    type_divisions,
    typed_twins,
)
from sparkify.errors import ConfigError, QueryError, did_you_mean

DIALECTS = ("redshift", "postgres", "duckdb")
"""What ``--dialect`` accepts: the dialect a query is written in (sqlglot's names)."""

REFUSED: dict[str, dict[str, str]] = {
    "NEXT_DAY": {"postgres": "has no PostgreSQL equivalent"},
    "QUOTE_IDENT": {"duckdb": "has no DuckDB equivalent"},
    "RATIO_TO_REPORT": {"*": "has no equivalent here; write x / sum(x) over (...)"},
}
"""Redshift functions refused per target engine ("*": every engine other than Redshift), with why."""


def check_dialect(name: str) -> str:
    """``name`` if it is one of :data:`DIALECTS` (``postgresql`` taken for ``postgres``), else a
    ConfigError with a did-you-mean."""
    name = {"postgresql": "postgres"}.get(name, name)
    if name not in DIALECTS:
        hint = did_you_mean(name, DIALECTS)
        raise ConfigError(f"Unknown SQL dialect {name!r}.{hint} Dialects: {', '.join(DIALECTS)}.")
    return name


def translate(sql: str, *, source: str, target: str, origin: str = "query") -> str:
    """The text of ``sql`` (one query in dialect ``source``) for an engine speaking ``target``.

    Returns ``sql`` unchanged when the dialects are the same. Raises :class:`QueryError` (one line:
    the construct, ``origin`` -- a file name -- and the line) when the text does not parse or holds a
    construct without a faithful translation.
    """
    source, target = check_dialect(source), check_dialect(target)
    import logging

    import sqlglot
    from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

    quiet = logging.getLogger("sqlglot")
    level, quiet.level = quiet.level, logging.ERROR  # no "falling back to a Command" warning on stderr
    try:
        # a comment after the last semicolon parses as a statement of its own (exp.Semicolon): not one
        statements = [
            s
            for s in sqlglot.parse(sql, read=_reader(source))
            if s is not None and type(s).__name__ != "Semicolon"
        ]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line = first.get("line") or 1
        what = first.get("description") or str(exc).splitlines()[0]
        what = _parse_error_words(what, first.get("highlight"))
        raise QueryError(f"{origin}, line {line}: cannot parse this {source} SQL: {what}.") from None
    finally:
        quiet.level = level
    if len(statements) != 1:
        raise QueryError(f"{origin}: holds {len(statements)} statements; give exactly one query.")
    tree = statements[0]
    require_read_only(tree, sql, origin)
    if target in ("postgres", "redshift") and type(tree).__name__ == "Describe":
        return describe_sql(tree, sql, origin)
    if source == target:
        return sql
    if source == "redshift":
        tree = _from_redshift(tree, sql, target, origin)
    elif source == "postgres" and target == "duckdb":  # PostgreSQL divides integers as Redshift does
        from sqlglot import exp

        type_divisions(tree, typed_twins(tree, (exp.Div,)), sql, origin)
    try:
        return tree.sql(dialect=target, pretty=True, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        message = str(exc).splitlines()[0]
        raise QueryError(
            f"{origin}, line {line_of(sql, message.split()[0])}: {message} ({source} to {target})."
        ) from None


def _parse_error_words(what: str, near: str | None) -> str:
    """sqlglot's description of a parse error in a user's words: its own class and token names out
    (``AND is missing its expression``, ``Expected table name but got 'where'``, ``unexpected 'limit'``)."""
    missing = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>", what)
    if missing:  # a half-written expression
        return f"{missing.group(2).upper()} is missing its {missing.group(1)} (is the query cut short?)"
    if what.startswith("Invalid expression / Unexpected token"):
        return f"unexpected {near!r}" if near else "an unexpected word or symbol"
    return re.sub(r"<Token token_type: [\w.]+, text: (.*?), line: \d+.*?>", r"'\1'", what)


def describe_sql(tree, sql: str, origin: str) -> str:
    """``DESCRIBE table`` on PostgreSQL and Redshift, which have no DESCRIBE: the table's columns from
    ``information_schema.columns``, in their order -- column_name, column_type and null (YES/NO), as
    DuckDB's DESCRIBE begins. A QueryError for DESCRIBE of anything but a table."""
    from sqlglot import exp

    from sparkify.quoting import literal

    table = tree.this
    if not isinstance(table, exp.Table):
        raise QueryError(
            f"{origin}, line {line_of(sql, 'DESCRIBE')}: DESCRIBE of a query runs on DuckDB only; on this "
            "engine DESCRIBE takes a table."
        )
    schema = literal(table.db) if table.db else "current_schema()"
    return (
        'select column_name, data_type as column_type, is_nullable as "null" from information_schema.columns '
        f"where table_schema = {schema} and table_name = {literal(table.name)} order by ordinal_position"
    )


def _target_name(item, target: str) -> str | None:
    """The name ``target`` gives the unnamed result column ``item`` (a translated SELECT item), as it
    will be rendered: MEDIAN(x) is written PERCENTILE_CONT(0.5) WITHIN GROUP (...) on PostgreSQL."""
    import sqlglot

    try:
        rendered = sqlglot.parse_one(item.sql(dialect=target), read=target)
    except sqlglot.errors.SqlglotError:
        return None
    return output_name(rendered, target)


def require_read_only(tree, sql: str, origin: str) -> None:
    """Raise :class:`QueryError` unless ``tree`` (one parsed statement of ``sql``) only reads: a
    query (``SELECT``, ``WITH ... SELECT``, set operations, ``VALUES``) or ``DESCRIBE``/``SUMMARIZE``,
    with no statement that writes nested in it (a PostgreSQL ``WITH d AS (DELETE ...)``) and no
    ``SELECT ... INTO`` (which creates a table). The analytics commands and ``sparkify query`` read
    the warehouse; they never change it."""
    from sqlglot import exp

    writes = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Into)
    if isinstance(tree, exp.Command) and str(tree.this).upper() == "SHOW":
        return
    if isinstance(tree, exp.Command) and str(tree.this).upper() == "EXPLAIN":  # the plan of what follows
        import re

        import sqlglot

        rest = re.sub(
            r"^\s*(\((?:[^()]*)\)|analyze\b|verbose\b|\s)*",
            "",
            tree.expression.name if tree.expression is not None else "",
            flags=re.I,
        )
        try:
            inner = sqlglot.parse_one(rest, read=tree.args.get("dialect") or None) if rest.strip() else None
        except sqlglot.errors.ParseError:
            inner = None
        if inner is not None and not isinstance(inner, exp.Command):
            require_read_only(inner, sql, origin)
            return
    if isinstance(tree, (exp.Query, exp.Values, exp.Describe, exp.Summarize, exp.Show)):
        found = tree.find(*writes)
        if found is None:
            return
        tree = found
    if not isinstance(tree, (*writes, exp.Command)):  # not a statement sqlglot knows: CHECKPOINT was a COLUMN
        line, written = _statement_start(sql)
        raise QueryError(
            f"{origin}, line {line}: {written!r} is not a query; sparkify only runs "
            "queries that read the warehouse (SELECT, WITH ... SELECT, DESCRIBE)."
        )
    kind = tree.key.upper() if not isinstance(tree, exp.Command) else str(tree.this).upper()
    raise QueryError(
        f"{origin}, line {line_of(sql, kind.split()[0])}: {kind} would change the warehouse; sparkify only "
        "runs queries that read it (SELECT, WITH ... SELECT, DESCRIBE). Change the warehouse with its own "
        "client (duckdb, psql) instead."
    )


def _statement_start(sql: str, width: int = 60) -> tuple[int, str]:
    """(line, text) of where the statement in ``sql`` starts, leading comments and blanks skipped:
    the text as the user wrote it (blanks squeezed, at most ``width`` characters), never sqlglot's
    rendering of it (``COPY INTO (SELECT 1)`` for ``copy (select 1)``; ``''`` for ``install httpfs``)."""
    import re

    lead = re.match(r"(\s|--[^\n]*|/\*.*?\*/)*", sql, flags=re.S)
    start = lead.end() if lead else 0
    text = " ".join(sql[start:].split()).rstrip(";").rstrip()
    if len(text) > width:
        text = text[: width - 3].rstrip() + "..."
    return sql.count("\n", 0, start) + 1, text


def ordering(sql: str, dialect: str, columns: list[str]) -> tuple[bool, list[int] | None]:
    """(does the query order its rows, the result columns it orders by).

    The columns are indexes into ``columns`` (the result's names), or None when an ORDER BY term is
    an expression that is not a result column: then ties cannot be told and rows compare in order.
    """
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=_reader(check_dialect(dialect)))
    except Exception:
        return True, None
    order = tree.args.get("order")
    if order is None:
        return False, None
    keys = []
    for term in order.expressions:
        item = term.this
        if isinstance(item, exp.Literal) and not item.is_string and 1 <= int(item.this) <= len(columns):
            keys.append(int(item.this) - 1)
        elif isinstance(item, exp.Column) and item.name in columns:
            keys.append(columns.index(item.name))
        else:
            return True, None
    return True, keys


# -- Redshift to the others -----------------------------------------------------------------------


@cache
def _reader(dialect: str):
    """The sqlglot dialect to parse with: Redshift keeps TO_CHAR and ADD_MONTHS as written, so the
    fixes below see the original call."""
    if dialect != "redshift":
        return dialect
    from sqlglot import exp
    from sqlglot.dialects.redshift import Redshift

    def keep(name: str) -> Callable:
        return lambda args: exp.Anonymous(this=name, expressions=args)

    date_part = Redshift.Parser.FUNCTION_PARSERS["DATE_PART"]

    def written_date_part(parser):  # parsed into EXTRACT, whose column Redshift names otherwise
        node = date_part(parser)
        node.meta[WRITTEN_NAME] = "date_part"
        return node

    class SparkifyRedshift(Redshift):
        ORIGINAL_NAME_META_KEY = WRITTEN_NAME  # VARIANCE stays VARIANCE for naming its column

        class Parser(Redshift.Parser):  # type: ignore[misc,valid-type]  # sqlglot builds it at import
            FUNCTION_PARSERS = {**Redshift.Parser.FUNCTION_PARSERS, "DATE_PART": written_date_part}  # noqa: RUF012
            FUNCTIONS = {  # noqa: RUF012 -- sqlglot reads its parsers' FUNCTIONS as a plain class attribute
                **Redshift.Parser.FUNCTIONS,
                **{
                    name: keep(name)
                    for name in ("TO_CHAR", "ADD_MONTHS", "RATIO_TO_REPORT", "MONTHS_BETWEEN")
                },
            }

    return SparkifyRedshift


def _from_redshift(tree, sql: str, target: str, origin: str):
    from sqlglot import exp

    for node in tree.find_all(exp.Anonymous, exp.Func):
        name = node.name.upper() if isinstance(node, exp.Anonymous) else node.sql_name()
        why = REFUSED.get(name, {})
        reason = why.get(target) or why.get("*")
        if reason:
            raise QueryError(f"{origin}, line {line_of(sql, name)}: {name} {reason} (redshift to {target}).")
    for node in tree.find_all(
        exp.Window, exp.Except, exp.Intersect, exp.DateTrunc, exp.TimestampTrunc, exp.SplitPart
    ):
        refuse_unfaithful(node, target, sql, origin)
    for select in tree.find_all(exp.Select):
        if not select.expressions:  # `select top 5 from t`: PostgreSQL answered rows of no columns
            raise QueryError(f"{origin}, line {line_of(sql, 'SELECT')}: a SELECT needs at least one column.")
    twins = typed_twins(
        tree, (exp.Div, exp.Trunc, exp.Avg, exp.Cast, exp.Sum, exp.Median, exp.Round, exp.Sign)
    )
    if target == "duckdb":
        type_divisions(tree, twins, sql, origin)

    def fix(node):
        name = node.name.upper() if isinstance(node, exp.Anonymous) else ""
        if name == "REPLICATE":  # Redshift's other name for REPEAT
            return exp.Anonymous(this="repeat", expressions=node.expressions)
        if name == "ISNULL" and len(node.expressions) == 2:  # Redshift's other name for NVL
            return exp.Coalesce(this=node.expressions[0], expressions=[node.expressions[1]])
        if name == "OCTET_LENGTH" and target == "duckdb":  # bytes of the text: DuckDB's strlen
            return exp.Anonymous(this="strlen", expressions=node.expressions)
        if isinstance(node, exp.Anonymous) and node.name.upper() == "TO_CHAR":
            return fix_to_char(node, target, sql, origin)
        if isinstance(node, exp.Anonymous) and node.name.upper() == "ADD_MONTHS":
            return fix_add_months(node, target, sql, origin)
        if isinstance(node, exp.Anonymous) and node.name.upper() == "MONTHS_BETWEEN":
            return fix_months_between(node, target, sql, origin)
        if isinstance(node, exp.Extract):
            return fix_second_parts(fix_date_part_name(node, target, sql, origin), target)
        if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
            return fix_date_part_name(node, target, sql, origin)
        if isinstance(node, exp.ApproxQuantile):
            return fix_approximate_percentile(node, target)
        if name == "DATE_CMP":
            return fix_date_cmp(node, target, sql, origin)
        if isinstance(node, exp.RegexpExtract) and target == "postgres":
            return fix_regexp_substr(node, sql, origin)
        if isinstance(node, exp.SimilarTo) and target == "duckdb":
            return fix_similar_to(node, sql, origin)
        if isinstance(node, exp.Avg):
            return fix_avg(node, twins.get(id(node)), sql, origin)
        if isinstance(node, exp.Concat):
            return fix_concat(node, sql, origin)
        if isinstance(node, exp.RegexpReplace):
            return fix_regexp_replace(node, sql, origin)
        if isinstance(node, exp.Substring):
            return fix_substring(node, target, sql, origin)
        if isinstance(node, exp.Median):
            return refuse_median_of_dates(node, twins.get(id(node)), target, sql, origin)
        if isinstance(node, exp.Sum) and not isinstance(node.parent, exp.Window):
            return fix_integer_sum(node, twins.get(id(node)))
        if isinstance(node, exp.Window) and isinstance(node.this, exp.Sum):
            return fix_integer_sum(node, twins.get(id(node.this)))
        if isinstance(node, (exp.Stddev, exp.StddevSamp, exp.StddevPop, exp.Variance, exp.VariancePop)):
            return fix_deviation(node)
        if isinstance(node, exp.Cast):
            node = fix_cast_text_to_integer(node, twins.get(id(node)), target)
            return fix_cast_length(node, target) if isinstance(node, exp.Cast) else node
        if isinstance(node, exp.Trunc) and node.args.get("decimals") is None:
            return fix_trunc(node, twins.get(id(node)), sql, origin)
        if isinstance(node, exp.Trunc):
            return fix_trunc_places(node, twins.get(id(node)), target)
        if isinstance(node, exp.Round):
            return fix_round(node, twins.get(id(node)), target)
        if isinstance(node, exp.Sign):
            return fix_sign(node, twins.get(id(node)))
        if (isinstance(node, exp.GroupConcat) and not isinstance(node.parent, exp.WithinGroup)) or (
            isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.GroupConcat)
        ):  # LISTAGG ... WITHIN GROUP is fixed whole, at the WITHIN GROUP
            return fix_listagg(node, target)
        if isinstance(node, (exp.TsOrDsAdd, exp.DateAdd, exp.TimestampAdd)):
            require_date_part(node, "DATEADD", sql, origin)
        if isinstance(node, (exp.DateDiff, exp.TsOrDsDiff, exp.TimestampDiff, exp.DatetimeDiff)):
            require_date_part(node, "DATEDIFF", sql, origin)
            return fix_datediff(node, target, sql, origin)
        if isinstance(node, exp.CurrentTimestamp):
            return fix_now(target, seconds=not node.args.get("sysdate"))
        if isinstance(node, exp.ApproxDistinct):
            # APPROXIMATE COUNT(DISTINCT x): Redshift's HyperLogLog estimate, within about 2% of the
            # exact count. The exact count is the one answer both engines give alike (DuckDB's own
            # estimate differs from Redshift's; PostgreSQL has none).
            return exp.Count(this=exp.Distinct(expressions=[node.this]))
        return node

    # the columns of every SELECT (a subquery's and a CTE's too, which an outer SELECT * returns) get
    # the names Redshift gives them, told from the query as written: on DuckDB all of them (it names
    # a column by its text), on PostgreSQL those a fix renamed (MEDIAN became PERCENTILE_CONT)
    selects = list(tree.find_all(exp.Select))
    names = [[output_name(item) for item in select.expressions] for select in selects]

    # children first, so a fix that renders its arguments renders them already fixed
    for node in reversed(list(tree.dfs())):
        new = fix(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    for select, select_names in zip(selects, names, strict=True):
        if len(select.expressions) == len(select_names):  # a fix may have replaced the SELECT itself
            for item, name in zip(list(select.expressions), select_names, strict=True):
                if name is not None and (target == "duckdb" or _target_name(item, target) != name):
                    item.replace(exp.alias_(item.copy(), name, quoted=True))
    return tree
