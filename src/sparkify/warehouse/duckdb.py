"""DuckDB: the embedded default engine. No server; one file."""

from __future__ import annotations

import contextlib
import math
import os
import re
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import duckdb
from filelock import FileLock, Timeout

from sparkify import interrupts
from sparkify.errors import ConfigError, WarehouseError
from sparkify.schema import Table
from sparkify.warehouse.base import Warehouse
from sparkify.warehouse.locking import wait_for


def lock_path(database: str) -> Path:
    """The lock file of a DuckDB database file: beside the file it really is (``~`` expanded,
    symbolic links and ``..`` resolved), ``<file>.lock`` -- so every spelling of one database
    shares one lock."""
    import os

    return Path(os.path.realpath(os.path.expanduser(database)) + ".lock")


class DuckDBWarehouse(Warehouse):
    name: ClassVar[str] = "duckdb"
    sql_dialect: ClassVar[str] = "duckdb"
    sql_folders: ClassVar[tuple[str, ...]] = ("duckdb",)
    type_map: ClassVar[dict[str, str]] = {
        "text": "varchar",
        "integer": "integer",
        "bigint": "bigint",
        "identity": "bigint",
        "double": "double",
        "timestamp": "timestamp",
        "boolean": "boolean",
    }
    param: ClassVar[str] = "?"
    declares_primary_keys: ClassVar[bool] = False
    time_checks_in_one_pass: ClassVar[bool] = True
    """DuckDB keeps an index for every primary key; on a load it costs about a fifth of the run and
    makes the full-table deletes of a rebuild slow. The quality checks verify every key instead."""
    macros: ClassVar[dict[str, str]] = {
        # epoch milliseconds -> TIMESTAMP (UTC, millisecond precision kept)
        "ts_to_timestamp": "epoch_ms({0})",
    }

    def __init__(
        self,
        url: str,
        path: str,
        *,
        schema: str | None = None,
        wait: bool = True,
        wait_timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
        settings: dict[str, str] | None = None,
        read_only: bool = False,
    ):
        super().__init__(url, schema=schema)
        config = _settings(settings or {})
        self.duckdb_config = config
        self.path = path
        self._lock: FileLock | None = None
        # a reader of a file in a folder nobody may write (a read-only mount, an archive): no lock
        # file can be made there, and no writer can be at work (DuckDB writes its WAL beside the
        # file); DuckDB's own read-only open is the whole protection then
        unlocked = read_only and path != ":memory:" and not _writable_folder(path)
        if unlocked:
            config = {**config, "access_mode": "READ_ONLY"}
        elif path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = _acquire_lock(lock_path(path), wait=wait, timeout=wait_timeout, on_wait=on_wait)
        try:
            self.con = interrupts.interruptible(
                _open_database(path, config, wait=wait, timeout=wait_timeout, on_wait=on_wait)
            )
        except duckdb.Error as exc:
            self._release()
            first = str(exc).splitlines()[0]
            if Path(path).is_dir():
                from sparkify.errors import ConfigError

                raise ConfigError(
                    f"{path} is a folder, not a DuckDB database file. Point --warehouse at a file in it (such "
                    f"as {Path(path) / 'sparkify.duckdb'}), or at a new path to create one."
                ) from None
            if "not a valid DuckDB database file" in first:
                from sparkify.errors import ConfigError

                raise ConfigError(
                    f"{path} is not a DuckDB database: the file is there but holds something else. Point "
                    "--warehouse at a DuckDB file, or at a new path to create one."
                ) from None
            if isinstance(exc, duckdb.IOException) or "Permission denied" in first:
                from sparkify.errors import LocalIOError

                raise LocalIOError(
                    f"Cannot open DuckDB database {path}: {first.rstrip('!.')}. {disk_hint(first)}"
                ) from exc
            raise WarehouseError(f"Cannot open DuckDB database {path}: {first}") from exc
        except BaseException:  # busy (another program holds it), a signal while waiting
            self._release()
            raise
        self._depth = 0
        for statement in self.setup_statements():
            self.con.execute(statement)

    def setup_statements(self) -> list[str]:
        # Redshift's sessions are in UTC: a query's timestamptz arithmetic (date_trunc, ::date,
        # extract) must not follow the machine's TZ (DuckDB's ICU time zones are built in)
        return ["set TimeZone = 'UTC'"]

    @classmethod
    def offline(cls, *, schema: str | None = None, **options) -> DuckDBWarehouse:
        return cls("duckdb:///:memory:", ":memory:")  # in memory: nothing on disk is touched, no lock

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # execute() and query() are the base class's: traced, errors mapped by error_for()

    def _execute(self, statement: str, params: Sequence[Any] | None) -> None:
        self.con.execute(statement, params)

    def _query(self, statement: str, params: Sequence[Any] | None) -> tuple[list[str], list[tuple]]:
        cur = self.con.execute(statement, params)
        rows = cur.fetchall()
        singles = [i for i, d in enumerate(cur.description) if str(d[1]) == "FLOAT"]
        if singles and rows:  # REAL: the shortest text of the single, as PostgreSQL and Redshift send it
            rows = [
                tuple(shortest_single(v) if i in singles else v for i, v in enumerate(row)) for row in rows
            ]
        return [d[0] for d in cur.description], rows

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (duckdb.Error, RuntimeError)  # a signal surfaces as RuntimeError: Query interrupted

    def error_for(self, exc: BaseException) -> BaseException:
        return error_for(exc, self.duckdb_config)

    def is_query_text_error(self, exc: BaseException) -> bool:
        # the parser, the binder (an unknown column) or the catalog (an unknown function or type)
        return isinstance(exc, (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException))

    def stream(self, statement: str, *, batch_rows: int = 50_000) -> tuple[list[str], Iterator[list[tuple]]]:
        """Run one query and fetch its rows ``batch_rows`` at a time (DuckDB streams its results)."""
        if self.tracer:
            self.tracer(statement)
        try:
            cur = self.con.cursor()  # its own cursor: the warehouse's connection stays usable
            cur.execute(statement)
        except duckdb.CatalogException as exc:
            from sparkify.errors import MissingTableError

            raise MissingTableError(_missing_table_message(exc)) from exc
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB: {str(exc).splitlines()[0]}") from exc

        def batches() -> Iterator[list[tuple]]:
            try:
                while batch := cur.fetchmany(batch_rows):
                    yield batch
            finally:
                cur.close()

        return [d[0] for d in cur.description], batches()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            with interrupts.deferred():  # begun and counted together; a signal meanwhile rolls it back
                self.execute("begin transaction")
                self._depth = 1
            yield
        except BaseException:
            with interrupts.deferred():
                if self._depth:
                    self._depth = 0
                    self.con.execute("rollback")
            raise
        with interrupts.deferred():  # a signal now takes effect once the commit is done
            self._depth = 0
            self.execute("commit")

    def table_exists(self, table: str) -> bool:
        # through query(): a DuckDB error here (out of memory at the first statement) is mapped too
        _, rows = self.query(
            # DuckDB's names are case-insensitive: "Users" is the table users (tester finding)
            "select count(*) from information_schema.tables where lower(table_name) = lower(?) and table_schema = ?",
            [table, self.schema or "main"],
        )
        return bool(rows and rows[0][0])

    def views_sql(self, marks: str) -> tuple[str, str] | None:
        return (
            "select lower(table_name) from information_schema.tables where table_schema = ? "
            f"and table_type = 'VIEW' and lower(table_name) in ({marks})",
            self.schema or "main",
        )

    def columns_sql(self, marks: str) -> tuple[str, str] | None:
        return (
            "select lower(table_name), column_name, data_type from information_schema.columns "
            f"where table_schema = ? and lower(table_name) in ({marks}) order by table_name, ordinal_position",
            self.schema or "main",
        )

    def reader_connection(self):
        return self.con  # parse straight into the warehouse: no copy

    def insert_from_reader(self, table: Table, reader_con, relation: str) -> int:
        for statement in self.insert_from_reader_sql(table, relation):
            self.execute(statement)
        row = self.con.execute(f"select count(*) from {relation}").fetchone()
        return int(row[0]) if row else 0


DEFAULT_SETTINGS = {
    "memory_limit": "1GB",
    "preserve_insertion_order": "false",
}
"""DuckDB settings unless the warehouse URL names others (``duckdb:///w.duckdb?memory_limit=8GB``).
``memory_limit`` bounds DuckDB's buffers: with it a load of 10M events stays within about 2 GB of
resident memory (DuckDB's own default is 80% of RAM); more lets big joins and sorts spill less.
``preserve_insertion_order = false`` lets DuckDB stream inserts and window results without keeping
rows in input order (every sparkify query that shows rows orders them itself)."""

MAX_THREADS_PER_CPU = 8
"""``threads`` above this many per CPU (and above 16) is refused: each is an operating-system thread."""

SETTINGS = (
    "memory_limit",
    "threads",
    "preserve_insertion_order",
    "temp_directory",
    "max_temp_directory_size",
)
"""The DuckDB settings a warehouse URL may name."""


def once_each(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The DuckDB settings of a warehouse URL's query, ``[(name, value), ...]``, as a dict; a
    ConfigError (exit 2) when one is given twice (``threads=2&threads=3``: which one was meant?)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in out and name in SETTINGS:
            raise ConfigError(
                f"The warehouse URL sets the DuckDB setting {name} twice ({name}={out[name]!r} and "
                f"{name}={value!r}): keep one."
            )
        out[name] = value
    return out


def _settings(given: dict[str, str]) -> dict[str, Any]:
    """:data:`DEFAULT_SETTINGS` overridden by ``given``; a ConfigError (exit 2) names an unknown
    setting or a value DuckDB refuses or would quietly take for its own default: a negative size
    (``memory_limit=-5GB`` means 80% of RAM to DuckDB) or a ``temp_directory`` whose folder is not
    there (DuckDB would fail only when it first spills, minutes into a run)."""
    import os

    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise ConfigError(
            f"Unknown DuckDB setting {', '.join(unknown)} in the warehouse URL. Settings: {', '.join(SETTINGS)}."
        )
    for name in ("memory_limit", "max_temp_directory_size"):
        if given.get(name, "").strip().startswith("-"):
            raise ConfigError(
                f"Invalid DuckDB setting {name}={given[name]!r} in the warehouse URL: a size is not negative "
                "(for example 4GB or 500MB)."
            )
    empty = sorted(name for name, value in given.items() if not value.strip())
    if empty:
        raise ConfigError(
            f"The DuckDB setting {', '.join(empty)} in the warehouse URL has no value: give one, or leave it out."
        )
    threads = given.get("threads", "").strip()
    most = max(MAX_THREADS_PER_CPU * (os.cpu_count() or 1), 16)
    with contextlib.suppress(ValueError):  # not a number: DuckDB's own check below names it
        count = float(threads)  # DuckDB reads 1e3 as 1000
        if count >= 1 and not count.is_integer():  # DuckDB rounds 1.5 to 2, silently
            raise ConfigError(
                f"Invalid DuckDB setting threads={given['threads']!r} in the warehouse URL: a number of "
                "threads is a whole number (for example 1 or 2)."
            )
        if count > most:
            raise ConfigError(
                f"Invalid DuckDB setting threads={given['threads']!r} in the warehouse URL: this machine has "
                f"{os.cpu_count()} CPUs, and more than {most} threads only add overhead (10,000 made the "
                "machine crawl): leave it out (DuckDB uses one per CPU) or give fewer."
            )
    if given.get("temp_directory"):
        path = os.path.abspath(os.path.expanduser(given["temp_directory"]))
        if os.path.exists(path) and not os.path.isdir(path):
            raise ConfigError(
                f"Invalid DuckDB setting temp_directory={given['temp_directory']!r} in the warehouse URL: "
                f"{path} is a file, not a folder."
            )
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise ConfigError(
                f"Invalid DuckDB setting temp_directory={given['temp_directory']!r} in the warehouse URL: "
                f"the folder {folder} is not there (DuckDB makes the last folder of the path, not the ones above it)."
            )
    for name, value in given.items():  # a bad value is the URL's fault (exit 2), not the warehouse's
        try:
            duckdb.connect(":memory:", config={name: value}).close()
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(
                f"Invalid DuckDB setting {name}={value!r} in the warehouse URL: {reason}"
            ) from None
    return {**DEFAULT_SETTINGS, **given}


def _acquire_lock(
    path: Path, *, wait: bool, timeout: float | None, on_wait: Callable[[str], None] | None
) -> FileLock:
    """Hold an exclusive lock on the file beside the database, so two sparkify processes never use
    one DuckDB file at once. With ``wait`` the second one waits (at most ``timeout`` seconds);
    without it, it fails at once. A lock file this user may not open is a LocalIOError naming it.

    The lock is :mod:`filelock`'s: ``flock`` on POSIX, ``msvcrt.locking`` on Windows; the operating
    system releases it when the process ends, however it ends."""
    import errno
    import os

    from sparkify.errors import LocalIOError

    # thread_local=False: the warehouse may be closed from another thread than the one that opened it
    lock = FileLock(path, thread_local=False)

    def try_lock() -> bool:
        try:
            lock.acquire(blocking=False)
            return True
        except Timeout:
            if path.exists():
                return False  # held by another process
            # filelock says "busy" when it cannot create the file at all (a read-only or special
            # folder such as /proc): nobody holds a lock that has no file, and waiting cannot help
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
                reason = "it could not be created"
            except OSError as exc:
                reason = exc.strerror or str(exc)
            raise LocalIOError(
                f"Cannot create the lock file {path}: {reason}. The folder of the warehouse file must be "
                "writable: point --warehouse at a file in a folder you can write."
            ) from None
        except OSError as exc:
            owner = ""
            try:
                import pwd

                owner = f" (it belongs to {pwd.getpwuid(os.stat(path).st_uid).pw_name})"
            except (OSError, KeyError, ImportError):
                pass
            if exc.errno == errno.EROFS:
                raise LocalIOError(
                    f"Cannot open the lock file {path}: the warehouse is on a read-only file system. Commands "
                    "that write need it writable; check, query, runs, report and analytics read it as it is."
                ) from None
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise LocalIOError(
                    f"Cannot open the lock file {path}{owner}: {exc.strerror}. Run sparkify as the user who owns "
                    f"the warehouse, or remove {path} if no sparkify process is running."
                ) from None
            raise LocalIOError(
                f"Cannot open the lock file {path}: {exc.strerror or exc}. {disk_hint(str(exc))}"
            ) from None

    wait_for(try_lock, what=str(path.with_suffix("")), wait=wait, timeout=timeout, on_wait=on_wait)
    return lock


def _writable_folder(path: str) -> bool:
    """Whether this process may create files in the folder of ``path`` (False on a read-only mount,
    even for root; a folder that does not exist yet counts as writable: it is made)."""
    folder = Path(path).parent
    return not folder.exists() or os.access(folder, os.W_OK)


def _open_database(
    path: str,
    config: dict[str, Any],
    *,
    wait: bool,
    timeout: float | None,
    on_wait: Callable[[str], None] | None,
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect(path)``, but while another program -- the DuckDB CLI, a notebook: not sparkify,
    whose lock file :func:`_acquire_lock` already holds -- has the file open, DuckDB's own lock refuses
    it: that is busy (exit 75), waited for as another sparkify process would be (``wait``, at most
    ``timeout`` seconds). Any other error is DuckDB's."""
    opened: list[duckdb.DuckDBPyConnection] = []
    holder = ["another program"]

    def try_open() -> bool:
        try:
            opened.append(duckdb.connect(path, config=config))
            return True
        except duckdb.IOException as exc:
            message = str(exc)
            # "... held in /usr/bin/python3 (PID 9363). However, you would be able to ..." (a reader
            # holding it), "... held in /usr/bin/duckdb (PID 12) by user me. See also ..."
            held = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", message) or re.search(
                r"Conflicting lock is held in (\S+)()", message
            )
            if "Could not set lock" not in message:
                raise
            if held:
                program = Path(held.group(1).rstrip(".")).name
                holder[0] = (
                    f"another program ({program}, PID {held.group(2)})"
                    if held.group(2)
                    else f"another program ({program})"
                )
            return False

    what = str(lock_path(path).with_suffix(""))  # as the wait for another sparkify process names it
    wait_for(try_open, what=what, wait=wait, timeout=timeout, on_wait=on_wait, holder=lambda: holder[0])
    return opened[0]


def shortest_single(value: Any) -> Any:
    """A REAL (4-byte float) as the float of its shortest decimal text: 0.1, where Python widens the
    single 0.1 to 0.10000000149011612. PostgreSQL and Redshift send a REAL as that text, so an answer
    reads the same on every engine. NULL, infinities and NaN are returned as they are."""
    if not isinstance(value, float) or not math.isfinite(value):
        return value
    for digits in range(6, 10):  # 9 significant digits always name a single exactly
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == value:
            return float(text)
    return value


def memory_advice(settings: Mapping[str, Any] | None) -> str:
    """What to set in the warehouse URL after DuckDB ran out of memory under ``settings`` (the DuckDB
    settings in effect; None when not known): a larger memory_limit than the one it had, and fewer
    threads unless it already had one."""
    limit = str((settings or {}).get("memory_limit", "")).strip()
    threads = str((settings or {}).get("threads", "")).strip()
    now = f"it had {limit}" if limit else "sparkify's default is 1GB"
    more = f"?memory_limit=4GB; {now}"
    have = _bytes(limit)
    if have is not None and have >= 4 * 1000**3:  # 4GB was not enough: twice what it had
        more = f"?memory_limit={2 * have // 1000**3}GB; {now}"
    fewer = "" if threads == "1" else " or fewer threads (?threads=1)"
    return f"Give it more in the warehouse URL ({more}){fewer}, then run again; nothing was changed."


def _bytes(size: str) -> int | None:
    """A DuckDB size setting (``4GB``, ``500MB``, ``1.5GiB``) in bytes, or None when it does not read as one."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?i?B?)\s*", size, flags=re.I)
    if not m:
        return None
    unit = m.group(2).upper().rstrip("B")
    base = 1024 if unit.endswith("I") else 1000
    power = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}[unit.rstrip("I")]
    return int(float(m.group(1)) * base**power)


def error_for(exc: BaseException, settings: Mapping[str, Any] | None = None) -> BaseException:
    """The sparkify error a DuckDB error means (the warehouse's, or the client-side parser's whatever
    the warehouse engine): Interrupted when a signal caused it (DuckDB turns one into ``RuntimeError:
    Query interrupted``), MissingTableError, LocalIOError for a full disk, a spill folder full or at its
    size limit, or a file it may not write, WarehouseError for running out of memory (saying what to
    set in the warehouse URL, from ``settings``: the DuckDB settings in effect) and anything else DuckDB
    refused. Not DuckDB's: returned as it is."""
    from sparkify.errors import LocalIOError, MissingTableError

    interrupted = interrupts.pending()
    if interrupted is not None:
        return interrupted
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # a table or view that is not there; another catalog error (a function DuckDB does not have) is
    # the query's own, not a sign that the tables were never made
    if isinstance(exc, duckdb.CatalogException) and re.search(r"\b(Table|View) with name\b", first):
        return MissingTableError(_missing_table_message(exc))
    if isinstance(exc, duckdb.OutOfMemoryException):
        # DuckDB's own advice that follows (SET threads, PRAGMA ...) is SQL: sparkify's settings are the URL's
        if "offload" in first or "max_temp_directory_size" in str(exc):
            return LocalIOError(
                f"DuckDB could not spill to its temp folder: {first.rstrip('.')}. Free space there (a warehouse file's "
                "is beside it, <name>.duckdb.tmp; the parser of a server warehouse uses one under TMPDIR), "
                "or set temp_directory, max_temp_directory_size or a larger memory_limit in the warehouse "
                "URL (?memory_limit=4GB), then run again; nothing was changed."
            )
        return WarehouseError(f"DuckDB ran out of memory: {first.rstrip('.')}. {memory_advice(settings)}")
    if (
        isinstance(exc, (duckdb.IOException, duckdb.PermissionException))
        or "No space left on device" in first
    ):
        return LocalIOError(f"DuckDB could not write: {first}. {disk_hint(first)}")
    if not isinstance(exc, duckdb.Error):
        return exc  # not DuckDB's: a bug, reported as one
    return WarehouseError(f"DuckDB: {first}")


@contextlib.contextmanager
def parser_errors(settings: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Raise the sparkify error (:func:`error_for`) of a DuckDB error in the block: for statements on
    the client-side parser's connection, which no warehouse's ``execute`` maps (running out of memory
    there was an "unexpected" error, exit 70)."""
    try:
        yield
    except duckdb.Error as exc:
        raise error_for(exc, settings) from exc


def disk_hint(message: str) -> str:
    """What to do about a failed write, from the operating system's words."""
    lowered = message.lower()
    if "no space left" in lowered or "disk full" in lowered or "quota" in lowered:
        return "The disk is full: free space there (or point --warehouse elsewhere) and run again; nothing was changed."
    if "permission" in lowered or "read-only" in lowered:
        return "Check the permissions of the file and its folder, or point --warehouse elsewhere."
    return "Check the disk and the path, then run again."


def _missing_table_message(exc: Exception) -> str:
    from sparkify.schema import missing_table_hint

    return missing_table_hint(str(exc).splitlines()[0])
