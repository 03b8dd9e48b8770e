"""Amazon Redshift: the PostgreSQL engine, overriding only what differs.

What differs, and why:

* **Staging is server-side.** ``COPY ... FROM 's3://...'`` with an IAM role loads the JSON where it
  lies; nothing goes through this machine (:attr:`copies_from_s3`).
* **Staging is incremental, through a manifest.** A run lists the source's objects and compares them
  with the ``load_files`` ledger (name and ETag), like the other engines. Then, per kind:

  - only new objects: one COPY of exactly those, named in a manifest, appended to staging;
  - an object changed, or gone with ``--prune`` (or staging disagrees with the ledger, or
    ``--full-refresh``): COPY
    cannot say which object a row came from, so the kind's staging rows and ledger entries are
    deleted and every listed object is COPYed again through one manifest -- the changed object's
    earlier rows are thereby replaced. (Logs arrive one new object per day; changes are rare.)
  - nothing new: no COPY at all.

  The manifest (``{"entries": [{"url", "mandatory": true, "meta": {"content_length"}}]}``) is
  written under ``manifest_prefix`` (default ``<source>/_sparkify/manifests/``, which the IAM role
  reads like the source; outside ``song_data/`` and ``log_data/``) and deleted after its COPY,
  failed or not. The ledger's per-object counts come from ``STL_LOAD_COMMITS`` (lines scanned per
  file of this COPY) and ``STL_LOAD_ERRORS`` (rejected records per file): read = lines scanned,
  rejected = its load errors, staged = the difference. Their sum is checked against
  ``pg_last_copy_count()``. Staging, the ledger and the star tables commit together.
  https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
  https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html
* **Keys are not enforced**, and ``songplay_id`` is an ``IDENTITY`` column. The transform therefore
  merges each star table in place (:attr:`merges_star_rows`): the rows a run computes (deduplicated
  by the window functions of the ``.sql`` files) go to a temporary table; rows of the star table
  that changed or left are deleted, new ones inserted, identical ones kept -- so a re-run changes
  nothing, not even a ``songplay_id``.
* **TRUNCATE commits the open transaction**, so tables are emptied with ``DELETE``.
* ``TEXT`` is ``VARCHAR(256)``: text columns are ``VARCHAR(65535)``; tables carry DISTSTYLE,
  DISTKEY and SORTKEY from ``schema.py``.

Driver: ``redshift_connector`` (``pip install 'sparkify[redshift]'``), AWS's own; psycopg 3 does
not support Redshift. Imported only when a connection is opened.
"""

from __future__ import annotations

import json
import os
import re
import socket
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from sparkify.errors import BadInputError, ConfigError, WarehouseError
from sparkify.quoting import literal
from sparkify.schema import STAGING_EVENTS, Table, file_kind_of
from sparkify.warehouse.base import quote
from sparkify.warehouse.postgres import PostgresWarehouse

JSON_PATHS_FILE = "log_json_path.json"
"""The JSONPaths file COPY maps event keys with, expected next to ``log_data/`` in the source prefix
(the package ships it, ``sparkify/sample/log_json_path.json``, and ``sparkify generate`` writes it)."""

SHOWN_LOAD_ERRORS = 10
"""How many rows of the load-error view a failed COPY reports."""

ROLE_PLACEHOLDER = "<--iam-role ARN>"
"""Stands for the IAM role in statements rendered without one (``sparkify sql``)."""

INSERT_HEADER = re.compile(r"^insert\s+into\s+[^(]+\([^()]*\)\s*", re.IGNORECASE | re.MULTILINE)


class RedshiftWarehouse(PostgresWarehouse):
    name: ClassVar[str] = "redshift"
    sql_dialect: ClassVar[str] = "redshift"
    sql_folders: ClassVar[tuple[str, ...]] = ("redshift", "postgres")
    type_map: ClassVar[dict[str, str]] = {
        # Redshift's TEXT is VARCHAR(256): too short for user agents; 65535 bytes is its maximum.
        # Comparison and ORDER BY are bytewise already (no collation clause needed).
        "text": "varchar(65535)",
        "integer": "integer",
        "bigint": "bigint",
        "identity": "bigint identity(0, 1)",
        "double": "double precision",
        "timestamp": "timestamp",
        "boolean": "boolean",
    }
    unlogged_staging: ClassVar[bool] = False  # Redshift has no UNLOGGED tables
    locks_with_advisory_lock: ClassVar[bool] = False
    """Redshift has no advisory locks: two runs at once meet Redshift's serializable isolation, and
    the one that loses is retried as a transient serialization failure."""
    copies_from_s3: ClassVar[bool] = True
    merges_star_rows: ClassVar[bool] = True
    truncates_in_transaction: ClassVar[bool] = False
    default_port: ClassVar[int] = 5439
    connect_timeout: ClassVar[float] = 30
    """Seconds to wait for the cluster to accept a connection; statements have no time limit."""
    label: ClassVar[str] = "Redshift"
    extra: ClassVar[str] = "redshift"
    password_from: ClassVar[str] = "the URL, SPARKIFY_REDSHIFT_PASSWORD or PGPASSWORD"

    merge_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "songplays": ("user_id", "session_id", "start_time"),
    }
    """What identifies a row when merging, where it is not the primary key. songplays' primary key
    is the IDENTITY songplay_id, which a run cannot compute; a play is matched by user, session and
    start time instead (plays sharing all three are told apart by their order within the session)."""

    copy_options: ClassVar[dict[str, str]] = {
        # staging_events: camelCase keys -> snake_case columns, through a JSONPaths file in the
        # column order. ts stays BIGINT epoch milliseconds (no TIMEFORMAT): the transform converts.
        "staging_events": "format as json '{json_paths}'",
        # staging_songs: the keys are the column names already. 'auto' matches them exactly, as
        # the client-side engines do ("Title" is an unknown key everywhere, not the title):
        # https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html
        "staging_songs": "format as json 'auto'",
    }
    """The format clause of each staging table's COPY."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        iam_role: str | None = None,
        region: str | None = None,
        manifest_prefix: str | None = None,
        connection: Any = None,
        **options: Any,
    ):
        super().__init__(url, schema=schema, connection=connection, **options)
        self.iam_role = iam_role
        self.region = region
        self.manifest_prefix = manifest_prefix.rstrip("/") if manifest_prefix else None
        """Where COPY manifests are written (``s3://bucket/prefix``); None: under the source."""

    @classmethod
    def offline(cls, *, schema: str | None = None, **options) -> RedshiftWarehouse:
        return cls("redshift://user@cluster:5439/dev", schema=schema, **options)

    # -- connection ---------------------------------------------------------------------------------

    def _connect(self):
        try:
            import redshift_connector
        except ImportError as exc:
            raise ConfigError(
                f"The Redshift engine needs redshift_connector: pip install 'sparkify[{self.extra}]'."
            ) from exc
        parts = urlsplit(self.url)
        database = parts.path.lstrip("/")
        if not parts.hostname or not database:
            raise ConfigError(
                f"Malformed Redshift URL {self.display_url}: use redshift://user[:password]@host[:5439]/database."
            )
        # the URL's password, else the one `sparkify infra up` tells users to export, else libpq's
        password = (
            unquote(parts.password)
            if parts.password
            else os.environ.get("SPARKIFY_REDSHIFT_PASSWORD") or os.environ.get("PGPASSWORD")
        )
        ssl = ssl_options(parts.query)
        try:
            # redshift_connector's ``timeout`` is the socket's, for every statement after connecting
            # too: a COPY or a transform longer than it would fail. So the server is probed with the
            # timeout, and the connection itself has none.
            socket.create_connection(
                (parts.hostname, parts.port or self.default_port), self.connect_timeout
            ).close()
            conn = redshift_connector.connect(
                host=parts.hostname,
                port=parts.port or self.default_port,
                database=unquote(database),
                user=unquote(parts.username or ""),
                password=password,
                application_name="sparkify",
                **ssl,
            )
            conn.autocommit = True  # transactions are opened by transaction(), as for PostgreSQL
            return conn
        except redshift_connector.Error as exc:
            raise self.error_for(exc, connecting=True) from exc
        except OSError as exc:  # DNS, refused, timeout
            raise self.error_for(exc, connecting=True) from exc

    def error_details(self, exc: BaseException) -> tuple[str | None, str]:
        # redshift_connector raises with the server's error fields as a dict: C = SQLSTATE, M = message
        fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else None
        if fields is not None:
            return fields.get("C"), fields.get("M", str(exc))
        if isinstance(exc, OSError) and exc.strerror:  # the connect probe: say it as the driver does
            return None, f"communication error: {exc.strerror}"
        # ('communication error', ConnectionRefusedError(111, 'Connection refused')) -> readable text
        parts = [getattr(a, "strerror", None) or str(a) for a in exc.args if str(a)]
        return None, ": ".join(parts) or type(exc).__name__

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        import redshift_connector

        return (redshift_connector.Error,)

    def _is_connection_error(self, exc: BaseException) -> bool:
        import redshift_connector

        return isinstance(exc, (redshift_connector.InterfaceError, redshift_connector.OperationalError))

    @property
    def is_serverless(self) -> bool:
        """Redshift Serverless keeps load errors in SYS views only (no STL)."""
        return "redshift-serverless" in (urlsplit(self.url).hostname or "")

    # -- DDL ----------------------------------------------------------------------------------------

    def create_table_sql(self, table: Table) -> str:
        """The PostgreSQL DDL plus Redshift's distribution and sort key (from schema.py)."""
        attributes = []
        if table.dist.startswith("key:"):
            attributes.append(f"diststyle key distkey ({quote(table.dist[4:])})")
        else:
            attributes.append(f"diststyle {table.dist}")
        if table.sort_key:
            attributes.append(f"sortkey ({quote(table.sort_key)})")
        return super().create_table_sql(table) + "\n" + " ".join(attributes)

    # -- staging: COPY from S3 ----------------------------------------------------------------------

    def analyze_sql(self, table: str) -> str | None:
        return None  # Redshift analyzes tables itself in the background (automatic analyze)

    def insert_from_reader(self, table: Table, reader_con, relation: str) -> int:
        """Redshift has no COPY FROM STDIN; the rows that come through the client here are the few of
        the bookkeeping tables (rejects), sent as multi-row INSERTs with bound values."""
        cols = ", ".join(quote(c) for c in table.column_names)
        width = len(table.column_names)
        result = reader_con.execute(f"select {cols} from {relation}")
        loaded = 0
        while batch := result.fetchmany(500):
            rows = ", ".join("(" + ", ".join([self.param] * width) + ")" for _ in batch)
            self.execute(
                f"insert into {self.qualified(table.name)} ({cols}) values {rows}",
                [v for row in batch for v in row],
            )
            loaded += len(batch)
        return loaded

    def insert_from_reader_sql(self, table: Table, relation: str) -> list[str]:
        cols = ", ".join(quote(c) for c in table.column_names)
        return [f"insert into {self.qualified(table.name)} ({cols}) values (%s, ...), ..."]

    def copy_s3_sql(
        self,
        table: Table,
        uri: str,
        *,
        max_errors: int = 0,
        json_paths: str | None = None,
        manifest: bool = False,
        gzipped: bool = False,
    ) -> str:
        """The ``COPY`` that loads staging ``table`` from every object under ``uri`` (``manifest``:
        from the objects the manifest at ``uri`` names)."""
        if table.name not in self.copy_options:
            raise KeyError(f"no COPY format for {table.name}")
        if json_paths is None:
            json_paths = uri.rstrip("/").rsplit("/", 1)[0] + "/" + JSON_PATHS_FILE
        # the JSON fields only: source_file (lineage) is not in the objects, and stays NULL
        cols = ", ".join(quote(c.name) for c in table.record_columns)
        lines = []
        if "{json_paths}" in self.copy_options[table.name]:
            lines.append(
                f"-- {table.name}: JSON keys map to the columns, in order, through {json_paths} "
                f"(sparkify ships it: data/sparkify-sample/{JSON_PATHS_FILE})"
            )
        lines += [
            f"copy {self.qualified(table.name)} ({cols})",
            f"from {literal(uri)}",
            f"iam_role {literal(self.iam_role or ROLE_PLACEHOLDER)}",
        ]
        if self.region:
            lines.append(f"region {literal(self.region)}")
        lines.append(self.copy_options[table.name].format(json_paths=json_paths.replace("'", "''")))
        if manifest:
            lines.append("manifest")
        if gzipped:
            lines.append("gzip")
        if max_errors:
            lines.append(f"maxerror {int(max_errors)}")
        # the staging tables are emptied and refilled on every run: no compression analysis and
        # no statistics update on each load (both slow a COPY down for nothing)
        lines.append("compupdate off statupdate off")
        return "\n".join(lines)

    def copy_from_s3_sql(self, table: Table, uri: str, *, max_errors: int = 0) -> list[str]:
        """The statements a run stages ``table`` with from the objects under ``uri`` (``sparkify sql``):
        a COPY of the new objects through a manifest (see the module docstring)."""
        root = uri.rstrip("/").rsplit("/", 1)[0]
        kind = file_kind_of(table.name).name
        manifest = (self.manifest_prefix or f"{root}/_sparkify/manifests") + f"/<load id>-{kind}.manifest"
        reload = (
            f"-- {table.name}: only when an object under {uri} changed or vanished since the last run "
            f"(COPY cannot replace one object's rows): the kind is reloaded, its rows go first\n"
            f"{self.clear_table_sql(table.name)}"
        )
        note = (
            f"-- {table.name}: the objects new since the last run (every object, on a reload), named in a "
            f"manifest written for this COPY and deleted after it\n"
        )
        return [
            reload,
            note
            + self.copy_s3_sql(
                table, manifest, max_errors=max_errors, json_paths=f"{root}/{JSON_PATHS_FILE}", manifest=True
            ),
        ]

    def copy_from_s3(
        self,
        table: Table,
        uri: str,
        *,
        max_errors: int = 0,
        json_paths: str | None = None,
        manifest: bool = False,
        clear: bool = True,
        gzipped: bool = False,
    ):
        """Empty staging ``table`` (``clear``) and ``COPY`` every object under ``uri`` into it (or
        the objects the manifest at ``uri`` names), in the open transaction. Returns a
        :class:`ReadResult` (read = staged + rejected, for the whole COPY, under ``uri``).

        A COPY that fails (more bad records than ``max_errors``) raises :class:`BadInputError`
        naming file, line, column and reason from the load-error view; the transaction is rolled
        back first, since an aborted Redshift transaction answers no query.
        """
        from sparkify.reader import FileCount, ReadResult

        if not self.iam_role:
            raise ConfigError(
                "Redshift COPY needs an IAM role that can read the bucket: pass --iam-role ARN "
                "(or set SPARKIFY_IAM_ROLE, or iam_role in sparkify.toml)."
            )
        if clear:
            self.execute(self.clear_table_sql(table.name))
        copy = self.copy_s3_sql(
            table, uri, max_errors=max_errors, json_paths=json_paths, manifest=manifest, gzipped=gzipped
        )
        if self.tracer:
            self.tracer(copy)
        try:
            with self._cursor() as cur:
                cur.execute(copy)
        except self._driver_errors() as exc:
            self._rollback()  # an aborted transaction answers no query, not even STL_LOAD_ERRORS
            raise self._load_failed(table, uri, exc) from exc
        _, rows = self.query("select pg_last_copy_count()")
        staged = int(rows[0][0])
        rejects = self._load_errors(latest_failed=False) if max_errors else []
        result = ReadResult(kind=table.name, table=table.name)
        result.files[uri] = FileCount(read=staged + len(rejects), staged=staged, rejected=len(rejects))
        result.rejects = rejects
        return result

    def manifest_uri(self, source, load_id: str, kind: str) -> str:
        """Where the manifest of one COPY goes: under :attr:`manifest_prefix`, else under the source."""
        root = (
            self.manifest_prefix
            or f"s3://{source.bucket}/{source.prefix}".rstrip("/") + "/_sparkify/manifests"
        )
        return f"{root}/{load_id}-{kind}.manifest"

    def copy_objects(
        self, source, kind: str, table: Table, files: list, *, load_id: str, max_errors: int = 0
    ):
        """COPY exactly ``files`` (SourceFiles of an S3 source) into staging ``table``, appending,
        through a manifest written for the purpose and deleted afterwards. Returns a
        :class:`ReadResult` with a count per object (see the module docstring).

        COPY's GZIP applies to every file it reads, so ``*.gz`` objects get a COPY (and a manifest)
        of their own. Objects are told apart by name: COPY cannot sniff content, so an object
        gzipped under a plain name fails its COPY (the client-side engines read it).
        https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-file-compression.html"""
        from sparkify.reader import ReadResult

        result = ReadResult(kind=kind, table=table.name)
        for gzipped in (False, True):
            group = [f for f in files if f.name.lower().endswith(".gz") == gzipped]
            if group:
                part = self._copy_manifest(
                    source, kind, table, group, load_id=load_id, max_errors=max_errors, gzipped=gzipped
                )
                result.files.update(part.files)
                result.rejects += part.rejects
        return result

    def _copy_manifest(self, source, kind, table, files, *, load_id: str, max_errors: int, gzipped: bool):
        from sparkify.reader import FileCount
        from sparkify.sources.s3 import delete_object, write_object

        bucket, prefix = source.locations["events"]
        json_paths = f"s3://{bucket}/{prefix}".rstrip("/").rsplit("/", 1)[0] + "/" + JSON_PATHS_FILE
        manifest = self.manifest_uri(source, load_id, kind + ("-gzip" if gzipped else ""))
        entries = [{"url": f.name, "mandatory": True, "meta": {"content_length": f.size}} for f in files]
        write_object(source, manifest, json.dumps({"entries": entries}, indent=1).encode())
        try:
            result = self.copy_from_s3(
                table,
                manifest,
                max_errors=max_errors,
                json_paths=json_paths,
                manifest=True,
                clear=False,
                gzipped=gzipped,
            )
        finally:
            delete_object(source, manifest)
        if self.is_serverless:
            return result  # STL tables exist on provisioned clusters only: counts for the whole COPY
        _, commits = self.query(
            "select trim(filename), sum(lines_scanned) from stl_load_commits "
            "where query = pg_last_copy_id() group by 1"
        )
        rejected: dict[str, int] = {}
        for r in result.rejects:
            rejected[r.source] = rejected.get(r.source, 0) + 1
        total = result.staged
        result.files = {}
        for name, lines in commits:
            bad = rejected.get(name, 0)
            result.files[name] = FileCount(read=int(lines), staged=int(lines) - bad, rejected=bad)
        if result.staged != total:
            raise WarehouseError(
                f"Redshift loaded {total} rows into {table.name}, but STL_LOAD_COMMITS accounts for "
                f"{result.staged}: are the objects JSON records one per line?"
            )
        return result

    def load_errors_sql(self, *, latest_failed: bool) -> str:
        """The query that lists the records the last COPY rejected: file, line, column, reason.

        Provisioned clusters keep them in STL_LOAD_ERRORS, Serverless in SYS_LOAD_ERROR_DETAIL.
        After a failed COPY the errors of this session's latest load are read (the COPY did not
        complete, so pg_last_copy_id() may not name it)."""
        if self.is_serverless:
            latest = "(select max(query_id) from sys_load_error_detail where session_id = pg_backend_pid())"
            return (
                "select trim(file_name), line_number, trim(column_name), trim(error_message) "
                f"from sys_load_error_detail where query_id = {latest} "
                "order by file_name, line_number"
            )
        query = (
            "(select max(query) from stl_load_errors where session = pg_backend_pid())"
            if latest_failed
            else "pg_last_copy_id()"
        )
        return (
            "select trim(filename), line_number, trim(colname), trim(err_reason) "
            f"from stl_load_errors where query = {query} order by filename, line_number"
        )

    def _load_errors(self, *, latest_failed: bool):
        from sparkify.reader import Reject

        _, rows = self.query(self.load_errors_sql(latest_failed=latest_failed))
        return [
            Reject(
                source=str(f or "?"), line=int(line) if line else None, field=col or None, reason=str(reason)
            )
            for f, line, col, reason in rows
        ]

    def _load_failed(self, table: Table, uri: str, exc: BaseException) -> Exception:
        _, message = self.error_details(exc)
        if "load_error" not in message.lower():
            # not a bad record (S3 access, a missing prefix, ...): Redshift names a record's failure
            # "Load into table '...' failed. Check 'stl_load_errors' system table for details."
            return self.error_for(exc)
        try:
            rejects = self._load_errors(latest_failed=True)
        except WarehouseError:
            rejects = []
        if not rejects:
            return self.error_for(exc)
        shown = "\n".join(f"  {r}" for r in rejects[:SHOWN_LOAD_ERRORS])
        more = (
            f"\n  ... and {len(rejects) - SHOWN_LOAD_ERRORS} more" if len(rejects) > SHOWN_LOAD_ERRORS else ""
        )
        view = "sys_load_error_detail" if self.is_serverless else "stl_load_errors"
        return BadInputError(
            f"Redshift could not load {uri} into {table.name}; nothing was changed:\n{shown}{more}\n"
            f"Fix the input, or pass --max-errors N to load the rest (details: {view})."
        )

    # -- transform: merge in place ------------------------------------------------------------------

    def merge_statements(self, table: Table, insert_sql: str) -> list[str]:
        """Make ``table`` hold exactly the rows ``insert_sql`` computes, keeping identical rows.

        ``insert_sql`` is the table's ``insert_<table>.sql`` (the same rules on every engine); its
        query fills a temporary table. Then: *kept* = rows of the table that equal a computed row;
        every other row is deleted; every computed row not kept is inserted.
        """
        comments, query = split_insert(insert_sql)
        target = self.qualified(table.name)
        new, kept = quote(f"sparkify_new_{table.name}"), quote(f"sparkify_kept_{table.name}")
        identity = [c.name for c in table.columns if c.type == "identity"]
        cols = [c.name for c in table.columns if c.type != "identity"]
        key = self.merge_keys.get(table.name, table.primary_key)
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
        # (copy_no) in the order of the query's own id, which follows the natural key.
        (row_id,) = identity
        rid = quote(row_id)
        rows, old = quote(f"sparkify_rows_{table.name}"), quote(f"sparkify_old_{table.name}")
        match = [*key, "copy_no"]
        on = " and ".join(f"o.{quote(c)} = n.{quote(c)}" for c in match)
        on_kept = " and ".join(f"k.{quote(c)} = n.{quote(c)}" for c in match)
        kept_cols = ", ".join(f"n.{quote(c)}" for c in match)
        numbered = (
            f"row_number() over (partition by {', '.join(quote(c) for c in key)} order by {rid}) as copy_no"
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


def json_paths_document(table: Table = STAGING_EVENTS) -> str:
    """The JSONPaths file for ``table``'s COPY: one path per column, in column order (schema.py)."""
    paths = [f"$['{c.source}']" for c in table.record_columns]
    return json.dumps({"jsonpaths": paths}, indent=4)


SSL_MODES = ("disable", "verify-ca", "verify-full")
"""The ``?sslmode=`` values a Redshift URL takes (redshift_connector's; default: the driver's,
verify-full with Redshift's certificate bundle). ``disable`` is for servers without TLS, such as the
test suite's Redshift stand-in -- never for a real cluster across a network."""


def ssl_options(query: str) -> dict:
    """``sslmode=disable`` -> ``{"ssl": False}``; ``sslmode=verify-ca`` -> ``{"sslmode": "verify-ca"}``;
    no sslmode -> ``{}``. Another value or parameter is a ConfigError."""
    params = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(params) - {"sslmode"})
    if unknown:
        raise ConfigError(
            f"Unknown Redshift URL parameter {unknown[0]!r}: only ?sslmode= ({', '.join(SSL_MODES)}) is read."
        )
    if "sslmode" not in params:
        return {}
    mode = params["sslmode"][-1]
    if mode not in SSL_MODES:
        raise ConfigError(f"Unknown sslmode {mode!r} in the Redshift URL: use one of {', '.join(SSL_MODES)}.")
    return {"ssl": False} if mode == "disable" else {"sslmode": mode}
