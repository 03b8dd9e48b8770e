"""The stand-in server: a PostgreSQL wire-protocol proxy on loopback that speaks to clients as
Amazon Redshift does and to the backing PostgreSQL as an ordinary client.

Each client connection gets one backend connection (same database name) and two threads: one reads
the client's messages (rewriting SQL, preparing COPYs, committing before TRUNCATE), one relays the
backend's answers (reporting Redshift's ``server_version``). Redshift's system tables and COPY state
are kept over a second, autocommit connection per client (``catalog.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from tests.redshift_standin import catalog, copy, protocol
from tests.redshift_standin.protocol import Closed, message
from tests.redshift_standin.rewrite import SCHEMA, Statement, classify

log = logging.getLogger("redshift_standin")

SERVER_VERSION = "8.0.2"
"""What Redshift reports as ``server_version``; clients (redshift_connector) parse it strictly.
https://docs.aws.amazon.com/redshift/latest/dg/c_redshift-and-postgres-sql.html"""

FORWARDED_PARAMS = (
    "application_name",
    "client_encoding",
    "datestyle",
    "timezone",
    "extra_float_digits",
    "options",
)
"""Start-up parameters passed on to PostgreSQL; Redshift-only ones (``client_protocol_version``,
``driver_version``, ``os_version``, ``plugin_name``, ...) stay with the stand-in."""


class Standin:
    """A Redshift stand-in serving on ``host:port`` (port 0: a free one), backed by the PostgreSQL
    server ``postgres_url`` (trust, password or md5 authentication).

    ``s3_client`` makes the boto3 S3 client COPY reads with, given a region or None (default: boto3
    from the standard AWS environment: ``AWS_ENDPOINT_URL``, keys, ...).
    Use :meth:`start` / :meth:`stop`, or ``with``.
    """

    def __init__(
        self,
        postgres_url: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        s3_client: Callable[[str | None], object] | None = None,
    ):
        parts = urlsplit(postgres_url)
        self.backend = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password) if parts.password else None,
            "database": unquote(parts.path.lstrip("/")) or "postgres",
        }
        self.s3_client = s3_client or _boto3_client
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._threads: list[threading.Thread] = []
        self._sessions: set[Session] = set()
        self._lock = threading.Lock()
        self._ready_databases: set[str] = set()
        self._stopping = False

    def url(self, database: str | None = None, user: str | None = None) -> str:
        """A ``redshift://`` URL for sparkify (SSL off: the stand-in speaks plain TCP)."""
        return (
            f"redshift://{user or self.backend['user']}@{self.host}:{self.port}/"
            f"{database or self.backend['database']}?sslmode=disable"
        )

    def start(self) -> Standin:
        thread = threading.Thread(target=self._accept, name="redshift-standin-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sessions = list(self._sessions)
        for s in sessions:
            s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            session = Session(self, conn)
            with self._lock:
                self._sessions.add(session)
            threading.Thread(target=session.run, name="redshift-standin-session", daemon=True).start()

    def forget(self, session: Session) -> None:
        with self._lock:
            self._sessions.discard(session)

    def side_connection(self, database: str):
        """An autocommit psycopg connection to ``database`` with the stand-in's schema in place."""
        import psycopg

        b = self.backend
        con = psycopg.connect(
            host=b["host"],
            port=b["port"],
            user=b["user"],
            password=b["password"],
            dbname=database,
            autocommit=True,
            application_name="redshift-standin",
            options="-c TimeZone=UTC",  # copy_jobs.started in UTC (see catalog.session_start)
        )
        with self._lock:
            ready = database in self._ready_databases
        if not ready:
            with con.transaction():
                con.execute("select pg_advisory_xact_lock(hashtext('sparkify_standin'))")
                for statement in catalog.STATEMENTS:
                    con.execute(statement)
            with self._lock:
                self._ready_databases.add(database)
        return con


def _boto3_client(region: str | None):
    import boto3

    return boto3.session.Session().client("s3", region_name=region or None)


class Session:
    """One client connection and its backend connection."""

    def __init__(self, server: Standin, client: socket.socket):
        self.server = server
        self.client = client
        self.backend: socket.socket | None = None
        self.database = server.backend["database"]
        self.pid = 0
        self.status = b"I"  # the backend's transaction status at the last ReadyForQuery
        self.awaiting = 0  # Syncs and Queries sent whose ReadyForQuery has not come back
        self.sent_since_sync = 0  # extended-protocol messages sent since the last Sync
        self.swallow = threading.Event()  # set: the backend's answers to an injected COMMIT are dropped
        self.statements: dict[str, Statement] = {}
        self.portals: dict[str, Statement] = {}
        self.search_path: list[str] = ["$user", "public"]
        self._side = None
        self._send_lock = threading.Lock()
        self._idle = threading.Condition()

    # -- life cycle ---------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            if self._startup():
                threading.Thread(target=self._relay, name="redshift-standin-relay", daemon=True).start()
                self._serve()
        except (Closed, OSError):
            pass
        except Exception:
            log.exception("redshift stand-in session failed")
        finally:
            self.close()
            self.server.forget(self)

    def close(self) -> None:
        for sock in (self.client, self.backend):
            if sock is not None:
                # shutdown first: close() alone leaves the socket open while the relay thread is
                # blocked reading it, and PostgreSQL would keep the dead client's transaction open
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
        if self._side is not None:
            with contextlib.suppress(Exception):
                self._side.execute(
                    f"delete from {SCHEMA}.copy_rows where query in "
                    f"(select query from {SCHEMA}.copy_jobs where pid = %s)",
                    [self.pid],
                )
                self._side.close()
            self._side = None

    def _to_client(self, data: bytes) -> None:
        with self._send_lock:
            self.client.sendall(data)

    # -- start-up -----------------------------------------------------------------------------------

    def _startup(self) -> bool:
        while True:
            code, body = protocol.read_startup(self.client)
            if code in (protocol.SSL_REQUEST, protocol.GSSENC_REQUEST):
                self.client.sendall(b"N")  # plain TCP only
                continue
            if code == protocol.CANCEL_REQUEST:
                return False
            break
        params = protocol.parse_startup_params(body)
        self.database = params.get("database") or self.server.backend["database"]
        with self.server._lock:
            ready = self.database in self.server._ready_databases
        if not ready:  # the system views and functions exist before the first statement
            with contextlib.suppress(Exception):  # a database that does not exist: PostgreSQL says so below
                self.server.side_connection(self.database).close()
        b = self.server.backend
        self.backend = socket.create_connection((b["host"], b["port"]))
        for sock in (self.client, self.backend):  # one small message at a time: no Nagle delays
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        forwarded = {k: v for k, v in params.items() if k.lower() in FORWARDED_PARAMS}
        self.backend.sendall(
            protocol.startup_message({"user": b["user"], "database": self.database, **forwarded})
        )
        while True:  # authenticate to PostgreSQL as the URL's user
            kind, body = protocol.read_message(self.backend)
            if kind == b"E":
                self.client.sendall(message(kind, body))
                return False
            if kind != b"R":
                raise RuntimeError(f"unexpected start-up message {kind!r} from PostgreSQL")
            (auth,) = struct.unpack("!i", body[:4])
            if auth == 0:
                break
            password = (b["password"] or "").encode()
            if auth == 3:
                self.backend.sendall(message(b"p", password + b"\0"))
            elif auth == 5:
                inner = hashlib.md5(password + b["user"].encode()).hexdigest().encode()
                outer = b"md5" + hashlib.md5(inner + body[4:8]).hexdigest().encode()
                self.backend.sendall(message(b"p", outer + b"\0"))
            else:
                self.client.sendall(
                    protocol.error_response(
                        "the Redshift stand-in authenticates to PostgreSQL with trust, password or md5 only",
                        "28000",
                    )
                )
                return False
        # Redshift's own start-up: authentication done, then parameters, key data, ready
        self.client.sendall(message(b"R", struct.pack("!i", 0)))
        while True:
            kind, body = protocol.read_message(self.backend)
            if kind == b"S":
                name, _rest = protocol.cstring(body)
                if name == "server_version":
                    self.client.sendall(protocol.parameter_status("server_version", SERVER_VERSION))
                    continue
            elif kind == b"K":
                self.pid = struct.unpack("!i", body[:4])[0]
            elif kind == b"E":
                self.client.sendall(message(kind, body))
                return False
            self.client.sendall(message(kind, body))
            if kind == b"Z":
                self.status = body[:1]
                return True

    # -- backend -> client --------------------------------------------------------------------------

    def _relay(self) -> None:
        try:
            while True:
                kind, body = protocol.read_message(self.backend)
                if self.swallow.is_set():
                    if kind == b"Z":
                        self.status = body[:1]
                        self.swallow.clear()
                        with self._idle:
                            self._idle.notify_all()
                    continue
                if kind == b"Z":
                    self.status = body[:1]
                    with self._idle:
                        self.awaiting -= 1
                        self._idle.notify_all()
                elif kind == b"S" and body.startswith(b"server_version\0"):
                    body = b"server_version\0" + SERVER_VERSION.encode() + b"\0"
                self._to_client(message(kind, body))
        except (Closed, OSError):
            with contextlib.suppress(OSError):
                self.client.close()

    # -- client -> backend --------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            kind, body = protocol.read_message(self.client)
            if kind == b"X":
                with contextlib.suppress(OSError):
                    self.backend.sendall(message(kind, body))
                return
            if kind == b"Q":
                sql, _ = protocol.cstring(body)
                statement = self._classify(sql)
                if statement.kind == "truncate":
                    self._commit_first()
                if statement.kind == "copy":
                    self._prepare_copy(statement)
                body = statement.text.encode() + b"\0"
                self._send(kind, body, sync=True)
            elif kind == b"P":
                name, i = protocol.cstring(body)
                sql, j = protocol.cstring(body, i)
                statement = self._classify(sql)
                self.statements[name] = statement
                if statement.kind == "truncate" and name == "":
                    self._commit_first()
                self._send(kind, name.encode() + b"\0" + statement.text.encode() + b"\0" + body[j:])
            elif kind == b"B":
                portal, i = protocol.cstring(body)
                name, _ = protocol.cstring(body, i)
                statement = self.statements.get(name)
                self.portals[portal] = statement
                if statement is not None and statement.kind == "truncate" and name != "":
                    self._commit_first()
                self._send(kind, body)
            elif kind == b"E":
                portal, _ = protocol.cstring(body)
                statement = self.portals.get(portal)
                if statement is not None and statement.kind == "copy":
                    self._prepare_copy(statement)
                self._send(kind, body)
            else:
                self._send(kind, body, sync=kind == b"S")

    def _send(self, kind: bytes, body: bytes, *, sync: bool = False) -> None:
        if sync:
            with self._idle:
                self.awaiting += 1
            self.sent_since_sync = 0
        elif kind not in (b"H", b"d", b"c", b"f"):
            self.sent_since_sync += 1
        self.backend.sendall(message(kind, body))

    def _classify(self, sql: str) -> Statement:
        statement = classify(sql)
        if statement.search_path is not None:
            self.search_path = statement.search_path
        return statement

    def _commit_first(self) -> None:
        """TRUNCATE commits the open transaction first.
        https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html

        Done only where the client waits for nothing (every answer relayed): then the next answers
        from PostgreSQL are the COMMIT's, which the relay drops."""
        with self._idle:
            if not self._idle.wait_for(lambda: self.awaiting == 0, timeout=30):
                return
            if self.sent_since_sync or self.status != b"T":
                return
            self.swallow.set()
        self.backend.sendall(message(b"Q", b"commit\0"))
        with self._idle:
            self._idle.wait_for(lambda: not self.swallow.is_set(), timeout=30)

    # -- COPY ---------------------------------------------------------------------------------------

    @property
    def side(self):
        if self._side is None:
            self._side = self.server.side_connection(self.database)
        return self._side

    def _prepare_copy(self, statement: Statement) -> None:
        """Read the COPY's objects now; record the job (rows or error), the load errors and the
        per-file commits over the side connection. The client's statement then runs run_copy()."""
        side = self.side
        query = side.execute(f"select nextval('{SCHEMA}.query_ids')").fetchone()[0]
        side.execute(
            f"delete from {SCHEMA}.copy_rows where query in (select query from {SCHEMA}.copy_jobs where pid = %s)",
            [self.pid],
        )
        try:
            spec = copy.parse(statement.copy_text)
            target, columns = self._target(spec)
            outcome = copy.load(self.server.s3_client(spec.region), spec, columns)
        except copy.CopyError as exc:
            side.execute(
                f"insert into {SCHEMA}.copy_jobs (query, pid, error_code, error_message) values (%s, %s, %s, %s)",
                [query, self.pid, exc.sqlstate, exc.message],
            )
            return
        table_oid = target
        for uri, line, column, code, reason, raw, value in outcome.errors:
            side.execute(
                f"insert into {SCHEMA}.stl_load_errors (userid, slice, tbl, starttime, session, query, filename, "
                "line_number, colname, type, col_length, position, raw_line, raw_field_value, err_code, err_reason, "
                "is_partial, start_offset) values (100, 0, %s, now(), %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, 0, 0)",
                [
                    table_oid,
                    self.pid,
                    query,
                    uri[:256],
                    line,
                    column[:127],
                    next((c.type for c in columns if c.name == column), "")[:10],
                    "",
                    raw[:1024],
                    str(value)[:1024],
                    code,
                    reason[:100],
                ],
            )
        for f in outcome.files:
            side.execute(
                f"insert into {SCHEMA}.stl_load_commits (userid, query, slice, name, filename, byte_offset, "
                "lines_scanned, errors, curtime, status, file_format, is_partial, start_offset) "
                "values (100, %s, 0, %s, %s, 0, %s, %s, now(), 1, 'Json', 0, 0)",
                [query, f.uri[:256], f.uri[:256], f.records, f.errors],
            )
        names = ", ".join(_quote(c.name) for c in columns)
        select = ", ".join(f"x.{_quote(c.name)}" for c in columns)
        failed = len(outcome.errors) > spec.max_error
        # MAXERROR: more load errors than allowed fail the whole COPY; fewer are skipped.
        # https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html
        side.execute(
            f"insert into {SCHEMA}.copy_jobs (query, pid, target, columns, select_list, rows_loaded, error_code, "
            "error_message) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                query,
                self.pid,
                table_oid,
                names,
                select,
                0 if failed else len(outcome.rows),
                "XX000" if failed else None,
                f"Load into table '{spec.table}' failed.  Check 'stl_load_errors' system table for details."
                if failed
                else None,
            ],
        )
        if not failed and outcome.rows:
            with side.cursor().copy(f"copy {SCHEMA}.copy_rows (query, record) from stdin") as out:
                for row in outcome.rows:
                    out.write_row((query, json.dumps(row, ensure_ascii=False)))

    def _target(self, spec: copy.CopySpec) -> tuple[int, list[copy.Column]]:
        """The target table's oid and the COPY's columns (all but IDENTITY ones, if none listed)."""
        side = self.side
        path = ", ".join(_quote(p) if p != "$user" else '"$user"' for p in self.search_path)
        side.execute(f"set search_path to {path}")
        name = f"{_quote(spec.schema)}.{_quote(spec.table)}" if spec.schema else _quote(spec.table)
        row = side.execute("select to_regclass(%s)::oid", [name]).fetchone()
        if row[0] is None:
            raise copy.CopyError(f'relation "{spec.table}" does not exist', "42P01")
        cols = side.execute(
            "select attname, format_type(atttypid, atttypmod), attnotnull, attidentity from pg_attribute "
            "where attrelid = %s and attnum > 0 and not attisdropped order by attnum",
            [row[0]],
        ).fetchall()
        by_name = {c[0]: c for c in cols}
        if spec.columns is None:
            chosen = [c for c in cols if not c[3]]
        else:
            missing = [c for c in spec.columns if c not in by_name]
            if missing:
                raise copy.CopyError(
                    f'column "{missing[0]}" of relation "{spec.table}" does not exist', "42703"
                )
            chosen = [by_name[c] for c in spec.columns]
        return row[0], [copy.Column(c[0], c[1], c[2]) for c in chosen]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
