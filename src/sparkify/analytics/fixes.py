"""The fixes of Redshift SQL for DuckDB and PostgreSQL, one function per construct where
sqlglot's own translation answers differently than Redshift documents (see :mod:`sparkify.analytics.dialect`,
which applies them, for the list)."""

from __future__ import annotations

import re
from functools import lru_cache

from sparkify.errors import QueryError

DUCKDB_TIME_FORMAT: dict[str, str] = {
    "YYYY": "%Y",
    "YY": "%y",
    "MM": "%m",
    "DD": "%d",
    "DDD": "%j",
    "HH24": "%H",
    "HH12": "%I",
    "HH": "%I",
    "MI": "%M",
    "SS": "%S",
    "MS": "%g",
    "US": "%f",
}
"""Redshift TO_CHAR datetime format elements DuckDB's strftime renders the same way (digits, zero
padded). Names (MONTH, DY: upper case, blank padded in Redshift), AM/PM and week numbers are not
among them: such a format is refused on DuckDB."""

_FORMAT_ELEMENT = re.compile(
    "|".join(sorted(map(re.escape, DUCKDB_TIME_FORMAT), key=len, reverse=True)), flags=re.IGNORECASE
)
"""An element in any case (``yyyy-mm-dd``), as Redshift and PostgreSQL read these."""
_FORMAT_LITERAL = re.compile(r"(?:[-:/., _]|T(?![Zz]))+")
"""Text a format keeps as it is; a T as ISO 8601's separator, not the start of TZ (an element)."""

INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INT", "BIGINT", "UTINYINT", "USMALLINT", "UINT", "UBIGINT"}
)


def fix_now(target: str, *, seconds: bool):
    import sqlglot

    now = "current_timestamp at time zone 'UTC'"
    return sqlglot.parse_one(f"date_trunc('second', {now})" if seconds else now, read=target)


BOUNDARY_DIFF = {
    "duckdb": {
        "week": "(cast(date_trunc('week', {b}) as date) - cast(date_trunc('week', {a}) as date)) // 7",
    },
    "postgres": {
        "year": "cast(extract(year from {b}) - extract(year from {a}) as bigint)",
        "quarter": "cast((extract(year from {b}) * 4 + extract(quarter from {b}))"
        " - (extract(year from {a}) * 4 + extract(quarter from {a})) as bigint)",
        "month": "cast((extract(year from {b}) * 12 + extract(month from {b}))"
        " - (extract(year from {a}) * 12 + extract(month from {a})) as bigint)",
        "week": "cast((cast(date_trunc('week', {b}) as date) - cast(date_trunc('week', {a}) as date)) / 7 as bigint)",
        "day": "cast(cast({b} as date) - cast({a} as date) as bigint)",
        "hour": "cast(extract(epoch from date_trunc('hour', {b}) - date_trunc('hour', {a})) / 3600 as bigint)",
        "minute": "cast(extract(epoch from date_trunc('minute', {b}) - date_trunc('minute', {a})) / 60 as bigint)",
        "second": "cast(extract(epoch from date_trunc('second', {b}) - date_trunc('second', {a})) as bigint)",
    },
}
"""DATEDIFF(part, a, b) as Redshift counts it -- the part boundaries crossed from a to b -- where the
engine's own function counts otherwise. Weeks start on Monday, as Redshift's DATE_TRUNC('week')."""

_UNIT_NAMES = {
    "WEEKS": "WEEK",
    "W": "WEEK",
    "WK": "WEEK",
    "DAYS": "DAY",
    "D": "DAY",
    "HOURS": "HOUR",
    "H": "HOUR",
    "MINUTES": "MINUTE",
    "M": "MINUTE",
    "MIN": "MINUTE",
    "SECONDS": "SECOND",
    "S": "SECOND",
    "SEC": "SECOND",
    "MONTHS": "MONTH",
    "MON": "MONTH",
    "YEARS": "YEAR",
    "Y": "YEAR",
    "YR": "YEAR",
    "QUARTERS": "QUARTER",
    "QTR": "QUARTER",
    "Q": "QUARTER",
}


def fix_datediff(node, target: str, sql: str, origin: str):
    import sqlglot
    from sqlglot import exp

    unit = (node.unit.name if node.args.get("unit") is not None else "DAY").upper()
    unit = _UNIT_NAMES.get(unit, unit).lower()
    template = BOUNDARY_DIFF.get(target, {}).get(unit)
    if template is None:
        if target == "postgres":
            raise QueryError(
                f"{origin}, line {line_of(sql, 'DATEDIFF')}: DATEDIFF by {unit} has no PostgreSQL "
                "translation here (redshift to postgres)."
            )
        return node  # DuckDB's date_diff counts boundaries as Redshift does

    def ts(e):
        if isinstance(e, exp.Literal) and e.is_string:
            e = exp.cast(e, "timestamp")
        return e.sql(dialect=target)

    return sqlglot.parse_one(template.format(a=ts(node.expression), b=ts(node.this)), read=target)


LAST_DAY = (
    "cast({x} as date) = cast(date_trunc('month', {x}) + interval '1 month' - interval '1 day' as date)"
)
"""SQL (both engines) true when ``{x}`` falls on its month's last day."""

ADD_MONTHS = (
    "case when "
    + LAST_DAY
    + " then date_trunc('month', {x}) + ({n} + 1) * interval '1 month' - interval '1 day' + ({x} - date_trunc('day', {x}))"
    " else {x} + ({n}) * interval '1 month' end"
)
"""ADD_MONTHS(x, n) as Redshift documents it, in SQL both DuckDB and PostgreSQL speak: the last day of
a month goes to the last day of the result's month (2008-04-30 + 1 = 2008-05-31); other days keep
their number, clamped to a shorter month (2008-03-31 + 1 = 2008-04-30); the time of day is kept."""


def fix_add_months(node, target: str, sql: str, origin: str):
    import sqlglot
    from sqlglot import exp

    if len(node.expressions) != 2:
        raise QueryError(
            f"{origin}, line {line_of(sql, 'ADD_MONTHS')}: ADD_MONTHS takes a date and a number of months."
        )
    x, n = node.expressions
    x_sql = exp.cast(x.copy(), "timestamp").sql(dialect=target)
    return sqlglot.parse_one(f"({ADD_MONTHS.format(x=x_sql, n=n.sql(dialect=target))})", read=target)


MONTHS_BETWEEN = (
    "cast((extract(year from {a}) - extract(year from {b})) * 12 + extract(month from {a}) - extract(month from {b})"
    " + case when extract(day from {a}) = extract(day from {b}) or ({last_a} and {last_b}) then 0"
    " else ((extract(day from {a}) - extract(day from {b}))"
    " + (extract(epoch from ({a} - date_trunc('day', {a}))) - extract(epoch from ({b} - date_trunc('day', {b})))) / 86400.0"
    ") / 31.0 end as double precision)"
)
"""MONTHS_BETWEEN(a, b) as Redshift documents it (a FLOAT8): the whole months from the years and months
of the two dates, plus -- unless both fall on the same day of the month or both on a month's last day,
whatever their times -- the difference of days and times of day over a 31-day month."""


def fix_months_between(node, target: str, sql: str, origin: str):
    """MONTHS_BETWEEN(a, b) (neither engine has it) as :data:`MONTHS_BETWEEN` in ``target``'s SQL; a call
    with other than two arguments is a QueryError naming its line."""
    import sqlglot
    from sqlglot import exp

    if len(node.expressions) != 2:
        raise QueryError(f"{origin}, line {line_of(sql, 'MONTHS_BETWEEN')}: MONTHS_BETWEEN takes two dates.")
    a, b = (exp.cast(e.copy(), "timestamp").sql(dialect=target) for e in node.expressions)
    text = MONTHS_BETWEEN.format(a=a, b=b, last_a=LAST_DAY.format(x=a), last_b=LAST_DAY.format(x=b))
    return sqlglot.parse_one(f"({text})", read=target)


def fix_regexp_substr(node, sql: str, origin: str):
    """REGEXP_SUBSTR(x, pattern) -- the first match, whole, or ``''`` when there is none -- on PostgreSQL:
    ``substring(x from pattern)``, which returns the whole match only when the pattern has no
    parenthesized group, and NULL for no match (made ``''``)."""
    import sqlglot
    from sqlglot import exp

    pattern = node.expression
    extra = [k for k in ("position", "occurrence", "parameters", "group") if node.args.get(k) is not None]
    if not (isinstance(pattern, exp.Literal) and pattern.is_string) or "(" in pattern.this or extra:
        raise QueryError(
            f"{origin}, line {line_of(sql, 'REGEXP_SUBSTR')}: REGEXP_SUBSTR translates to PostgreSQL only "
            "with two arguments and a literal pattern without groups (redshift to postgres)."
        )
    # no match is '' in Redshift (REGEXP_SUBSTR.html), NULL from substring(); NULL text stays NULL
    x = node.this.sql(dialect="postgres")
    return sqlglot.parse_one(
        f"(case when {x} is null then null else coalesce(substring({x} from {pattern.sql(dialect='postgres')}), '') end)",
        read="postgres",
    )


def fix_similar_to(node, sql: str, origin: str):
    """x SIMILAR TO pattern on DuckDB, whose SIMILAR TO reads the pattern as a plain regular
    expression (% and _ are no wildcards there, . is one): the pattern rewritten, matched whole."""
    from sqlglot import exp

    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string) or any(c in pattern.this for c in "[\\"):
        raise QueryError(
            f"{origin}, line {line_of(sql, 'SIMILAR')}: SIMILAR TO translates to DuckDB only with a literal "
            "pattern without [ ] or escapes (redshift to duckdb)."
        )
    regex = "".join({"%": ".*", "_": ".", ".": "\\."}.get(c, c) for c in pattern.this)
    match = exp.Anonymous(this="regexp_full_match", expressions=[node.this, exp.Literal.string(regex)])
    return exp.Not(this=match) if node.args.get("negate") else match


def fix_to_char(node, target: str, sql: str, origin: str):
    from sqlglot import exp

    if target == "postgres":
        return node
    args = node.expressions
    fmt = args[1] if len(args) == 2 else None
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise QueryError(
            f"{origin}, line {line_of(sql, 'TO_CHAR')}: TO_CHAR needs a literal format on {target}."
        )
    out, text, i = [], fmt.this, 0
    while i < len(text):
        element = _FORMAT_ELEMENT.match(text, i)
        literal = _FORMAT_LITERAL.match(text, i)
        if element:
            out.append(DUCKDB_TIME_FORMAT[element.group().upper()])
            i = element.end()
        elif literal:
            out.append(literal.group())
            i = literal.end()
        else:
            word = re.match(r"[A-Za-z0-9]+", text[i:])  # the element as written: Mon, Day, FMMonth, TZ
            shown = word.group() if word else text[i : i + 1]
            raise QueryError(  # the line of this format, not of the first TO_CHAR of the query
                f"{origin}, line {line_of(sql, text)}: "
                f"TO_CHAR format element {shown!r} in "
                f"{text!r} has no {target} equivalent here; elements translated: "
                f"{', '.join(DUCKDB_TIME_FORMAT)}."
            )
    value = args[0]
    if isinstance(value, exp.Literal) and value.is_string:
        value = exp.cast(value, "timestamp")
    return exp.Anonymous(this="strftime", expressions=[value, exp.Literal.string("".join(out))])


def typed_twins(tree, classes: tuple) -> dict[int, object]:
    """id(node) -> a copy of the node with its operands' types inferred from the star schema, for
    every node of ``classes`` in ``tree`` (none when sqlglot cannot type the query)."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    originals = [n for n in tree.find_all(*classes)]
    if not originals:
        return {}
    for number, node in enumerate(originals):  # a copy keeps the mark: qualify may add copies (GROUP BY 1)
        node.meta[_TWIN] = number
    schema = star_schema()
    try:
        typed = qualify(
            _decimal_literals(tree.copy()),
            schema=schema,
            dialect="redshift",
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        typed = annotate_types(typed, schema=schema)
    except Exception:
        typed = annotate_types(tree.copy(), schema=schema)
    found: dict[int, object] = {}
    for node in typed.find_all(*classes):
        number = node.meta.get(_TWIN)
        if isinstance(number, int) and number not in found and type(node) is type(originals[number]):
            found[number] = node
    if len(found) != len(originals):
        # a copy qualify replaced (ORDER BY user_id / 10 became the SELECT item's alias) is typed as
        # the same expression written elsewhere in the query
        by_text = {originals[number].sql(): twin for number, twin in found.items()}
        for number, node in enumerate(originals):
            if number not in found and node.sql() in by_text:
                found[number] = by_text[node.sql()]
    if len(found) != len(originals):
        plain = [n for n in annotate_types(tree.copy(), schema=schema).find_all(*classes)]
        if len(plain) == len(originals):
            found = {**dict(enumerate(plain)), **found}
    return {id(o): found[number] for number, o in enumerate(originals) if number in found}


_TWIN = "sparkify_twin"
"""The mark (in a node's ``meta``) pairing a node with its typed copy in :func:`typed_twins`."""


def _decimal_literals(tree):
    """``tree`` with each number literal written with a point and no exponent (``1.0``, ``2.50``)
    typed as Redshift types it, a DECIMAL of its digits (sqlglot takes it for a DOUBLE): so ``1.0 * x``
    is a decimal, as Redshift computes it."""
    from sqlglot import exp

    for literal in list(tree.find_all(exp.Literal)):
        text = literal.name
        if literal.is_string or "." not in text or any(c in text for c in "eE"):
            continue
        whole, _, fraction = text.lstrip("+-").partition(".")
        precision = max(len(whole.lstrip("0")) + len(fraction), 1)
        literal.replace(
            exp.cast(literal.copy(), exp.DataType.build(f"DECIMAL({min(precision, 38)}, {len(fraction)})"))
        )
    return tree


def _type_name(node) -> str:
    return "UNKNOWN" if node is None or node.type is None else node.type.this.name


def _argument_type(twin) -> str:
    """The type name of the argument of ``twin`` (a node's typed copy from :func:`typed_twins`, or
    None): ``UNKNOWN`` when it could not be typed."""
    return _type_name(twin.this if twin is not None else None)


def refuse_median_of_dates(node, twin, target: str, sql: str, origin: str):
    """MEDIAN of a date or timestamp on PostgreSQL, whose percentile_cont takes numbers: a QueryError
    naming its line. Anything else is returned as it is."""
    if target == "postgres" and _argument_type(twin) in DATE_TYPES:
        raise QueryError(
            f"{origin}, line {line_of(sql, 'MEDIAN')}: MEDIAN of a date or timestamp has no PostgreSQL "
            "translation (its percentile_cont takes numbers); take the median of "
            "extract(epoch from x) and turn it back (redshift to postgres)."
        )
    return node


def type_divisions(tree, twins: dict, sql: str, origin: str) -> None:
    """Give each division's operands their types (from the star schema), so sqlglot renders integer
    division for DuckDB as Redshift computes it; refuse a division whose operand types are unknown."""
    from sqlglot import exp

    for original in tree.find_all(exp.Div):
        twin = twins.get(id(original))
        names = [_type_name(twin.this if twin else None), _type_name(twin.expression if twin else None)]
        if any(n != "UNKNOWN" and n not in INTEGER_TYPES for n in names):
            continue  # a float or decimal side: not an integer division on any engine
        if "UNKNOWN" in names:
            text = original.sql(dialect="redshift")
            raise QueryError(
                f"{origin}, line {line_of(sql, '/')}: cannot tell whether {text} divides integers "
                "(integer division in Redshift, not in DuckDB); cast one side, e.g. "
                f"cast({original.this.sql(dialect='redshift')} as double precision), or both as bigint."
            )
        assert twin is not None  # without a twin both sides are UNKNOWN: refused above
        original.this.type = twin.this.type
        original.expression.type = twin.expression.type


DATE_TYPES = frozenset({"DATE", "TIMESTAMP", "TIMESTAMPTZ", "DATETIME"})
FLOAT_TYPES = frozenset({"DOUBLE", "FLOAT"})
NUMBER_TYPES = INTEGER_TYPES | FLOAT_TYPES | {"DECIMAL", "BIGDECIMAL"}


def fix_trunc(node, twin, sql: str, origin: str):
    """Redshift's one-argument TRUNC: a timestamp's DATE, or a number toward zero -- the type decides."""
    from sqlglot import exp

    kind = _argument_type(twin)
    if kind in DATE_TYPES:
        return exp.cast(node.this, "date")
    if kind in NUMBER_TYPES:
        return node
    raise QueryError(
        f"{origin}, line {line_of(sql, 'TRUNC')}: cannot tell whether TRUNC({node.this.sql(dialect='redshift')}) "
        "truncates a timestamp (to its date) or a number; cast its argument, e.g. trunc(x::timestamp)."
    )


def fix_round(node, twin, target: str):
    """ROUND of a DOUBLE PRECISION rounds half away from zero, as Redshift rounds its decimals
    (r_ROUND.html: 28.05 to one place is 28.1), and stays a DOUBLE PRECISION (the input's type).
    PostgreSQL's round(double) rounds half to even (2.5 -> 2) and it has no round(double, places):
    sqlglot cast the argument to a NUMERIC or left it, a raw error; DuckDB's rounds the double's exact
    binary value (2.675 -> 2.67). Both engines get the same arithmetic written out, so they agree to
    the last bit: floor(x * 10^places + 0.5) / 10^places, mirrored below zero."""
    import sqlglot
    from sqlglot import exp

    if _argument_type(twin) not in FLOAT_TYPES:
        return node
    x = exp.cast(node.this.copy(), "double").sql(dialect=target)
    places = node.args.get("decimals")
    scale = f"power(cast(10 as double precision), {places.sql(dialect=target)})" if places else "1"
    return sqlglot.parse_one(
        f"((case when {x} >= 0 then floor({x} * {scale} + 0.5) else ceil({x} * {scale} - 0.5) end) / {scale})",
        read=target,
    )


def fix_sign(node, twin):
    """SIGN returns its argument's type in Redshift (r_SIGN.html): an integer's sign is an integer
    (PostgreSQL gave a DOUBLE PRECISION), a double's a double (DuckDB gave a TINYINT). The call is cast
    to the argument's type when that is an integer or a double; otherwise returned as it is."""
    from sqlglot import exp

    kind = _argument_type(twin)
    if kind in INTEGER_TYPES:
        return exp.cast(node.copy(), twin.this.type.copy())
    if kind in FLOAT_TYPES:
        return exp.cast(node.copy(), "double")
    return node


def fix_trunc_places(node, twin, target: str):
    """TRUNC(x, places) on PostgreSQL, whose trunc takes a NUMERIC only (Redshift's any number): the
    argument as a NUMERIC, and a DOUBLE PRECISION argument's result a DOUBLE PRECISION again, as in
    Redshift (r_TRUNC.html: the type of the first argument)."""
    from sqlglot import exp

    if target != "postgres":
        return node
    kind = _argument_type(twin)
    if kind in INTEGER_TYPES or kind in ("DECIMAL", "BIGDECIMAL"):
        return node  # PostgreSQL's trunc(numeric, int) takes these as they are
    truncated = node.copy()
    truncated.this.replace(exp.cast(node.this.copy(), "decimal"))
    return exp.cast(truncated, "double") if kind in FLOAT_TYPES else truncated


def fix_avg(node, twin, sql: str, origin: str):
    """AVG of an integer argument is a BIGINT in Redshift (the fraction dropped; its documentation
    does not say how), of a decimal one a decimal of the argument's scale; DuckDB and PostgreSQL give
    the fraction. Both are refused, as is an argument of unknown type, with the cast that makes it one
    answer everywhere. A floating point argument is averaged alike."""
    from sqlglot import exp

    arg = twin.this if twin is not None else None
    if isinstance(arg, exp.Distinct) and arg.expressions:
        arg = arg.expressions[0]
    kind = _type_name(arg)
    if arg is not None and any(
        _type_name(n) in FLOAT_TYPES and not isinstance(n, exp.Literal) and not isinstance(n.parent, exp.Cast)
        for n in arg.find_all(exp.Column, exp.Cast, exp.Func)
    ):
        kind = "DOUBLE"  # a double anywhere in it makes it a double (sqlglot types double * 1.0 a decimal)
    if kind in FLOAT_TYPES:
        return node
    shown = node.this.sql(dialect="redshift")
    if isinstance(node.this, exp.Distinct) and node.this.expressions:
        shown = node.this.expressions[0].sql(dialect="redshift")
    if kind in INTEGER_TYPES:
        what = (
            f"AVG({shown}) averages integers: a BIGINT in Redshift, its fraction dropped, and a fraction here"
        )
    elif kind in NUMBER_TYPES:
        what = f"AVG({shown}) averages decimals: Redshift keeps the argument's scale, the engines here do not"
    else:
        what = (
            f"cannot tell whether AVG({shown}) averages floating point numbers (an integer's is a BIGINT "
            "in Redshift, its fraction dropped; a decimal's keeps its scale)"
        )
    raise QueryError(
        f"{origin}, line {line_of(sql, 'AVG')}: {what}; cast its argument for the mean, "
        f"avg(cast({shown} as double precision)), and round or trunc it as you mean."
    )


def fix_regexp_replace(node, sql: str, origin: str):
    """Redshift's REGEXP_REPLACE replaces every match (sqlglot reads it as replacing the first, as
    DuckDB's and PostgreSQL's do without the ``g`` flag). Its parameters ``c`` and ``i`` (case) carry
    over; a start position other than 1, or ``p`` (PCRE syntax), is refused."""
    from sqlglot import exp

    position = node.args.get("position")
    if position is not None and not (isinstance(position, exp.Literal) and position.name == "1"):
        raise QueryError(
            f"{origin}, line {line_of(sql, 'REGEXP_REPLACE')}: REGEXP_REPLACE from a position other than 1 has "
            "no equivalent here; apply it to a substring instead."
        )
    flags = ""
    modifiers = node.args.get("modifiers")
    if modifiers is not None:
        if not isinstance(modifiers, exp.Literal) or not set(modifiers.name) <= set("ci"):
            raise QueryError(
                f"{origin}, line {line_of(sql, 'REGEXP_REPLACE')}: REGEXP_REPLACE parameters other than 'c' and "
                f"'i' (here {modifiers.sql(dialect='redshift')}) have no equivalent here."
            )
        flags = modifiers.name
    return exp.Anonymous(
        this="regexp_replace",
        # a replacement left out is '' (Redshift's default)
        expressions=[
            node.this,
            node.expression,
            node.args.get("replacement") or exp.Literal.string(""),
            exp.Literal.string(flags + "g"),
        ],
    )


def fix_concat(node, sql: str, origin: str):
    """Redshift's CONCAT(a, b) is ``a || b``: NULL when either is (DuckDB's and PostgreSQL's CONCAT
    skip a NULL). It takes exactly two arguments; Redshift refuses more, so is a query here."""
    from sqlglot import exp

    args = node.expressions
    if len(args) != 2:
        raise QueryError(
            f"{origin}, line {line_of(sql, 'CONCAT')}: CONCAT takes two arguments in Redshift, not "
            f"{len(args)}; nest it, concat(a, concat(b, c)), or write a || b || c."
        )
    return exp.DPipe(this=args[0], expression=args[1], safe=False)


def fix_listagg(node, target: str):
    """LISTAGG(x [, delimiter]) [WITHIN GROUP (ORDER BY ...)]: Redshift's delimiter defaults to none
    (sqlglot assumes ','); PostgreSQL spells it string_agg(x::text, delimiter ORDER BY ...)."""
    import sqlglot
    from sqlglot import exp

    concat = node.this if isinstance(node, exp.WithinGroup) else node
    order = node.expression if isinstance(node, exp.WithinGroup) else None
    if isinstance(concat.this, exp.Distinct) and len(concat.this.expressions) == 2:
        value, separator = concat.this.expressions  # LISTAGG(DISTINCT x, ',') parses as DISTINCT (x, ',')
        concat.set("this", exp.Distinct(expressions=[value]))
        concat.set("separator", separator)
    if concat.args.get("separator") is None:
        concat.set("separator", exp.Literal.string(""))
    if target != "postgres":
        return node
    value = concat.this
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        value = value.expressions[0]
    # DISTINCT needs its ORDER BY to be the argument itself: no cast then (text stays text)
    argument = value.sql(dialect=target) if distinct else f"cast({value.sql(dialect=target)} as text)"
    text = (
        f"string_agg({'distinct ' if distinct else ''}{argument}, "
        f"{concat.args['separator'].sql(dialect=target)}"
        f"{' ' + order.sql(dialect=target) if order is not None else ''})"
    )
    return sqlglot.parse_one(text, read=target)


@lru_cache(maxsize=1)
def star_schema():
    """Every table of schema.py with its columns' Redshift types, for sqlglot's type inference."""
    from sqlglot.schema import MappingSchema

    from sparkify.schema import TABLES

    types = {
        "text": "varchar",
        "integer": "int",
        "bigint": "bigint",
        "identity": "bigint",
        "double": "double precision",
        "timestamp": "timestamp",
        "boolean": "boolean",
    }
    mapping = {t.name: {c.name: types[c.type] for c in t.columns} for t in TABLES.values()}
    return MappingSchema(mapping, dialect="redshift")


def line_of(sql: str, construct: str) -> int:
    """The line (from 1) of the first occurrence of ``construct`` in ``sql``, outside comments; 1 if
    it is not found as written."""
    pattern = re.escape(construct) + (r"\b" if construct[-1:].isalnum() else "")
    for number, line in enumerate(sql.splitlines(), 1):
        code = line.split("--", 1)[0]
        if re.search(pattern, code, flags=re.IGNORECASE):
            return number
    return 1


def fix_substring(node, target: str, sql: str, origin: str):
    """SUBSTRING(s, start[, length]) as Redshift (and PostgreSQL) count: positions before 1 exist
    but hold nothing (``substring('caterpillar', -2, 6)`` is ``cat``), a negative length is an error.
    DuckDB counts a start before 1 from the end: it gets the start clamped to 1 and the length cut."""
    from sqlglot import exp

    if target != "duckdb":
        return node
    start, length = node.args.get("start"), node.args.get("length")
    if start is None:
        return node

    def int_literal(e) -> int | None:
        if isinstance(e, exp.Literal) and not e.is_string and e.name.isdigit():
            return int(e.name)
        if isinstance(e, exp.Neg) and int_literal(e.this) is not None:
            return -int(e.this.name)
        return None

    first, count = int_literal(start), int_literal(length) if length is not None else None
    if count is not None and count < 0:
        raise QueryError(
            f"{origin}, line {line_of(sql, 'SUBSTRING')}: SUBSTRING with a negative length ({count}), which "
            "Redshift refuses."
        )
    if first is not None and first >= 1 and (length is None or count is not None):
        return node  # counted alike
    clamped = exp.Greatest(this=start.copy(), expressions=[exp.Literal.number(1)])
    if length is None:
        return exp.Substring(this=node.this, start=clamped)
    # the characters of [start, start + length) that lie at 1 or after
    cut: exp.Expression = exp.Greatest(
        this=exp.Sub(this=exp.Add(this=start.copy(), expression=length.copy()), expression=clamped.copy()),
        expressions=[exp.Literal.number(0)],
    )
    if count is None:  # a length only known when the query runs: a negative one stops it, as in Redshift
        cut = exp.Case(
            ifs=[
                exp.If(
                    this=exp.LT(this=length.copy(), expression=exp.Literal.number(0)),
                    true=exp.Anonymous(
                        this="error",
                        expressions=[exp.Literal.string("negative substring length not allowed")],
                    ),
                )
            ],
            default=cut,
        )
    return exp.Substring(this=node.this, start=clamped, length=cut)


AGGREGATE_WINDOWS = (
    "Sum",
    "Avg",
    "Count",
    "Min",
    "Max",
    "Stddev",
    "StddevPop",
    "StddevSamp",
    "Variance",
    "VariancePop",
    "FirstValue",
    "LastValue",
    "NthValue",
)
"""sqlglot's aggregate and value functions that Redshift refuses as a window function with ORDER BY
and no frame clause."""

WINDOWLESS_CENTURY = frozenset(
    {"CENTURY", "CENTURIES", "C", "CENT", "CENTS", "MILLENNIUM", "MILLENNIA", "MIL", "MILS", "MILLENNIUMS"}
)
"""DATE_TRUNC parts DuckDB truncates otherwise than Redshift (its centuries start at 00, not 01)."""


def refuse_unfaithful(node, target: str, sql: str, origin: str) -> None:
    """Raise QueryError for a construct that Redshift refuses, or that an engine here answers
    otherwise with no rewrite to mend it: an aggregate window with ORDER BY and no frame clause
    (Redshift requires one), EXCEPT ALL / INTERSECT ALL (Redshift has neither), SPLIT_PART of a part
    written 0 or negative (Redshift requires one greater than 0), on DuckDB a DATE_TRUNC to a
    century or millennium, and on PostgreSQL an ordered-set aggregate (MEDIAN, PERCENTILE_CONT,
    LISTAGG) as a window function."""
    from sqlglot import exp

    ordered_aggregate = (
        isinstance(node, exp.Window)
        and node.args.get("order")
        and not node.args.get("spec")
        and type(node.this).__name__ in AGGREGATE_WINDOWS
    )
    if ordered_aggregate:
        name = node.this.sql_name()
        raise QueryError(
            f"{origin}, line {line_of(sql, name)}: {name}(...) OVER (... ORDER BY ...) needs a frame clause "
            "in Redshift, which refuses it without one: add ROWS BETWEEN UNBOUNDED PRECEDING AND "
            "CURRENT ROW (a running total) or ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING."
        )
    spec = node.args.get("spec") if isinstance(node, exp.Window) else None
    if spec is not None and str(spec.args.get("kind") or "").upper() in ("RANGE", "GROUPS"):
        kind = str(spec.args.get("kind")).upper()
        raise QueryError(
            f"{origin}, line {line_of(sql, kind)}: a {kind} window frame is not Redshift SQL, whose frames "
            "are ROWS frames (ROWS BETWEEN ...)."
        )
    if isinstance(node, (exp.Except, exp.Intersect)) and node.args.get("distinct") is False:
        name = "EXCEPT" if isinstance(node, exp.Except) else "INTERSECT"
        raise QueryError(
            f"{origin}, line {line_of(sql, name)}: {name} ALL is not Redshift SQL (it has {name} and UNION ALL)."
        )
    if isinstance(node, exp.SplitPart):
        part = node.args.get("part_index")
        literal = part.this if isinstance(part, exp.Neg) else part
        if (
            part is not None
            and isinstance(literal, exp.Literal)
            and (isinstance(part, exp.Neg) or literal.name == "0")
        ):
            raise QueryError(
                f"{origin}, line {line_of(sql, 'SPLIT_PART')}: SPLIT_PART's part must be greater than 0 in "
                f"Redshift, not {part.sql(dialect='redshift')} (DuckDB and PostgreSQL count from the end)."
            )
    if target == "postgres" and isinstance(node, exp.Window):
        inner = node.this.this if isinstance(node.this, exp.WithinGroup) else node.this
        if isinstance(inner, (exp.Median, exp.PercentileCont, exp.PercentileDisc, exp.GroupConcat)):
            name = _function_name(inner).upper()
            raise QueryError(
                f"{origin}, line {line_of(sql, name)}: {name}(...) OVER (...) has no PostgreSQL translation: "
                "PostgreSQL has no ordered-set aggregate (MEDIAN, PERCENTILE_CONT, LISTAGG ... WITHIN GROUP) as "
                "a window function; compute it per group in a subquery and join it back (redshift to postgres)."
            )
    if target == "duckdb" and isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        unit = node.args.get("unit")
        if unit is not None and unit.name.upper() in WINDOWLESS_CENTURY:
            raise QueryError(
                f"{origin}, line {line_of(sql, 'DATE_TRUNC')}: DATE_TRUNC to a {unit.name.lower()} has no equivalent "
                "on DuckDB (its centuries start at year 00, Redshift's at 01)."
            )


TEXT_TYPES = frozenset({"VARCHAR", "TEXT", "CHAR", "NVARCHAR", "NCHAR", "BPCHAR"})

INTEGER_TEXT = r"\s*[+-]?[0-9]+\s*"
"""The text Redshift (and PostgreSQL) cast to an integer: digits, a sign, spaces around them."""


def fix_cast_text_to_integer(node, twin, target: str):
    """CAST(text AS INTEGER) refuses ``'1.5'`` or ``'1e3'`` in Redshift and PostgreSQL ("invalid input
    syntax for integer"); DuckDB rounds the one to 2 and reads the other as 1000. DuckDB gets the same
    error for text that is not an integer; other text is cast as written. Only where the argument is
    known to be text: a string literal, or a text column of the star schema."""
    from sqlglot import exp

    to = node.args.get("to")
    if target != "duckdb" or type(node) is not exp.Cast or to is None or to.this.name not in INTEGER_TYPES:
        return node
    source = node.this
    text = (isinstance(source, exp.Literal) and source.is_string) or _argument_type(twin) in TEXT_TYPES
    if not text:
        return node
    kind = {"SMALLINT": "smallint", "BIGINT": "bigint"}.get(to.this.name, "integer")
    value = exp.cast(source.copy(), "varchar")
    return exp.Case(
        ifs=[
            exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null()),
            exp.If(
                this=exp.Anonymous(
                    this="regexp_full_match", expressions=[value.copy(), exp.Literal.string(INTEGER_TEXT)]
                ),
                true=node.copy(),
            ),
        ],
        default=exp.Anonymous(
            this="error",
            expressions=[
                exp.DPipe(
                    this=exp.DPipe(
                        this=exp.Literal.string(f'invalid input syntax for {kind}: "'),
                        expression=value.copy(),
                    ),
                    expression=exp.Literal.string('"'),
                )
            ],
        ),
    )


def fix_integer_sum(node, twin):
    """SUM of SMALLINT, INTEGER or BIGINT is a BIGINT in Redshift (r_SUM.html), so ``sum(x) / count(*)``
    divides integers; PostgreSQL sums a BIGINT into a NUMERIC and DuckDB into a HUGEINT. ``node`` (a
    SUM, or a window over one, whose typed copy is ``twin``) is cast to BIGINT when its argument is an
    integer; anything else is returned as it is."""
    from sqlglot import exp

    arg = twin.this if twin is not None else None
    if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
        arg = arg.expressions[0]
    if _type_name(arg) not in INTEGER_TYPES:
        return node
    return exp.cast(node.copy(), "bigint")


SECOND_PARTS = frozenset({"S", "SEC", "SECS", "SECOND", "SECONDS"})
MILLISECOND_PARTS = frozenset(
    {
        "MS",
        "MSEC",
        "MSECS",
        "MSECOND",
        "MSECONDS",
        "MILLISEC",
        "MILLISECS",
        "MILLISECON",
        "MILLISECOND",
        "MILLISECONDS",
    }
)
MICROSECOND_PARTS = frozenset(
    {"US", "USEC", "USECS", "USECOND", "USECONDS", "MICROSEC", "MICROSECS", "MICROSECOND", "MICROSECONDS"}
)
"""Redshift's names and abbreviations of the second parts (r_Dateparts_for_datetime_functions.html)."""


DATE_PARTS = {
    **dict.fromkeys(("MILLENNIUM", "MILLENNIA", "MIL", "MILS"), "millennium"),
    **dict.fromkeys(("CENTURY", "CENTURIES", "C", "CENT", "CENTS"), "century"),
    **dict.fromkeys(("DECADE", "DECADES", "DEC", "DECS"), "decade"),
    **dict.fromkeys(("YEAR", "YEARS", "Y", "YR", "YRS"), "year"),
    **dict.fromkeys(("QUARTER", "QUARTERS", "QTR", "QTRS"), "quarter"),
    **dict.fromkeys(("MONTH", "MONTHS", "MON", "MONS"), "month"),
    **dict.fromkeys(("WEEK", "WEEKS", "W"), "week"),
    **dict.fromkeys(("DAYOFWEEK", "DOW", "DW", "WEEKDAY"), "dow"),
    **dict.fromkeys(("DAYOFYEAR", "DOY", "DY", "YEARDAY"), "doy"),
    **dict.fromkeys(("DAY", "DAYS", "D"), "day"),
    **dict.fromkeys(("HOUR", "HOURS", "H", "HR", "HRS"), "hour"),
    **dict.fromkeys(("MINUTE", "MINUTES", "M", "MIN", "MINS"), "minute"),
}
"""Redshift's names and abbreviations of the other date parts (r_Dateparts_for_datetime_functions.html),
as both engines name them: DuckDB knows no ``qtr``, PostgreSQL no ``dayofweek``."""


OTHER_DATE_PARTS = frozenset({"EPOCH", "TIMEZONE", "TIMEZONE_HOUR", "TIMEZONE_MINUTE"})
"""Redshift's date parts that keep their name: EXTRACT's epoch and time zone parts."""

INTERVAL_PARTS = frozenset(DATE_PARTS) | SECOND_PARTS | MILLISECOND_PARTS | MICROSECOND_PARTS
"""The date parts (upper case) DATE_TRUNC, DATEADD and DATEDIFF take; EXTRACT also takes
:data:`OTHER_DATE_PARTS`."""


def _not_a_date_part(name: str, function: str, line: int, origin: str) -> QueryError:
    """The error for a date part Redshift does not know (``mnth``) in ``function``."""
    return QueryError(
        f"{origin}, line {line}: {name!r} is not a Redshift date part ({function}); write year, quarter, "
        "month, week, day, hour, minute, second... or their abbreviations (r_Dateparts_for_datetime_functions.html)."
    )


def fix_date_part_name(node, target: str, sql: str = "", origin: str = "query"):
    """DATE_TRUNC's or EXTRACT's date part as both engines name it (:data:`DATE_PARTS`); seconds and
    smaller parts are :func:`fix_second_parts`'. A part Redshift does not know (``mnth``) is a
    QueryError naming it (the engines failed at run time, each in its own words). Returns ``node``,
    its part renamed in place."""
    from sqlglot import exp

    key = "unit" if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)) else "this"
    part = node.args.get(key)
    if isinstance(part, (exp.Var, exp.Identifier)) or (isinstance(part, exp.Literal) and part.is_string):
        upper = part.name.upper()
        name = DATE_PARTS.get(upper)
        if name is not None:
            part.replace(exp.Literal.string(name) if isinstance(part, exp.Literal) else exp.var(name.upper()))
        elif upper not in INTERVAL_PARTS | OTHER_DATE_PARTS:
            function = "DATE_TRUNC" if key == "unit" else "EXTRACT"
            raise _not_a_date_part(part.name, function, line_of(sql, part.name), origin)
    return node


def require_date_part(node, function: str, sql: str, origin: str) -> None:
    """Raise QueryError when ``node``'s ``unit`` (DATEADD's or DATEDIFF's date part) is not one Redshift
    knows (``mnth``): DuckDB failed with a parser error about an AS the query never wrote, PostgreSQL
    with "invalid input syntax for type interval"."""
    from sqlglot import exp

    unit = node.args.get("unit")
    if not isinstance(unit, (exp.Var, exp.Identifier)):
        return
    if unit.name.upper() not in INTERVAL_PARTS:
        raise _not_a_date_part(unit.name, function, line_of(sql, function), origin)


def fix_date_cmp(node, target: str, sql: str, origin: str):
    """DATE_CMP(a, b): 0 when the dates are equal, 1 when a is later, -1 when earlier, NULL when either
    is (r_DATE_CMP.html); DuckDB has no DATE_CMP, PostgreSQL's own is an internal function of dates."""
    import sqlglot
    from sqlglot import exp

    if len(node.expressions) != 2:
        raise QueryError(f"{origin}, line {line_of(sql, 'DATE_CMP')}: DATE_CMP takes two dates.")
    a, b = (exp.cast(e.copy(), "date").sql(dialect=target) for e in node.expressions)
    return sqlglot.parse_one(
        f"(case when {a} is null or {b} is null then null when {a} = {b} then 0 when {a} > {b} then 1 else -1 end)",
        read=target,
    )


def fix_approximate_percentile(node, target: str):
    """APPROXIMATE PERCENTILE_DISC(q) WITHIN GROUP (ORDER BY x): Redshift's estimate (within about 1.5%
    of the exact rank) is answered by the exact PERCENTILE_DISC on both engines, as APPROXIMATE COUNT is
    by the exact count: DuckDB's own estimate differs from Redshift's, and PostgreSQL has none."""
    import sqlglot

    x = node.this.sql(dialect=target)
    q = node.args["quantile"].sql(dialect=target)
    return sqlglot.parse_one(f"percentile_disc({q}) within group (order by {x})", read=target)


def fix_second_parts(node, target: str):
    """EXTRACT of seconds, milliseconds or microseconds returns that part alone, as an integer: of
    ``11:10:03.189717`` 3, 189 and 717; DATE_PART returns the seconds whole, 3.189717 (and 3189.717,
    3189717 for the smaller parts), a DOUBLE PRECISION whatever the part (r_DATE_PART_function.html).
    So r_Dateparts_for_datetime_functions.html ("Variations in results"). PostgreSQL's EXTRACT gives what Redshift's DATE_PART does, DuckDB's whole units of each:
    both are rewritten from the microseconds within the minute. Other parts are returned as they are."""
    import sqlglot
    from sqlglot import exp

    unit = node.this.name.upper() if isinstance(node.this, (exp.Var, exp.Identifier)) else ""
    x = node.expression.sql(dialect=target)
    micro = f"extract(microsecond from {x})"
    if node.meta.get(WRITTEN_NAME) == "date_part":  # the seconds whole, a DOUBLE PRECISION
        scale = {**dict.fromkeys(SECOND_PARTS, "1000000.0"), **dict.fromkeys(MILLISECOND_PARTS, "1000.0")}
        if target == "duckdb" and unit in scale:
            return sqlglot.parse_one(f"({micro} / {scale[unit]})", read=target)
        return exp.cast(node.copy(), "double")  # PostgreSQL's EXTRACT is a NUMERIC, DuckDB's an integer
    if unit in SECOND_PARTS:
        text = f"cast(floor({micro} / 1000000) as integer)"
    elif unit in MILLISECOND_PARTS:
        text = f"cast(floor({micro} / 1000) as integer) % 1000"
    elif unit in MICROSECOND_PARTS:
        text = f"cast({micro} as integer) % 1000"
    else:
        return node
    return sqlglot.parse_one(f"({text})", read=target)


def fix_deviation(node):
    """STDDEV, STDDEV_SAMP, STDDEV_POP, VARIANCE, VAR_SAMP and VAR_POP are DOUBLE PRECISION in Redshift
    whatever their argument, computed in floating point; PostgreSQL gives a NUMERIC of an integer or
    decimal argument (other digits, another type). Both engines get the argument as a double."""
    from sqlglot import exp

    arg = node.this
    if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
        arg.expressions[0].replace(exp.cast(arg.expressions[0].copy(), "double"))
    elif arg is not None and not isinstance(arg, exp.Distinct):
        arg.replace(exp.cast(arg.copy(), "double"))
    return node


def fix_cast_length(node, target: str):
    """CAST(x AS VARCHAR(n)) keeps the first n characters in Redshift and PostgreSQL; DuckDB ignores the
    length and gets ``left(cast(x as varchar), n)``. CAST(x AS CHAR(n)) (CHAR alone: CHAR(1)) keeps n
    characters whose trailing blanks Redshift ignores -- in LEN, in comparisons (r_LEN.html,
    r_Character_types.html) -- so both engines get the text without them: DuckDB, which has no CHAR,
    ``rtrim(left(...), ' ')``; PostgreSQL its CHAR(n) read back as VARCHAR (which drops them)."""
    from sqlglot import exp

    to = node.args.get("to")
    kinds = (exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR)
    if to is None or to.this not in kinds:
        return node
    if to.this == exp.DataType.Type.CHAR and target == "postgres":
        return exp.cast(node, "varchar")
    if target != "duckdb":
        return node
    if to.expressions:
        (param,) = to.expressions[:1]
        size = param.this if isinstance(param, exp.DataTypeParam) else param
        if not (isinstance(size, exp.Literal) and size.name.isdigit()):
            return node
        n = int(size.name)
    elif to.this == exp.DataType.Type.CHAR:
        n = 1
    else:
        return node  # VARCHAR without a length: the text as it is
    kept = exp.Left(this=exp.cast(node.this, "varchar"), expression=exp.Literal.number(n))
    if to.this == exp.DataType.Type.VARCHAR:
        return kept
    return exp.Anonymous(this="rtrim", expressions=[kept, exp.Literal.string(" ")])


CAST_NAMES = {
    "INT": "int4",
    "BIGINT": "int8",
    "SMALLINT": "int2",
    "DOUBLE": "float8",
    "FLOAT": "float4",
    "DECIMAL": "numeric",
    "VARCHAR": "varchar",
    "CHAR": "bpchar",
    "BPCHAR": "bpchar",
    "TEXT": "text",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMPTZ": "timestamptz",
}
"""The name PostgreSQL and Redshift give the unnamed column of a cast of a constant, operator or CASE
(``'1'::int`` is ``int4``), by sqlglot's name of the type cast to."""


COLUMN_NAMES = {
    "redshift": {"dateadd": "date_add", "date_part": "pgdate_part", "extract": "date_part", "trim": "btrim"},
    "postgres": {"trim": "btrim"},
}
"""Per engine, the name of an unnamed function column that is not the function's written name:
Redshift names DATEADD's column date_add (r_DATEADD_function.html), DATE_PART's pgdate_part
(r_DATE_PART_function.html), EXTRACT's date_part (r_EXTRACT_function.html); both name TRIM's btrim."""


def output_name(node, dialect: str = "redshift") -> str | None:
    """The name ``dialect`` (Redshift, or PostgreSQL for a translated item) gives an unnamed result
    column (``count``, ``max``, the column of a cast, ``?column?``), where DuckDB names it by its text
    (``count_star()``); None where DuckDB names it alike (a column)."""
    from sqlglot import exp

    if isinstance(node, (exp.Column, exp.Star, exp.Alias)):
        return None
    if isinstance(node, exp.Cast):
        inner = node.this
        if isinstance(inner, exp.Column):
            return inner.name
        if isinstance(inner, (exp.Func, exp.Window, exp.WithinGroup)) and not isinstance(
            inner, (exp.Cast, exp.Case)
        ):
            return output_name(inner, dialect)  # a function names its cast
        # a constant, an operator, a CASE or another cast: the type, as PostgreSQL names it (int4)
        return CAST_NAMES.get(node.to.this.name) or output_name(inner, dialect)
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Interval):  # interval '1 day': its type, as for a cast
        return "interval"
    if isinstance(node, exp.Window):  # row_number() over (...): the function's name
        if isinstance(node.this, exp.Func):
            return _function_name(node.this, dialect)
        return output_name(node.this, dialect)
    if isinstance(node, exp.WithinGroup):  # percentile_cont(0.5) within group (...)
        return output_name(node.this, dialect)
    if isinstance(node, exp.CurrentDate):  # r_CURRENT_DATE_function.html: select current_date -> date
        return "date" if dialect == "redshift" else "current_date"
    if isinstance(node, exp.CurrentTimestamp) and node.args.get("sysdate"):  # r_SYSDATE.html: timestamp
        return "timestamp"
    if isinstance(node, exp.Func):
        if node.args.get("this") is None and not node.args.get("expressions"):
            # current_timestamp and kin: as an alias it would stand for itself in the SELECT; a call
            # with parentheses (getdate()) is named by its function
            return _written_name(node, dialect)
        return _function_name(node, dialect)
    written = node.meta.get(WRITTEN_NAME)  # a call sqlglot turns into an operator: mod(a, b) is a % b
    return written.lower() if isinstance(written, str) else "?column?"


WRITTEN_NAME = "sparkify_written_name"
"""Where the parser notes a known function's name as the query wrote it (VARIANCE, which sqlglot
renders VAR_SAMP): the name of its unnamed column."""


def _written_name(node, dialect: str = "redshift") -> str | None:
    """A function call's name as the query wrote it (LEN, VARIANCE, STRPOS: sqlglot renders LENGTH,
    VAR_SAMP, POSITION) or else as ``dialect`` spells it (DATE_TRUNC, not sqlglot's TIMESTAMP_TRUNC;
    COUNT for APPROXIMATE COUNT(DISTINCT x); STRING_AGG on PostgreSQL), lower case; None when it is
    written without parentheses (CURRENT_DATE). NVL is ``coalesce``, as Redshift names it."""
    from sqlglot import exp

    original = node.meta.get(WRITTEN_NAME)
    if isinstance(original, str) and not isinstance(node, exp.Coalesce):  # NVL is named coalesce
        return original.lower()
    written = re.match(
        r"\s*(?:APPROXIMATE\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(", node.sql(dialect=dialect), flags=re.I
    )
    return written.group(1).lower() if written else None


def _function_name(node, dialect: str = "redshift") -> str:
    """The name of a function's unnamed result column: :func:`_written_name` (as ``dialect`` names
    it, :data:`COLUMN_NAMES`), else sqlglot's name."""
    name = _written_name(node, dialect) or node.sql_name().lower()
    return COLUMN_NAMES.get(dialect, {}).get(name, name)
