"""Amazon Redshift: the PostgreSQL engine, overriding only what differs.

What differs, and why:

* **Staging: the record rules run here, COPY loads their rows.** The same input must give the same
  staged rows and the same rejects (file, line, field, reason) on every engine, and Redshift's
  COPY types JSON by rules of its own (lenient numbers, line numbers of an object's *last* line, no
  content-sniffed gzip, NaN handling, ...). So a run reads the new and changed objects of the S3
  source with the same :class:`~sparkify.staging.reader.JsonReader` as the other engines (the
  ``load_files`` ledger limits that to the increment), and the pipeline publishes them exactly as it
  does on PostgreSQL: the rows of replaced objects (and, with ``--prune``, of vanished ones) are
  deleted by their lineage column ``source_file``, objects gone from the source keep their rows,
  rejects go to ``load_errors`` with the original file, line, field and reason. Only the last
  step differs -- how the checked rows reach the table (:mod:`.staged`): DuckDB writes them,
  typed and with their lineage, as gzipped JSON lines whose keys are the column names, in parts
  of at most :data:`~.staged.PART_BYTES`, under the staging prefix; a manifest names the parts; one
  ``COPY ... FORMAT AS JSON 'auto' GZIP MANIFEST`` per staging table loads them server-side; the
  parts and the manifest are deleted afterwards, failed or not. Nothing can be refused by that
  COPY (every value was checked and typed first), so a load error there is a fault, reported with
  Redshift's own words, never a reject. The rows a COPY loaded are cross-checked: in total with
  ``pg_last_copy_count()``, and per part with ``STL_LOAD_COMMITS`` (provisioned clusters) or
  ``SYS_LOAD_DETAIL`` (Serverless, which has no STL views).

  The staging prefix is ``manifest_prefix`` (``--manifest-prefix``; default
  ``<source>/_sparkify/manifests/``, outside ``song_data/`` and ``log_data/``): the client writes
  and deletes there, the IAM role reads. The staged objects hold the input's text and are deleted
  after their COPY; no secret is in them or in any statement (the IAM role ARN is not one).
  https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
  https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html
* **Keys are not enforced**, and ``songplay_id`` is an ``IDENTITY`` column. The transform therefore
  merges each star table in place (:attr:`merges_star_rows`, :mod:`.merge`).
* **TRUNCATE commits the open transaction**, so tables are emptied with ``DELETE``.
* ``TEXT`` is ``VARCHAR(256)``: text columns are ``VARCHAR(65535)``; tables carry DISTSTYLE,
  DISTKEY and SORTKEY from ``schema.py``.

The package: this module (connection, errors, DDL), :mod:`.staged` (the COPY of checked rows),
:mod:`.merge` (the transform's merge).

Driver: ``redshift_connector`` (``pip install 'sparkify[redshift]'``), AWS's own; psycopg 3 does
not support Redshift. Imported only when a connection is opened.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from sparkify.errors import ConfigError, WarehouseError
from sparkify.schema import STAGING_EVENTS, Table
from sparkify.warehouse.base import Warehouse, quote
from sparkify.warehouse.postgres import PostgresWarehouse
from sparkify.warehouse.redshift import merge, staged
from sparkify.warehouse.redshift.merge import split_insert

__all__ = ["JSON_PATHS_FILE", "RedshiftWarehouse", "json_paths_document", "split_insert", "ssl_options"]

JSON_PATHS_FILE = "log_json_path.json"
"""The JSONPaths file that maps event keys to the staging columns for a hand-written COPY of the raw
logs (the package ships it, ``sparkify/sample/log_json_path.json``, and ``sparkify generate`` writes
it). sparkify's own runs no longer need it: they COPY rows whose keys are the column names."""


class RedshiftWarehouse(PostgresWarehouse):
    """One connection to a Redshift cluster or Serverless workgroup (see the module docstring).

    ``iam_role``: the role COPY assumes to read the staged rows (required to load); ``region``: the
    bucket's region, if not the cluster's; ``manifest_prefix``: the staging prefix (``s3://...``).
    Raises ConfigError for a malformed URL or a missing driver, WarehouseError for the server's errors."""

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
    max_identifier_bytes: ClassVar[int] = 127  # Redshift's names: at most 127 bytes
    unlogged_staging: ClassVar[bool] = False  # Redshift has no UNLOGGED tables
    session_settings: ClassVar[tuple[str, ...]] = ()  # no JIT to turn off
    read_only_sessions: ClassVar[bool] = False
    """Redshift has no default_transaction_read_only setting: a reader's statements are checked
    for writes before they are sent (sparkify query), and the database user's grants do the rest."""
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
    start time instead (plays sharing all three are told apart by their other values, never by their
    ids: Redshift gives IDENTITY values in no set order)."""

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
        """The staging prefix: where the staged rows and their manifest are written
        (``s3://bucket/prefix``); None: ``<source>/_sparkify/manifests``."""
        self.shown_root: str | None = None
        """The staging prefix statements rendered for review show when no ``manifest_prefix`` is
        set (``sparkify sql --source s3://...``: ``<source>/_sparkify/manifests``); None: a placeholder."""
        self.serverless: bool | None = None
        """Redshift Serverless (True) or a provisioned cluster (False); None: told by the host name."""
        self._source: Any = None

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
        """Redshift Serverless keeps load errors and per-file counts in SYS views only (no STL):
        :attr:`serverless` if set, else whether the host is a ``*.redshift-serverless.*`` endpoint."""
        if self.serverless is not None:
            return self.serverless
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

    def index_sql(self, table: Table) -> list[str]:
        return []  # Redshift has no indexes (sort and distribution keys stand in)

    def clear_star_sql(self, tables: Sequence[Table]) -> list[str]:
        return Warehouse.clear_star_sql(self, tables)  # unused: Redshift merges (merges_star_rows)

    def rebuild_table_sql(self, table: Table, insert_sql: str) -> list[str]:
        return [insert_sql]  # unused: Redshift merges (merges_star_rows)

    # -- staging: rows checked here, COPYed from S3 (see redshift/staged.py) ------------------------

    def analyze_sql(self, table: str) -> str | None:
        return None  # Redshift analyzes tables itself in the background (automatic analyze)

    def refuse_source(self, source) -> None:
        from sparkify.pipeline.statements import s3_prefix

        s3_prefix(self, source)  # a local folder: "Redshift loads from S3: pass --source s3://..."

    def prepare_load(self, source) -> None:
        """Note the S3 source of the load about to run: the staged rows are written under it (or
        under :attr:`manifest_prefix`). ConfigError without an IAM role."""
        if not self.iam_role:
            raise ConfigError(
                "Redshift COPY needs an IAM role that can read the bucket: pass --iam-role ARN "
                "(or set SPARKIFY_IAM_ROLE, or iam_role in sparkify.toml)."
            )
        from sparkify.sources.s3 import parse_s3_uri

        root = staged.staging_root(self, source)
        bucket, prefix = parse_s3_uri(root)
        for kind, (where_bucket, where_prefix) in getattr(source, "locations", {}).items():
            if bucket == where_bucket and f"{prefix}/".startswith(where_prefix):
                raise ConfigError(
                    f"The staging prefix {root} is inside the {kind} the source lists "
                    f"(s3://{where_bucket}/{where_prefix}): a staged part left behind would be read as input. "
                    "Point manifest_prefix (SPARKIFY_MANIFEST_PREFIX, or sparkify.toml) elsewhere."
                )
        self._source = source

    def note_shown_source(self, source: str) -> None:
        """Show the staging prefix of an ``s3://`` ``source`` (``<source>/_sparkify/manifests``) in
        the COPY statements rendered for review. A source that is not an S3 URI changes nothing."""
        from sparkify.sources.s3 import parse_s3_uri

        if source.startswith("s3://"):
            self.shown_root = staged.default_root(*parse_s3_uri(source))

    def insert_from_reader(self, table: Table, reader_con, relation: str) -> int:
        """Append DuckDB ``relation`` (the reader's rows, typed, with their lineage) to ``table``.

        Staging tables: written as gzipped JSON lines under the staging prefix and COPYed from there
        (:func:`staged.copy_staged`). Bookkeeping tables (ledger, rejects: few rows): multi-row
        INSERTs with bound values -- Redshift has no COPY FROM STDIN."""
        if table.kind == "staging":
            if self._source is None:
                raise WarehouseError("Redshift staging needs the load's S3 source first (prepare_load).")
            return staged.copy_staged(self, self._source, table, reader_con, relation)
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
        if table.kind == "staging":
            return [staged.copy_sql(self, table, staged.shown_manifest(self, table))]
        cols = ", ".join(quote(c) for c in table.column_names)
        return [f"insert into {self.qualified(table.name)} ({cols}) values (%s, ...), ..."]

    def copy_from_s3(self, table: Table, manifest: str) -> int:
        """Run the ``COPY`` of the staged objects ``manifest`` names into ``table``, in the open
        transaction; return the rows loaded (``pg_last_copy_count()``). A failed COPY rolls the
        transaction back (an aborted Redshift transaction answers no query) and raises
        :class:`WarehouseError` with the load errors Redshift recorded."""
        return staged.run_copy(self, table, manifest)

    def load_errors_sql(self, *, latest_failed: bool) -> str:
        """The query listing the load errors of this session's last COPY (see staged.py)."""
        return staged.load_errors_sql(self.is_serverless, latest_failed=latest_failed)

    # -- transform: merge in place ------------------------------------------------------------------

    def merge_statements(self, table: Table, insert_sql: str) -> list[str]:
        """Make ``table`` hold exactly the rows ``insert_sql`` computes (see redshift/merge.py)."""
        key = self.merge_keys.get(table.name, table.primary_key)
        return merge.merge_statements(self.qualified, table, insert_sql, key)


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
