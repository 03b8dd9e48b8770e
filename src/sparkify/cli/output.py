"""What the commands print: summaries of a run, tables of rows and checks, query results. Plain
text (never markup) through :mod:`sparkify.console`; nothing here decides an outcome."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sparkify.wording import plural

SHOWN = 10
"""How many unreadable files a summary lists by name."""


def _n(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 file``, ``2 files`` (see :func:`sparkify.wording.plural`)."""
    return plural(count, noun, plural_form)


def plan_summary(plan) -> str:
    """``events: 30 files: 2 new, 28 already loaded`` (zero parts left out)."""
    if plan.full_refresh:
        why = "staging did not match the load ledger" if plan.repair else "--full-refresh"
        return f"{plan.kind}: {_n(len(plan.listed), 'file')}: all loaded afresh ({why})"
    parts = [f"{plan.new:,} new"]
    if plan.changed:
        parts.append(f"{plan.changed:,} changed")
    if plan.rules_changed:
        parts.append(f"{len(plan.rules_changed):,} read again (loaded under another ts_min/ts_max)")
    if plan.unverified:
        parts.append(f"{len(plan.unverified):,} read again (no checksum recorded yet)")
    if plan.unchanged:
        parts.append(f"{plan.unchanged:,} already loaded")
    if plan.held_empty:  # loaded earlier, only whitespace now: see history_summary
        parts.append(f"{len(plan.held_empty):,} now empty")
    if plan.rejected_only:  # loaded earlier, every record rejected now: see history_summary
        parts.append(f"{len(plan.rejected_only):,} now rejected whole")
    return f"{plan.kind}: {_n(len(plan.listed), 'file')}: {', '.join(parts)}"


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
    """``name: reason`` of every file whose bytes could not all be decoded (a broken gzip stream, a
    compression sparkify does not read): the reader rejects the bytes it could not decode as one
    record with no line, its reason starting "cannot be read" (what was decoded before them is read)."""
    return [f"{r.source}: {r.reason}" for r in report.rejects if _unreadable(r)]


def _unreadable(reject) -> bool:
    return reject.line is None and reject.reason.startswith("cannot be read")


def print_stage(console, report, *, quiet: bool = False) -> None:
    """The staging part of a run's summary. Under ``quiet``, only what was removed or could not be read."""
    from sparkify.console import printable, table

    for plan in report.plans.values():
        line = history_summary(plan)
        if line and (plan.prune or not quiet):
            console.print(line, markup=False)
    unreadable = unreadable_files(report)
    if unreadable:
        console.print(f"Could not read {_n(len(unreadable), 'file')} (whole or in part):", markup=False)
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
        counts = [f"{n:,}" for n in (len(result.files), result.read, result.staged, result.rejected)]
        rows.append([kind, counts[0], size, *counts[1:], seconds])
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
    # files that held no record (a file loaded earlier and now empty is told of by history_summary)
    held = {name for plan in report.plans.values() for name in plan.held_empty}
    empty = [
        name
        for r in report.results.values()
        for name, c in r.files.items()
        if c.read == 0 and name not in held
    ]
    if empty:
        shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        console.print(f"{_n(len(empty), 'file')} held no records: {printable(shown)}")
    others = [r for r in report.rejects if not _unreadable(r)]  # unreadable files: listed above
    if others:
        more = " more" if len(others) < len(report.rejects) else ""  # beside the unreadable files
        console.print(
            f"{_n(len(others), f'{more.strip()} record'.strip())} rejected (see the load_errors table):"
        )
        for r in others[:10]:
            console.print(f"  {printable(r)}")
    for kind, result in report.results.items():  # which kind: a key may be known in one, not the other
        if result.unknown_fields:
            # the most frequent first, at most SHOWN_UNKNOWN_FIELDS (a record of 3,000 keys made one
            # 38 KB line); --json lists every one
            ranked = sorted(result.unknown_fields.items(), key=lambda kn: (-kn[1], kn[0]))
            fields = ", ".join(f"{_key(k)} ({n}{_meant(kind, k)})" for k, n in ranked[:SHOWN_UNKNOWN_FIELDS])
            rest = len(ranked) - SHOWN_UNKNOWN_FIELDS
            fields += f" and {rest:,} more (--json lists every one)" if rest > 0 else ""
            console.print(f"Unknown fields ignored in {kind}: {printable(fields)}")


SHOWN_UNKNOWN_FIELDS = 20
"""How many unknown keys the summary names per kind of file, the most frequent first."""


def _meant(kind: str, key: str) -> str:
    """``; did you mean userId?`` when ``key`` is one of ``kind``'s fields written in other case
    (``userID``), with other separators (``user_id``) or closely misspelled; else empty: a field
    the contract names, read under another name, is a field lost (tester finding)."""
    from difflib import get_close_matches

    from sparkify.staging.rules import KNOWN_KEYS

    known = sorted(KNOWN_KEYS[kind])

    def squash(name: str) -> str:
        return "".join(ch for ch in name.lower() if ch.isalnum())

    same = [k for k in known if squash(k) == squash(key)]
    close = same or get_close_matches(key, known, n=1, cutoff=0.85)
    return f"; did you mean {close[0]}?" if close else ""


def _key(key: str) -> str:
    """A record key as the run's summary lists it: as it is, or as a JSON string when it is empty or
    holds a space, comma, parenthesis or quote (so ``""`` and ``"a, b"`` are seen for what they are)."""
    if key and not any(ch.isspace() or ch in ',()"' for ch in key):
        return key
    return json.dumps(key, ensure_ascii=False)


def print_rows(console, rows: dict[str, int]) -> None:
    """The ``Star schema`` table: each star table and its row count."""
    from sparkify.console import table

    console.print(
        table("Star schema", ["table", "rows"], [[k, f"{v:,}"] for k, v in rows.items()], right={1})
    )


SCOPED_CHECKS = "on the rows this run added or changed (`sparkify check` checks every row)"
"""What an incremental run's checks line adds: they covered its own rows only."""


def print_checks(
    console, results, *, all_rows: bool = False, quiet: bool = False, scoped: bool = False
) -> None:
    """The checks' table (failures only, unless ``all_rows``; none when quiet), then the count passed
    and, when ``scoped`` (an incremental run's checks), that they covered this run's rows only."""
    from sparkify.console import table

    failed = [r for r in results if not r.passed]
    shown = results if all_rows else failed
    if shown and not quiet:  # quiet: the final line, and the error naming each failure
        console.print(
            table(
                "Checks",
                ["check", "result", "offending"],
                [[r.check.name, "ok" if r.passed else "FAILED", r.failures] for r in shown],
                right={2},
            )
        )
    scope = f" {SCOPED_CHECKS}" if scoped else ""
    console.print(f"Checks: {len(results) - len(failed)} of {len(results)} passed{scope}.")


def print_run(console, report, *, quiet: bool = False) -> None:
    """A run's summary: staging, star rows, checks, and the final line (the only one when quiet)."""
    from sparkify.console import printable

    print_stage(console, report.stage, quiet=quiet)
    if not quiet:
        print_rows(console, report.rows)
        print_checks(console, report.checks, quiet=quiet, scoped=report.checks_scoped)
    console.print(
        f"Loaded {_n(report.stage.staged, 'record')} ({report.stage.rejected:,} rejected) from "
        f"{printable(report.source)} into {printable(report.destination)} in {report.seconds:.1f}s."
    )


def print_result(console, query, result, fmt: str) -> None:
    """One query's result on stdout: a table titled with its description, CSV, or one JSON document."""
    from sparkify import analytics
    from sparkify.console import table

    if fmt == "table":
        title = f"{query.name}: {query.description}" if query.description else query.name
        console.print(table(title, result.columns, result.rows))
    elif fmt == "csv":
        sys.stdout.write(analytics.to_csv(result))
    else:
        sys.stdout.write(analytics.to_json(query, result) + "\n")


def write_result(console, folder: Path, query, result, fmt: str, *, quiet: bool = False) -> None:
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
    if not quiet:
        console.print(f"{query.name}: {plural(len(result.rows), 'row')} -> {path}")


def print_sql(query, sql: str, wh) -> None:
    """``--show-sql``: the text that runs, after a header saying what it was translated from. On
    stderr, so results piped as CSV or JSON stay clean."""
    how = (
        f"{query.dialect}, as written"
        if query.dialect == wh.sql_dialect
        else f"translated from {query.dialect}"
    )
    click.echo(f"-- {query.name} on {wh.name} ({how})\n{sql.strip()}\n", err=True)


def print_comparison(console, results, left, right) -> None:
    """Per table: identical with its count, or the counts, the differing rows and examples."""
    from sparkify.analytics.expected import text

    console.print(f"< {left.display_name}\n> {right.display_name}", markup=False)
    for r in results:
        if r.is_identical:
            console.print(f"{r.table}: identical ({plural(r.left_count, 'row')})", markup=False)
            continue
        console.print(
            f"{r.table}: DIFFERS: {plural(r.left_count, 'row')} <, {plural(r.right_count, 'row')} >; "
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


def print_match(console, match, *, quiet: bool = False) -> None:
    """One query against its expected file: ``NAME: DIFFERS from PATH`` and the diff, or (unless
    quiet) ``NAME: matches (N rows[; note])``."""
    if not match.matches:
        console.print(f"{match.name}: DIFFERS from {match.path}", markup=False)
        console.print(match.diff, markup=False)
    elif not quiet:
        n = match.rows
        note = f"; {match.note}" if match.note else ""
        console.print(f"{match.name}: matches ({plural(n, 'row')}{note})", markup=False)
