"""What a run will do and what it did: the per-kind :class:`FilePlan` (which files to read, which
are unchanged, absent or emptied, from the ledger), :func:`_plan` that makes it, and the reports
:class:`StageReport` and :class:`RunReport` a load returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from sparkify import ledger, quality
from sparkify.schema import (
    FILE_KINDS,
)
from sparkify.sources import Kind, Source, SourceFile
from sparkify.staging.results import ReadResult, Reject, Totals
from sparkify.staging.rules import DEFAULT_RULES, RecordRules
from sparkify.warehouse.base import Warehouse, quote
from sparkify.wording import agree, plural

KINDS = cast("tuple[Kind, ...]", tuple(FILE_KINDS))


STAGING_OF = {name: kind.staging.name for name, kind in FILE_KINDS.items()}


@dataclass
class FilePlan:
    """What staging does with one kind of file on this run."""

    kind: str
    listed: list[SourceFile]
    """The files in the source (a :class:`~sparkify.sources.Listing`: it also counts what it passed over)."""
    to_read: list[SourceFile]
    new: int = 0
    changed: int = 0
    absent: list[str] = field(default_factory=list)
    """Files in the ledger (loaded by an earlier run) that are no longer in the source."""
    absent_rows: int = 0
    """Staging rows of the :attr:`absent` files, as the ledger counts them."""
    emptied: list[str] = field(default_factory=list)
    """The :attr:`absent` files that are still in the source but hold no record now: zero bytes, or
    only whitespace (an export that failed). Kept or pruned like a file gone from the source."""
    emptied_rows: int = 0
    """Staging rows of the :attr:`emptied` files, as the ledger counts them."""
    rejected_only: list[str] = field(default_factory=list)
    """The :attr:`emptied` files read this run whose every record was rejected (a failed export that
    wrote an error page, a gzip file cut short): the same accident as an empty file, held like one."""
    rejected_only_rows: int = 0
    """Staging rows of the :attr:`rejected_only` files, as the ledger counts them."""
    redelivered: set[str] = field(default_factory=set, repr=False)
    """Files loaded earlier whose bytes differ now (another version or size than their ledger entry,
    or checksum): only such a file can be held as :attr:`rejected_only` -- one read again under other
    ``ts_min``/``ts_max`` whose records the new bounds all reject leaves, as those settings say."""
    ledger_rows: dict[str, int] = field(default_factory=dict, repr=False)
    """File -> the staging rows its ledger entry counts (files loaded earlier)."""
    prune: bool = False
    """True: the absent files' rows leave staging. False: they stay."""
    full_refresh: bool = False
    hashes: dict[str, str] = field(default_factory=dict)
    """With --verify-content: file -> ``sha256:<hex>`` of its bytes, recorded in the ledger."""
    repair: bool = False
    """True when staging did not hold the rows the ledger says (rows deleted by hand, an UNLOGGED table
    emptied by a crash): every file in the source is reloaded, as with ``full_refresh``."""
    lost: list[str] = field(default_factory=list)
    """On a repair: files loaded earlier, no longer in the source (or now empty), whose rows are gone
    from staging too: nothing can reload them, and their ledger entries are dropped."""
    lost_rows: int = 0
    """The staging rows the ledger counted for the :attr:`lost` files."""
    rules: str | None = None
    """The settings this run types the records under (:meth:`RecordRules.applied`), recorded with
    each file it reads."""
    rules_changed: list[str] = field(default_factory=list)
    """Unchanged files read again because they were loaded under other settings (``ts_min``,
    ``ts_max``): what they stage may differ now."""
    unverified: list[str] = field(default_factory=list)
    """With --verify-content: files of the same version and size as loaded, read again because their
    ledger entry holds no checksum yet (loaded without the flag): not known to have changed."""

    @property
    def held_empty(self) -> list[str]:
        """The :attr:`emptied` files still listed (not zero bytes: only whitespace), whose rows stay
        (not the :attr:`rejected_only` ones)."""
        if not self.emptied:
            return []
        return sorted(set(self.emptied).intersection(f.name for f in self.listed) - set(self.rejected_only))

    @property
    def unchanged(self) -> int:
        return len(self.listed) - len(self.to_read) - len(self.held_empty) - len(self.rejected_only)

    def hold_emptied(self, result: ReadResult) -> None:
        """After reading: a file loaded earlier (with staged rows) that now stages no record -- only
        whitespace, or only records that are rejected (:attr:`rejected_only`) -- is the same accident
        as a zero-byte file. It leaves :attr:`to_read` and joins :attr:`absent` and :attr:`emptied`:
        its rows and ledger entry stay unless ``prune``."""
        held = [
            f
            for f in self.to_read
            if self.ledger_rows.get(f.name, 0) > 0
            and f.name in result.files
            and result.files[f.name].staged == 0
            and (result.files[f.name].read == 0 or f.name in self.redelivered)
        ]
        if not held:
            return
        names = {f.name for f in held}
        rejected = sorted(n for n in names if result.files[n].read > 0)
        self.rejected_only = rejected
        self.rejected_only_rows = sum(self.ledger_rows[n] for n in rejected)
        self.to_read = [f for f in self.to_read if f.name not in names]
        rows = sum(self.ledger_rows[n] for n in names)
        self.absent = sorted({*self.absent, *names})
        self.emptied = sorted({*self.emptied, *names})
        self.absent_rows += rows
        self.emptied_rows += rows
        if self.full_refresh:
            self.new -= len(held)
        else:
            self.changed -= len(names - set(self.rules_changed) - set(self.unverified))
            self.rules_changed = [n for n in self.rules_changed if n not in names]
            self.unverified = [n for n in self.unverified if n not in names]

    def history_summary(self) -> str | None:
        """What happens to the files loaded earlier and no longer in the source or now empty, one line
        each; None if there are none. ``events: 1 file loaded earlier is now empty: its 15 records are
        kept (pass --prune to remove them)``; ``events: --prune removed 1 file no longer in the source,
        and its 15 records``."""
        lines = []
        gone, gone_rows = len(self.absent) - len(self.emptied), self.absent_rows - self.emptied_rows
        broken, broken_rows = len(self.rejected_only), self.rejected_only_rows
        for n, rows, what in (
            (gone, gone_rows, "no longer in the source"),
            (len(self.emptied) - broken, self.emptied_rows - broken_rows, "now empty"),
            (broken, broken_rows, "now rejected whole"),
        ):
            if not n:
                continue
            its, records = ("its" if n == 1 else "their"), plural(rows, "record")
            if not rows:  # every record of them was rejected: only their ledger entries are kept
                staged = f"{agree(n, 'it', 'they')} had staged no record"
                if self.prune:
                    lines.append(f"{self.kind}: --prune removed {plural(n, 'file')} {what} ({staged})")
                else:
                    lines.append(
                        f"{self.kind}: {plural(n, 'file')} loaded earlier {agree(n, 'is', 'are')} {what} "
                        f"({staged}; pass --prune to forget {agree(n, 'it', 'them')})"
                    )
            elif self.prune:
                lines.append(f"{self.kind}: --prune removed {plural(n, 'file')} {what}, and {its} {records}")
            else:
                lines.append(
                    f"{self.kind}: {plural(n, 'file')} loaded earlier {agree(n, 'is', 'are')} {what}: "
                    f"{its} {records} {agree(rows, 'is', 'are')} kept "
                    f"(pass --prune to remove {agree(rows, 'it', 'them')})"
                )
        if self.lost:
            n = len(self.lost)
            lines.append(
                f"{self.kind}: {plural(n, 'file')} loaded earlier and no longer in the source "
                f"lost {'its' if n == 1 else 'their'} {plural(self.lost_rows, 'record')} from staging outside "
                f"sparkify: nothing can reload {agree(n, 'it', 'them')}, and {agree(n, 'its ledger entry is', 'their ledger entries are')} "
                f"dropped ({', '.join(self.lost[:3])}{', ...' if n > 3 else ''})"
            )
        return "\n".join(lines) or None

    @property
    def removed(self) -> list[str]:
        """The absent files whose rows this run removes (only with ``prune``)."""
        return self.absent if self.prune else []

    @property
    def starts_empty(self) -> bool:
        """True when staging holds no row of this kind once the run's deletes are done, before its
        rows are added: a first load (the ledger counts no staged row, and planning found staging to
        agree), or a full refresh that keeps no absent file's rows."""
        if self.full_refresh:
            return not self.kept
        return not any(self.ledger_rows.values())

    @property
    def kept(self) -> list[str]:
        """The absent files whose rows stay in staging (without ``prune``)."""
        return [] if self.prune else self.absent

    @property
    def bytes_to_read(self) -> int:
        """Bytes of the files this run reads (as stored: compressed files count compressed)."""
        return sum(f.size for f in self.to_read)


@dataclass
class StageReport(Totals):
    """What staging read and loaded, per kind of file."""

    load_id: str = ""
    plans: dict[str, FilePlan] = field(default_factory=dict)
    results: dict[str, ReadResult] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows now in each staging table."""
    read_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds spent reading and checking each kind of file."""
    seconds: float = 0.0
    incremental: bool = False
    """True when the run's transform updated the star tables from the changed rows only."""
    upgraded: list[str] = field(default_factory=list)
    """What upgrading bookkeeping tables made by an earlier sparkify did before this run (see
    :func:`sparkify.ledger.upgrade`); empty when they were current."""

    def parts(self) -> Iterable[ReadResult]:
        """The result of each kind of file read."""
        return self.results.values()

    @property
    def rejects(self) -> list[Reject]:
        return [rej for r in self.results.values() for rej in r.rejects]

    @property
    def unknown_fields(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results.values():
            for k, n in r.unknown_fields.items():
                out[k] = out.get(k, 0) + n
        return out


@dataclass
class RunReport:
    source: str
    warehouse: str
    load_id: str = ""
    created: list[str] = field(default_factory=list)
    stage: StageReport | None = None
    rows: dict[str, int] = field(default_factory=dict)
    """Rows in each star table after the transform."""
    checks: list[quality.CheckResult] = field(default_factory=list)
    checks_scoped: bool = False
    """True: the checks covered only the rows this incremental run added or changed (``sparkify
    check`` covers every row); False: every row."""
    seconds: float = 0.0
    schema: str | None = None
    """The database schema the tables are in (PostgreSQL, Redshift); None for DuckDB."""

    @property
    def checks_failed(self) -> list[quality.CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def destination(self) -> str:
        """Where the run loaded, for people: ``postgresql://me@host/db (schema sparkify)``."""
        return f"{self.warehouse} (schema {self.schema})" if self.schema else self.warehouse


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _plan(
    wh: Warehouse,
    src: Source,
    kind: Kind,
    full_refresh: bool,
    prune: bool = False,
    verify_content: bool = False,
    rules: RecordRules = DEFAULT_RULES,
) -> FilePlan:
    """Which files of ``kind`` this run reads, and what it does with files gone from the source.

    A file is read when it is new or changed: another version (mtime, ETag) or size than its ledger
    entry, or with ``verify_content`` another checksum (:func:`is_changed`) -- or when it was loaded
    under other settings than ``rules`` (``ts_min``/``ts_max``), which may stage other records of it.
    (Files gone from the source keep the rows they were loaded with: nothing can read them again.)"""
    listed = src.list(kind)
    entries = ledger.entries(wh, kind)
    known_files = {
        e.file: (e.version, e.size, e.content_hash) for e in entries
    }  # file -> (version, size, hash)
    applied = rules.applied(kind)
    # the settings each file was typed under; an entry from before they were recorded: the defaults
    known_rules = {e.file: e.rules if e.rules is not None else DEFAULT_RULES.applied(kind) for e in entries}
    known_rows = {e.file: int(e.records_staged or 0) for e in entries}
    names = {f.name for f in listed}
    absent = sorted(n for n in known_files if n not in names)
    absent_rows = sum(known_rows[n] for n in absent)
    zero_bytes = set(getattr(listed, "empty", ()))
    emptied = [n for n in absent if n in zero_bytes]  # still there, but zero bytes now
    emptied_rows = sum(known_rows[n] for n in emptied)
    repair = False
    if not full_refresh:
        # Staging must hold exactly the rows the ledger says it does; if not (rows deleted by hand,
        # an UNLOGGED table emptied by a server crash), trust nothing and reload every file.
        _, staged = wh.query(f"select count(*) from {wh.qualified(STAGING_OF[kind])}")
        expected = sum(e.records_staged for e in entries)
        if int(staged[0][0]) != expected:
            full_refresh = repair = True
    lost: list[str] = []
    if repair and absent:  # what staging really holds of the files it cannot reload
        held = _staged_rows(wh, kind, absent)
        lost = [n for n in absent if held.get(n, 0) == 0 and known_rows[n] > 0]
        absent = [n for n in absent if n not in lost]
        emptied = [n for n in emptied if n not in lost]
        absent_rows = sum(held.get(n, 0) for n in absent)
        emptied_rows = sum(held.get(n, 0) for n in emptied)
    hashes = {f.name: content_hash(f) for f in listed if f.path is not None} if verify_content else {}
    redelivered = {
        f.name
        for f in listed
        if f.name in known_files
        and is_changed(known_files[f.name], f, hashes.get(f.name))
        and not (known_files[f.name][2] is None and not is_changed(known_files[f.name], f, None))
    }
    if full_refresh:
        return FilePlan(
            kind,
            listed,
            list(listed),
            new=len(listed),
            absent=absent,
            absent_rows=absent_rows,
            prune=prune,
            full_refresh=True,
            repair=repair,
            lost=lost,
            lost_rows=sum(known_rows[n] for n in lost),
            hashes=hashes,
            emptied=emptied,
            emptied_rows=emptied_rows,
            ledger_rows=known_rows,
            rules=applied,
            redelivered=redelivered,
        )
    plan = FilePlan(
        kind, listed, [], absent=absent, absent_rows=absent_rows, prune=prune, hashes=hashes, rules=applied
    )
    plan.emptied, plan.emptied_rows, plan.ledger_rows = emptied, emptied_rows, known_rows
    plan.redelivered = redelivered
    for f in listed:
        known = known_files.get(f.name)
        if known is None:
            plan.new += 1
            plan.to_read.append(f)
        elif is_changed(known, f, hashes.get(f.name)):
            if known[2] is None and not is_changed(known, f, None):  # no checksum to compare with
                plan.unverified.append(f.name)
            else:
                plan.changed += 1
            plan.to_read.append(f)
        elif known_rules[f.name] != applied:
            plan.rules_changed.append(f.name)
            plan.to_read.append(f)
    return plan


def _staged_rows(wh: Warehouse, kind: Kind, files: list[str]) -> dict[str, int]:
    """File -> the staging rows of ``kind`` it has now (files with none left out)."""
    table, column = wh.qualified(STAGING_OF[kind]), quote("source_file")
    out: dict[str, int] = {}
    for marks, chunk in wh.bound_chunks(files):
        _, rows = wh.query(
            f"select {column}, count(*) from {table} where {column} in ({marks}) group by 1", chunk
        )
        out.update((name, int(n)) for name, n in rows)
    return out


def is_changed(known: tuple, f: SourceFile, digest: str | None) -> bool:
    """Whether a file differs from its ledger entry ``(version, size, content_hash)``: another
    version (mtime, ETag) or another size -- a corrected file copied with its timestamp kept
    (``cp -p``, ``rsync -t``, ``tar x``) mostly changes size -- or, with ``--verify-content``
    (``digest`` given), another checksum or none recorded yet."""
    version, size, recorded = known
    if version != f.version or (size is not None and int(size) != f.size):
        return True
    return digest is not None and digest != recorded


def content_hash(f: SourceFile) -> str:
    """``sha256:<hex>`` of a local file's bytes as stored (``--verify-content``)."""
    import hashlib

    digest = hashlib.sha256()
    assert f.path is not None  # only local files are hashed
    with open(f.path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()
