"""Redshift's transform: each star table is merged in place, never rebuilt.

Redshift enforces no keys and numbers ``songplay_id`` with an ``IDENTITY`` column, so deleting and
re-inserting every row would renumber every play on every run. Instead the rows a run computes go to a
temporary table; rows of the star table that changed or left are deleted, new ones inserted, identical
ones kept -- a re-run changes nothing, not even a ``songplay_id``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sparkify.schema import Table
from sparkify.warehouse.base import quote

INSERT_HEADER = re.compile(r"^insert\s+into\s+[^(]+\([^()]*\)\s*", re.IGNORECASE | re.MULTILINE)


def merge_statements(
    qualified: Callable[[str], str], table: Table, insert_sql: str, key: tuple[str, ...]
) -> list[str]:
    """Make ``table`` hold exactly the rows ``insert_sql`` computes, keeping identical rows.

    ``insert_sql`` is the table's ``insert_<table>.sql`` (the same rules on every engine); its
    query fills a temporary table; ``key`` identifies a row (the primary key, or for a table with an
    IDENTITY id the columns a row is matched on), ``qualified`` names a table in the engine's schema. Then: *kept* = rows of the table that equal a computed row;
    every other row is deleted; every computed row not kept is inserted.
    """
    comments, query = split_insert(insert_sql)
    target = qualified(table.name)
    new, kept = quote(f"sparkify_new_{table.name}"), quote(f"sparkify_kept_{table.name}")
    identity = [c.name for c in table.columns if c.type == "identity"]
    cols = [c.name for c in table.columns if c.type != "identity"]
    others = [c for c in cols if c not in key]
    col_list = ", ".join(quote(c) for c in cols)
    n_cols = ", ".join(f"n.{quote(c)}" for c in cols)
    same = (
        "\n    and ".join(
            f"(o.{quote(c)} = n.{quote(c)} or (o.{quote(c)} is null and n.{quote(c)} is null))"
            for c in others
        )
        or "true"
    )

    if not identity:
        if len(key) != 1:
            raise ValueError(f"merging {table.name} needs a one-column key or an identity column")
        k = quote(key[0])
        return [
            f"{comments}create temp table {new} as\n{query}",
            (
                f"-- {table.name}: the rows already holding exactly these values stay untouched\n"
                f"create temp table {kept} as\nselect n.{k}\nfrom {new} as n\n"
                f"inner join {target} as o on o.{k} = n.{k}\nwhere {same}"
            ),
            (
                f"-- {table.name}: rows that changed or are no longer in the input go\n"
                f"delete from {target} where {k} not in (select {k} from {kept})"
            ),
            (
                f"-- {table.name}: rows that are new or changed come in\n"
                f"insert into {target} ({col_list})\nselect {n_cols}\nfrom {new} as n\n"
                f"left join {kept} as k on k.{k} = n.{k}\nwhere k.{k} is null"
            ),
            f"drop table {new}, {kept}",
        ]

    # An IDENTITY row id: rows are matched on the merge key, and rows sharing it are numbered
    # (copy_no) in the order of their other values -- never of their ids: Redshift hands out
    # IDENTITY values unique but in no set order, so an order by id would pair old and new rows
    # differently from run to run, and a re-run would delete and insert them again. Rows sharing
    # every value are interchangeable; the id only breaks their ties.
    (row_id,) = identity
    rid = quote(row_id)
    rows, old = quote(f"sparkify_rows_{table.name}"), quote(f"sparkify_old_{table.name}")
    match = [*key, "copy_no"]
    on = " and ".join(f"o.{quote(c)} = n.{quote(c)}" for c in match)
    on_kept = " and ".join(f"k.{quote(c)} = n.{quote(c)}" for c in match)
    kept_cols = ", ".join(f"n.{quote(c)}" for c in match)
    order = ", ".join([*(f"{quote(c)} nulls last" for c in others), rid])
    numbered = (
        f"row_number() over (partition by {', '.join(quote(c) for c in key)} order by {order}) as copy_no"
    )
    return [
        f"{comments}create temp table {rows} as\n{query}",
        (
            f"-- {table.name}: rows sharing {', '.join(key)} are told apart by their order\n"
            f"create temp table {new} as\nselect {col_list},\n    {numbered}\nfrom {rows}"
        ),
        f"create temp table {old} as\nselect {rid}, {col_list},\n    {numbered}\nfrom {target}",
        (
            f"-- {table.name}: the rows already holding exactly these values stay untouched, ids and all\n"
            f"create temp table {kept} as\nselect o.{rid}, {kept_cols}\nfrom {new} as n\n"
            f"inner join {old} as o on {on}\nwhere {same}"
        ),
        (
            f"-- {table.name}: rows that changed or are no longer in the input go\n"
            f"delete from {target} where {rid} not in (select {rid} from {kept})"
        ),
        (
            f"-- {table.name}: rows that are new or changed come in ({rid} from the IDENTITY)\n"
            f"insert into {target} ({col_list})\nselect {n_cols}\nfrom {new} as n\n"
            f"left join {kept} as k on {on_kept}\nwhere k.{rid} is null"
        ),
        f"drop table {rows}, {new}, {old}, {kept}",
    ]


def split_insert(insert_sql: str) -> tuple[str, str]:
    """``insert into t (cols) <query>`` -> (the comment lines before it, ``<query>``)."""
    m = INSERT_HEADER.search(insert_sql)
    if m is None:
        raise ValueError("expected an `insert into <table> (<columns>)` statement")
    return insert_sql[: m.start()], insert_sql[m.end() :].strip()
