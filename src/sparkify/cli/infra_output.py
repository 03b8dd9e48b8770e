"""What ``sparkify infra`` prints: plans and changes as tables, one plain line per fact, and the
wait for the cluster with a progress line."""

from __future__ import annotations

from collections.abc import Sequence

import click

from sparkify.cli.app import state
from sparkify.infra import aws as lib

DONE = {
    "create": "created",
    "update": "updated",
    "keep": "exists",
    "delete": "deleted",
    "skip": "left alone",
    "absent": "absent",
}
PLANNED = {
    "create": "create",
    "update": "update",
    "keep": "exists",
    "delete": "delete",
    "skip": "leave alone",
    "absent": "absent",
}


def say(console, text: str) -> None:
    """One plain line: no markup, and never broken by rich, so ids and commands can be copied whole."""
    console.print(text, markup=False, soft_wrap=True)


def header(console, handle: lib.Aws, who: dict[str, str]) -> None:
    """``AWS account ID, region R, as ARN``: whose account a plan or status is about."""
    say(console, f"AWS account {who['account']}, region {handle.region}, as {who['arn']}")


def infra_table(title: str, columns: list[str], rows: list[list[str]]):
    """A table whose short words never wrap and whose names, ARNs and ids fold, never cut."""
    from sparkify.console import table

    t = table(title, columns, rows)
    for column in t.columns:
        if column.header in ("resource", "action", "state", "managed by"):
            column.no_wrap = True  # short words: leave the width to names and details
        else:
            column.overflow = "fold"  # ARNs and ids must be readable whole, never cut with "..."
    return t


def changes_table(
    title: str, changes: list[lib.Change], words: dict[str, str], extra: Sequence[list[str]] = ()
):
    """The plan or the changes made: resource, name, action (in ``words``), details; ``extra`` rows last."""
    rows = [[c.resource, c.name, words[c.action], c.detail] for c in changes] + list(extra)
    return infra_table(title, ["resource", "name", "action", "details"], rows)


def print_done(console, change: lib.Change) -> None:
    """One applied change: ``created role sparkify-redshift-s3 (ARN): detail``."""
    ref = f" ({change.ref})" if change.ref and change.action in ("create", "keep", "update") else ""
    detail = f": {change.detail}" if change.detail else ""
    say(console, f"{DONE[change.action]} {change.resource} {change.name}{ref}{detail}")


def wait(console, handle: lib.Aws, cluster_id: str, *, deleted: bool, timeout_min: float) -> dict | None:
    """Wait for the cluster with a progress line; on Ctrl-C say what AWS keeps doing, then re-raise."""
    quiet = state().quiet
    goal = "deleted" if deleted else "available"
    title = f"Waiting for cluster {cluster_id} to be {goal} (up to {timeout_min:g} min)"
    live = console.is_terminal and not quiet
    status = console.status(title) if live else None

    def on_poll(state: str, seconds: float) -> None:
        line = f"{title}: {state}, {int(seconds) // 60}m{int(seconds) % 60:02d}s"
        if status is not None:
            status.update(line)
        elif not quiet:
            say(console, line)

    try:
        if status is not None:
            status.start()
        return lib.wait_for_cluster(
            handle, cluster_id, deleted=deleted, timeout=timeout_min * 60, on_poll=on_poll
        )
    except KeyboardInterrupt:
        if deleted:
            then = "run `sparkify infra down` again to finish removing the rule and the role"
        else:
            then = "run `sparkify infra up` again to wait for it and write sparkify.toml"
        click.echo(f"Stopped waiting. AWS keeps going with cluster {cluster_id}: {then}.", err=True)
        raise
    finally:
        if status is not None:
            status.stop()
