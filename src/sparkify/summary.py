"""Machine-readable summaries of a command's outcome (``--json``): plain dicts of JSON types.

Shape (every key always present for its command; counts are integers, times seconds as floats)::

    {"command": "run", "status": "ok" | "checks_failed" | "failed" | "interrupted",
     "exit_code": 0, "load_id": "…" | null, "source": "…" | null, "warehouse": "… (password masked)",
     "schema": "sparkify" | null,                  # PostgreSQL and Redshift: the schema; DuckDB: null
     "staged": {"songs": {"files_read": 1, "records_read": 1, "staged": 1, "rejected": 0,
                          "files_removed": 0}, …},      # files_removed: their rows left with --prune
     "upgraded": ["load_runs.prune added", …],      # bookkeeping tables upgraded in place by this run
     "rejects": ["file:line: reason", …],          # the first 10 (load_errors holds every one);
                                                   # every one when the load failed (nothing kept them)
     "rejected_records": [{"file": "…", "line": 3, "field": "ts" | null, "reason": "…"}, …],
                                                   # the same rejects, one object each (line null:
                                                   # the whole file)
     "tables": {"users": 97, …},                   # star tables (run, transform) and staging (stage)
     "checks": {"passed": 26, "failed": 0, "failures": [{"name": "…", "offending": 3}], "scope": "all"},
     "timings": {"stage songs": 0.7, "stage events": 0.2, "total": 3.2},
     "error": null | "one line"}

Imports nothing that prints.
"""

from __future__ import annotations

import json
from typing import Any

from sparkify.errors import ExitCode

SHOWN_REJECTS = 10


def empty(command: str) -> dict[str, Any]:
    """The summary skeleton of ``command``: every key present, nothing known yet."""
    return {
        "command": command,
        "status": "ok",
        "exit_code": 0,
        "load_id": None,
        "source": None,
        "warehouse": None,
        "schema": None,
        "staged": {},
        "upgraded": [],
        "rejects": [],
        "rejected_records": [],
        "tables": {},
        "checks": None,
        "timings": {},
        "error": None,
    }


SUMMARY_COMMANDS = ("run", "stage", "transform", "check")
"""The commands whose --json prints this summary."""


def early(argv: list[str]) -> dict[str, Any] | None:
    """The summary skeleton of a command line that asks for it (``run --json ...``), read from the
    words alone -- for an outcome that comes before the options are parsed (a usage error, a signal
    in the first moments), which must still print its JSON line. None when it does not ask."""
    words = [a for a in argv if not a.startswith("-")]  # the group's own options are flags
    if "--json" not in argv or not words or words[0] not in SUMMARY_COMMANDS:
        return None
    return empty(words[0])


def add_stage(out: dict[str, Any], report, *, rolled_back: bool = False) -> dict[str, Any]:
    """Fill ``out`` from a :class:`pipeline.StageReport`. ``rolled_back``: the load failed after
    reading, so what it read and rejected is reported but nothing was staged or removed (as its
    ``load_runs`` row says)."""
    out["load_id"] = report.load_id or None
    for kind, result in report.results.items():
        out["staged"][kind] = {
            "files_read": len(result.files),
            "records_read": result.read,
            "staged": 0 if rolled_back else result.staged,
            "rejected": result.rejected,
            "files_removed": 0
            if rolled_back or kind not in report.plans
            else len(report.plans[kind].removed),
            # keys no staging column takes (ignored, as the contract says) -> records holding each
            "unknown_fields": dict(sorted(result.unknown_fields.items())),
        }
    rejects = report.rejects if rolled_back else report.rejects[:SHOWN_REJECTS]
    out["rejects"] = [str(r) for r in rejects]
    out["rejected_records"] = [
        {"file": r.source, "line": r.line, "field": r.field, "reason": r.reason} for r in rejects
    ]
    out["tables"].update({k: int(v) for k, v in report.rows.items()})
    for kind, seconds in report.read_seconds.items():
        out["timings"][f"stage {kind}"] = round(seconds, 3)
    out["timings"]["total"] = round(report.seconds, 3)
    return out


def add_checks(out: dict[str, Any], results, *, scoped: bool = False) -> dict[str, Any]:
    """Fill ``out`` from a list of :class:`quality.CheckResult`; status becomes checks_failed if any
    failed. ``scope``: ``"run"`` when ``scoped`` (the rows an incremental run added or changed), else
    ``"all"`` (every row)."""
    failed = [r for r in results if not r.passed]
    out["checks"] = {
        "passed": len(results) - len(failed),
        "failed": len(failed),
        "failures": [{"name": r.check.name, "offending": int(r.failures)} for r in failed],
        "scope": "run" if scoped else "all",
    }
    if failed and out["status"] == "ok":
        out["status"] = "checks_failed"
        out["exit_code"] = int(ExitCode.CHECKS_FAILED)
    return out


def add_run(out: dict[str, Any], report) -> dict[str, Any]:
    """Fill ``out`` from a :class:`pipeline.RunReport`."""
    if report.stage is not None:
        add_stage(out, report.stage)
    out["load_id"] = report.load_id or out["load_id"]
    out["source"] = report.source
    out["warehouse"] = report.warehouse
    out["schema"] = report.schema
    out["tables"].update({k: int(v) for k, v in report.rows.items()})
    add_checks(out, report.checks, scoped=report.checks_scoped)
    out["timings"]["total"] = round(report.seconds, 3)
    return out


def add_error(out: dict[str, Any], message: str, exit_code: int) -> dict[str, Any]:
    """Mark ``out`` as ended by an error (or a signal: exit code 130/143)."""
    out["status"] = (
        "interrupted"
        if exit_code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED, ExitCode.HANGUP)
        else "failed"
    )
    if exit_code == ExitCode.CHECKS_FAILED:
        out["status"] = "checks_failed"
    out["exit_code"] = int(exit_code)
    out["error"] = message
    return out


def dumps(out: dict[str, Any]) -> str:
    """One line of JSON. A timestamp (the bookkeeping tables keep UTC, without a zone) is written in
    ISO 8601 to the second with its zone, ``2026-12-01T06:14:58Z``: the form ``jq``'s
    ``fromdateiso8601`` reads (it refuses fractions of a second), as does ``datetime.fromisoformat``."""
    return json.dumps(out, default=_json_value, ensure_ascii=False, sort_keys=False)


def _json_value(value: Any) -> str:
    import datetime as dt

    if isinstance(value, dt.datetime):
        utc = value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
        return utc.isoformat(timespec="seconds") + "Z"
    return str(value)
