"""Quality checks declared as data. Each check is one query that counts offending rows; zero passes.

The checks come from ``schema.py`` (not-null columns, primary keys, relationships) plus the
reconciliation of the fact table with staging: every NextSong event of a logged-in user is exactly
one songplay.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify.schema import STAR_TABLES
from sparkify.warehouse.base import Warehouse, quote


@dataclass(frozen=True)
class Check:
    name: str
    kind: str
    """not_null, unique, relationship or reconciliation."""
    table: str
    description: str
    sql: str
    """A query returning one integer: the number of offending rows (or keys)."""


@dataclass(frozen=True)
class CheckResult:
    check: Check
    failures: int

    @property
    def passed(self) -> bool:
        return self.failures == 0


def checks(wh: Warehouse) -> list[Check]:
    """Every check, in a stable order, with SQL for ``wh``."""
    q = wh.qualified
    out: list[Check] = []
    for t in STAR_TABLES:
        for c in t.columns:
            if c.not_null or c.name in t.primary_key:
                out.append(
                    Check(
                        f"not_null:{t.name}.{c.name}",
                        "not_null",
                        t.name,
                        f"{t.name}.{c.name} is never null",
                        f"select count(*) from {q(t.name)} where {quote(c.name)} is null",
                    )
                )
        if t.primary_key:
            key = ", ".join(quote(k) for k in t.primary_key)
            out.append(
                Check(
                    f"unique:{t.name}.{'+'.join(t.primary_key)}",
                    "unique",
                    t.name,
                    f"{t.name}.{', '.join(t.primary_key)} is unique",
                    f"select count(*) from (select {key} from {q(t.name)} group by {key} "
                    f"having count(*) > 1) as dup",
                )
            )
    for t in STAR_TABLES:
        for col, other, other_col in t.references:
            out.append(
                Check(
                    f"relationship:{t.name}.{col}->{other}.{other_col}",
                    "relationship",
                    t.name,
                    f"every {t.name}.{col} is in {other}.{other_col}",
                    f"select count(*) from {q(t.name)} as child where child.{quote(col)} is not null "
                    f"and not exists (select 1 from {q(other)} as parent "
                    f"where parent.{quote(other_col)} = child.{quote(col)})",
                )
            )
    out.append(
        Check(
            "reconciliation:songplays.count",
            "reconciliation",
            "songplays",
            "songplays has one row per distinct NextSong event of a logged-in user",
            wh.statement("check_songplays_count"),
        )
    )
    out.append(
        Check(
            "reconciliation:songplays.events",
            "reconciliation",
            "songplays",
            "every NextSong event of a logged-in user has its songplay (user, session, start_time)",
            wh.statement("check_songplays_events"),
        )
    )
    return out


def run_checks(wh: Warehouse) -> list[CheckResult]:
    """Run every check; return the results (the caller decides what a failure means)."""
    results = []
    for check in checks(wh):
        _, rows = wh.query(check.sql)
        results.append(CheckResult(check, int(rows[0][0])))
    return results


def require_passed(results: list[CheckResult]) -> None:
    """Raise :class:`~sparkify.errors.CheckFailed` naming every failed check, in order
    (``2 checks failed: not_null:users.level, unique:songs.song_id``); return when all passed."""
    from sparkify.errors import CheckFailed

    failed = [r for r in results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} checks failed: {', '.join(r.check.name for r in failed)}")
