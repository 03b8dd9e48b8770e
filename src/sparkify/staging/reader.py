"""Parse raw JSON files into typed staging rows, accounting for every record.

Parsing runs in DuckDB (its JSON reader, not row-by-row Python) for every warehouse engine: the DuckDB
engine keeps the rows, the server engines stream them out with COPY.

What a record is and how it is typed are the record rules (:mod:`sparkify.staging.rules`). Two paths
apply them, file by file, with the same result:

* **fast path** -- DuckDB's ``read_json_objects`` reads every file in one scan, one object per line.
  Numeric fields are read as raw JSON so that a text ``ts`` or a fractional ``session_id`` is seen,
  not silently cast or rounded. Tens of thousands of tiny files (the song files) cost DuckDB a file
  open each, so files under :data:`~sparkify.staging.spool.SMALL_FILE` bytes are first concatenated into a few
  spool files (:mod:`sparkify.staging.spool`),
  each record tagged with its file. A file is staged by this path only when every one of its
  records passes :func:`~sparkify.staging.rules.fast_ok_sql` -- a test that accepts nothing the
  rules would reject or type differently.
* **precise path** -- every other file (a bad or suspicious record, objects spread over lines, a
  byte DuckDB's reader treats differently) is framed and typed record by record in Python by the
  rules themselves, so every bad record is named by file, line, field and reason, and every good
  one is kept (:mod:`sparkify.staging.precise`). Other files stay on the fast path: one bad line
  costs its own file, not the run.

For each file, ``read == staged + rejected`` (:mod:`sparkify.staging.results`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sparkify.quoting import literal
from sparkify.schema import Table
from sparkify.sources import CorruptFileError, Kind, Source, SourceFile
from sparkify.staging.precise import _PreciseReader
from sparkify.staging.results import FileCount, ReadResult, drop_result
from sparkify.staging.rules import (
    DEFAULT_RULES,
    TABLE_FOR,
    RecordRules,
    fast_ok_sql,
    suspect_sql,
    typed_sql,
)
from sparkify.staging.spool import (
    BOM,
    DUCKDB_TYPE,
    IS_OBJECT,
    JSON_WS,
    KEYS_UNIQUE,
    KNOWN_KEYS,
    MAX_LINE_BYTES,
    NOT_JSON_WHITESPACE,
    RECORD_BYTES,
    RECORD_OK,
    RECORD_SOURCE,
    SMALL_FILE,
    SOURCE_KEY,
    SPOOL_BATCH,
    SUSPECT,
    _count_records,
    _fast_cast,
    _lines_fit,
    _looks_plain,
    _read_all,
    _readable_in_place,
    _sql_list,
    _tag,
)

_SCAN_OPTIONS = (
    "format = 'newline_delimited', filename = true, ignore_errors = true, "
    # the bytes as they are: DuckDB would pick a decompression from a name (.bz2, .xz, .zip...)
    f"compression = 'none', maximum_object_size = {MAX_LINE_BYTES * 2}"
)
"""How the fast path's ``read_json_objects`` reads the files in place and the spool files: one
object per line, each row with its file, a line DuckDB cannot parse as NULL."""


PROGRESS_SECONDS = 0.25
"""How often the fast path's scan asks DuckDB how far it has got (see :meth:`JsonReader._scan`)."""


def quoted(name: str | None) -> str:
    return f'"{name}"'


def _raw_name(key: str | None) -> str:
    """The column holding a numeric field's JSON text in the fast path's scan."""
    return quoted(f"__sparkify_raw_{key}")


def _name_sql(paths: dict[str, str | None]) -> str:
    """SQL (DuckDB) over a scan's ``filename``, for the paths that stand for one file each (not the
    spool files of many): that file's name. A local file's name is its path, so nearly always no
    lookup is needed; otherwise a CASE over every path."""
    if all(n == p for p, n in paths.items() if n is not None):
        return "filename"
    mapping = " ".join(f"when {literal(p)} then {literal(n)}" for p, n in paths.items() if n is not None)
    return f"case filename {mapping} end"


class JsonReader:
    """Reads one kind of file into a DuckDB table. ``con`` is any DuckDB connection.

    ``spool_dir`` is a scratch folder (spool files, the precise path's rows); ``progress`` is told
    (files, bytes) as files are read; ``rules`` bound the plausible event times.
    """

    def __init__(
        self,
        con,
        spool_dir: Path,
        progress: Callable[[int, int], None] | None = None,
        rules: RecordRules = DEFAULT_RULES,
    ):
        self.con = con
        self.spool_dir = Path(spool_dir)
        self.rules = rules
        self._report = progress or (lambda files, nbytes: None)

    def progress(self, files: list[SourceFile]) -> None:
        """Report ``files`` as read (each file is reported once, whichever path reads it)."""
        if files:
            self._report(len(files), sum(f.size for f in files))

    # -- public -----------------------------------------------------------------------------------

    def read(self, kind: Kind, source: Source, files: list[SourceFile], table: str) -> ReadResult:
        """Read ``files`` into the DuckDB relation ``table`` (replaced): a view of the staging
        columns plus ``source_file``, one row per staged record. Never drops a record: each is
        staged or in the result's rejects. Errors other than bad input (I/O, interrupts) propagate."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        drop_result(self.con, table)
        precise = _PreciseReader(kind, self.rules, self.spool_dir / f"{kind}-precise.ndjson")
        try:
            result, refused = self._fast(kind, source, files, table, precise)
            later = [f for f in files if f.name in refused]
            if later:  # read again: the scan kept no bytes
                with closing(_read_all(source, later)) as contents:
                    for f, data in contents:
                        precise.add(f, data)
            result.files.update(precise.counts)
            result.files = {f.name: result.files[f.name] for f in files}  # in the order listed
            result.rejects = precise.rejects
            for key, n in precise.unknown_fields.items():
                result.unknown_fields[key] = result.unknown_fields.get(key, 0) + n
            result.precise_files = len(precise.counts)
            self._finish(kind, table, precise)
        finally:
            precise.close()
        return result

    # -- fast path --------------------------------------------------------------------------------

    def _fast(self, kind, source, files, table, precise: _PreciseReader) -> tuple[ReadResult, set[str]]:
        """Scan, in one DuckDB query, every file that is one object per line; hand the rest to
        ``precise`` (at once when spooling shows it, else by name in the returned set, for the
        caller to read again). Leaves ``{table}__fast``: a view of the typed rows of the files
        whose every record the fast path may stage; the result counts those files."""
        spec = TABLE_FOR[kind]
        result = ReadResult(kind, table)
        refused: set[str] = set()
        direct: list[SourceFile] = []
        spooled: list[SourceFile] = []
        for f in files:
            (direct if _readable_in_place(f) and _looks_plain(f.path) else spooled).append(f)
        # path DuckDB reads -> the one file it stands for (None: a spool file of many, tagged)
        paths: dict[str, str | None] = {f.path: f.name for f in direct if f.path is not None}
        expected: dict[str, int] = {}
        """Records Python counted per spooled file."""
        read_from = {f.name: f.path for f in direct if f.path is not None}
        """The path DuckDB reads each file's records from."""
        for path, members, whole in self._spool(kind, source, spooled, precise):
            paths[str(path)] = whole
            expected.update(members)
            read_from.update((name, str(path)) for name, _ in members)
        fast_view, raw, refused_table = f"{table}__fast", f"{table}__raw", f"{table}__refused"
        self.con.execute(f"create or replace temp table {refused_table} (name varchar)")
        if not paths:
            self._create_empty(spec, fast_view)
            return result, refused

        # One scan parses every record and notes, per record, whether the rules would stage it
        # exactly as DuckDB types it. Numeric fields stay raw JSON here so a text ts or a
        # fractional id is seen, not silently cast or rounded. Lines DuckDB cannot parse come back
        # as NULL (ignore_errors): their file goes to the precise path.
        struct = json.dumps(
            {c.source: ("VARCHAR" if c.type == "text" else "JSON") for c in spec.record_columns}
            | {SOURCE_KEY: "VARCHAR"}
        )
        columns = [c.source for c in spec.record_columns if c.source is not None]
        by_path = _name_sql(paths)
        # Only a spool file's records carry the file tag: in a file read in place that key is the
        # record's own (an unknown field), never the name of a file.
        spools = [p for p, n in paths.items() if n is None]
        is_spool = f"filename in ({', '.join(literal(p) for p in spools)})" if spools else "false"
        numeric = [c for c in spec.record_columns if c.type != "text"]
        ok = fast_ok_sql(
            kind,
            self.rules,
            json_col="json",
            record_bytes=RECORD_BYTES,
            is_object=IS_OBJECT,
            keys_unique=KEYS_UNIQUE,
            suspect=SUSPECT,
            raw_of=_raw_name,
        )
        # A record with exactly the staging columns' keys (and the spool's file tag) -- nearly all
        # of them -- has every key once and no other: the costlier checks are for the rest.
        # First the keys in the staging columns' order (a list compared whole, cheaply), then any order.
        complete = (
            f"case when keys = {_sql_list(columns)} then true "
            f"when keys = {_sql_list([SOURCE_KEY, *columns])} then {is_spool} "
            f"else ((len(keys) = {len(columns)} and list_has_all(keys, {_sql_list(columns)})) "
            f"or ({is_spool} and len(keys) = {len(columns) + 1} "
            f"and list_has_all(keys, {_sql_list([*columns, SOURCE_KEY])}))) end"
        )
        # Each numeric field typed once from its JSON text; the text is kept for the checks.
        typed = ", ".join(f"{typed_sql(c, quoted(c.source))} as {quoted(c.source)}" for c in numeric)
        raws = ", ".join(f"{quoted(c.source)} as {_raw_name(c.source)}" for c in numeric)
        kept = ", ".join(quoted(c.source) for c in spec.record_columns)
        self._scan(
            direct,
            f"create or replace temp table {raw} as "
            f"select {kept}, {KNOWN_KEYS}, coalesce({ok}, false) as {RECORD_OK}, "
            f'case when {is_spool} then "{SOURCE_KEY}" else {by_path} end as {RECORD_SOURCE} '
            f"from (select * replace ({typed}), {raws} "
            f"from (select unnest(json_transform(case when {IS_OBJECT} then json end, {literal(struct)})), "
            f"json, {IS_OBJECT}, {KNOWN_KEYS}, {KEYS_UNIQUE}, {SUSPECT}, {RECORD_BYTES}, filename "
            f"from (select json, {IS_OBJECT}, {RECORD_BYTES}, filename, "
            # CASE, not OR: DuckDB computes only the rows a branch is for
            f"case when complete then true when {is_spool} then list_has_all({_sql_list([*columns, SOURCE_KEY])}, keys) "
            f"else list_has_all({_sql_list(columns)}, keys) end "
            f"as {KNOWN_KEYS}, "
            f"case when complete then true else len(keys) = list_unique(keys) end as {KEYS_UNIQUE}, "
            f"{suspect_sql('json', 'complete')} as {SUSPECT} "
            f"from (select *, {complete} as complete "
            f"from (select *, case when {IS_OBJECT} then json_keys(json) end as keys "
            # a line DuckDB parsed (json not NULL) that starts with { is an object: no second parse
            f"from (select json, coalesce(case when starts_with(json, '{{') then true "
            f"else starts_with(ltrim(json, {literal(JSON_WS)}), '{{') end, false) as {IS_OBJECT}, "
            f"strlen(json) as {RECORD_BYTES}, filename "
            f"from read_json_objects({_sql_list(paths)}, {_SCAN_OPTIONS})))))))",
        )
        # Files left to the precise path: any record the fast path is not sure of. A line DuckDB
        # could not parse in a spool file of many carries no file name: that file's count falls short.
        refused.update(
            name
            for (name,) in self.con.execute(
                f"select distinct {RECORD_SOURCE} from {raw} where not {RECORD_OK} and {RECORD_SOURCE} is not null"
            ).fetchall()
        )
        per_file = dict(
            self.con.execute(
                f"select {RECORD_SOURCE}, count(*) from {raw} where {RECORD_SOURCE} is not null group by all"
            ).fetchall()
        )
        refused.update(name for name, n in expected.items() if per_file.get(name, 0) != n)
        for name in [*(f.name for f in direct), *expected]:
            if name not in refused:
                n = per_file.get(name, 0)
                result.files[name] = FileCount(read=n, staged=n)
        if refused:
            self.con.executemany(f"insert into {refused_table} values (?)", [[n] for n in sorted(refused)])
        # A view, not a copy: the rows are typed once, on their way into the warehouse.
        select = ", ".join(_fast_cast(c) for c in spec.record_columns)
        # (with no file refused every row is staged: no anti-join for the insert to run)
        keep = f"not in (select name from {refused_table})" if refused else "is not null"
        self.con.execute(
            f"create or replace temp view {fast_view} as select {select}, {RECORD_SOURCE} as source_file from {raw} "
            f"where {RECORD_SOURCE} {keep}"
        )
        result.unknown_fields = self._unknown_fields(kind, raw, by_path, is_spool, refused_table, read_from)
        return result, refused

    def _scan(self, files: list[SourceFile], sql: str) -> None:
        """Run the fast path's scan ``sql`` (one statement: seconds to minutes for millions of events),
        reporting ``files`` (those it reads in place) as read while it runs: as many of them, in order,
        as DuckDB's progress through the statement says (polled from a thread, every
        :data:`PROGRESS_SECONDS`), then the rest when it ends. Without it the bar stood still for the
        longest step of a load. Each file is reported once; the counts are exact once the scan ends."""
        import threading

        reported = 0
        ended = threading.Event()

        def report_until(n: int) -> None:
            nonlocal reported
            if n > reported:
                self.progress(files[reported:n])
                reported = n

        def poll() -> None:
            while not ended.wait(PROGRESS_SECONDS):
                try:
                    share = self.con.query_progress()  # percent, or -1 while DuckDB cannot tell
                except Exception:  # the connection is busy ending the statement: next time
                    continue
                if share > 0:
                    report_until(min(len(files) - 1, int(len(files) * share / 100)))

        # DuckDB keeps its progress only with the progress bar on (never printed here)
        self.con.execute("set enable_progress_bar_print = false")
        self.con.execute("set enable_progress_bar = true")
        watcher = threading.Thread(target=poll, name="sparkify-scan-progress", daemon=True)
        watcher.start()
        try:
            self.con.execute(sql)
        finally:
            ended.set()
            watcher.join()
        report_until(len(files))

    def _unknown_fields(
        self, kind: str, raw: str, by_path: str, is_spool: str, refused_table: str, read_from: dict[str, str]
    ) -> dict[str, int]:
        """Keys of the fast path's staged records that no staging column takes: {key: records
        that have it}. The scan noted which records have any; only when some do are keys counted."""
        names = self.con.execute(
            f"select distinct {RECORD_SOURCE} from {raw} where not {KNOWN_KEYS} and {RECORD_OK} "
            f"and {RECORD_SOURCE} not in (select name from {refused_table})"
        ).fetchall()
        paths = sorted({read_from[name] for (name,) in names})
        if not paths:
            return {}
        known = [c.source for c in TABLE_FOR[kind].record_columns if c.source is not None]
        rows = self.con.execute(
            f"select key, count(*) from (select unnest(json_keys(json)) as key, "
            f"case when {is_spool} then json_extract_string(json, '$.{SOURCE_KEY}') else {by_path} end as src, "
            f"{is_spool} as spooled "
            f"from read_json_objects({_sql_list(paths)}, {_SCAN_OPTIONS}) where json is not null) "
            f"where not list_contains({_sql_list(known)}, key) and not (spooled and key = {literal(SOURCE_KEY)}) "
            f"and src not in (select name from {refused_table}) "
            f"group by key order by key"
        ).fetchall()
        return dict(rows)

    def _spool(self, kind, source, files: list[SourceFile], precise: _PreciseReader):
        """Write the files DuckDB cannot read in place into spool files.

        Yields (spool path, [(file name, records)], the one file it holds or None). Files under
        :data:`SMALL_FILE` bytes are concatenated, each record tagged with its file (see
        :func:`_tag`); a larger (remote or compressed) file gets a spool file of its own. A file
        that is not one object per line, or that cannot be read whole, goes to ``precise`` now.
        """
        if not files:
            return
        batch_no = 0
        out = None
        size = 0
        members: list[tuple[str, int]] = []
        # Closing the reads (on an error here or in a read) cancels those still queued.
        with closing(_read_all(source, files)) as contents:
            for f, data in contents:
                self.progress([f])
                if isinstance(data, CorruptFileError) or any(b in data for b in NOT_JSON_WHITESPACE):
                    precise.add(f, data)
                    continue
                whole = data  # the precise path is given the file as it is: it drops the mark itself
                if data.startswith(BOM):
                    data = data[len(BOM) :]
                if data.startswith(BOM):  # a second mark: a rejected record, which DuckDB would drop
                    precise.add(f, whole)
                    continue
                if len(data) >= SMALL_FILE:
                    if not _lines_fit(data):  # a line DuckDB's reader would fail the scan on
                        precise.add(f, whole)
                        continue
                    if data and not data.endswith(b"\n"):
                        data += b"\n"
                    path = self.spool_dir / f"{kind}-{batch_no:05d}.ndjson"
                    batch_no += 1
                    path.write_bytes(data)
                    yield path, [(f.name, _count_records(data))], f.name
                    continue
                tagged = _tag(data, f.name)
                if tagged is None:  # not one object per line: objects over several lines, an array...
                    precise.add(f, whole)
                    continue
                records, text = tagged
                if out is None:
                    path = self.spool_dir / f"{kind}-{batch_no:05d}.ndjson"
                    out = open(path, "wb")  # noqa: SIM115 -- a spool file filled across iterations, closed below
                    batch_no += 1
                out.write(text)
                members.append((f.name, records))
                size += len(text)
                if size >= SPOOL_BATCH:
                    out.close()
                    yield out.name, members, None
                    out, size, members = None, 0, []
            if out is not None:
                out.close()
                yield out.name, members, None

    # -- result -----------------------------------------------------------------------------------

    def _finish(self, kind: str, table: str, precise: _PreciseReader) -> None:
        """``table``: the fast path's rows and the precise path's, one relation."""
        spec = TABLE_FOR[kind]
        fast_view = f"{table}__fast"
        precise_table = f"{table}__precise"
        precise.close()
        if precise.staged:
            columns = ", ".join(f"{literal(c.name)}: '{DUCKDB_TYPE[c.type]}'" for c in spec.record_columns)
            columns += ", 'source_file': 'VARCHAR'"
            self.con.execute(
                f"create or replace temp table {precise_table} as select * from read_json("
                f"{literal(str(precise.path))}, columns = {{{columns}}}, format = 'newline_delimited', "
                f"maximum_object_size = {MAX_LINE_BYTES * 2})"
            )
        else:
            self._create_empty(spec, precise_table)
        names = ", ".join([c.name for c in spec.record_columns] + ["source_file"])
        precise_rows = f" union all select {names} from {precise_table}" if precise.staged else ""
        self.con.execute(
            f"create or replace temp view {table} as select {names} from {fast_view}{precise_rows}"
        )

    def _create_empty(self, spec: Table, table: str) -> None:
        cols = (
            ", ".join(f"{c.name} {DUCKDB_TYPE[c.type]}" for c in spec.record_columns)
            + ", source_file VARCHAR"
        )
        self.con.execute(f"create or replace temp table {table} ({cols})")
