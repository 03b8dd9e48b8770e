"""``sparkify generate``: deterministic synthetic input in the real layout."""

from __future__ import annotations

import time
from pathlib import Path

import click

from sparkify.cli import options
from sparkify.cli.app import cli
from sparkify.console import make_console


@cli.command("generate")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write into."
)
@click.option("--events", type=int, default=10_000, show_default=True, help="Number of log events.")
@click.option("--songs", type=int, default=1_000, show_default=True, help="Number of song files.")
@click.option("--users", type=int, default=100, show_default=True, help="Number of users.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same seed, same files.")
@options.common_options
def generate_cmd(out, events, songs, users, seed):
    """Write deterministic synthetic data in the real layout and format.

    One JSON object per song file under song_data/A/B/C/, one NDJSON file per day under
    log_data/YYYY/MM/, with the real data's quirks.

    \b
    Example:
      sparkify generate --out /tmp/synthetic --events 1000000 --songs 20000
      sparkify run --source /tmp/synthetic --warehouse duckdb:////tmp/synthetic.duckdb
    """
    from sparkify.generate import generate

    for name, value in (("--events", events), ("--songs", songs), ("--users", users)):
        if value < 1:
            raise click.BadParameter(f"must be at least 1, got {value}", param_hint=name)
    console = make_console()
    started = time.perf_counter()
    with options.progress(console) as progress:
        report = generate(out, events=events, songs=songs, users=users, seed=seed, progress=progress)
    console.print(
        f"Wrote {report.song_files} song files and {report.log_files} log files "
        f"({report.events} events) and log_json_path.json to {out} in {time.perf_counter() - started:.1f}s"
    )
