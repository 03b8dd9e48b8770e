"""Rows from the client-side DuckDB into PostgreSQL's ``COPY ... FROM STDIN``, with no row in Python.

DuckDB writes the rows as PostgreSQL CSV (:func:`csv_copy_sql`) into a named pipe; :func:`pipe_rows`
hands what comes out to the COPY in blocks. :func:`split_reader_settings` takes that client-side
DuckDB's own settings (``memory_limit`` ...) out of a warehouse URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from sparkify.schema import Table
from sparkify.warehouse.base import quote

COPY_BLOCK_BYTES = 1 << 20
"""Bytes of CSV read from DuckDB's pipe and handed to COPY at a time. With psycopg's write queue
(at most 128 MiB in flight) this bounds the memory a load takes, whatever its size."""


def pipe_rows(
    reader_con,
    copy_sql: Callable[[str], str],
    write: Callable[[bytes], Any],
    *,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Run DuckDB's ``copy_sql(path)`` (a ``COPY ... TO path``) into a named pipe in a thread of its own,
    and pass what it writes to ``write`` in blocks of at most :data:`COPY_BLOCK_BYTES`.

    An error on either side stops both: a failed ``write`` interrupts DuckDB (the pipe is drained
    so it is not left blocked), and DuckDB's error is raised here once the pipe is empty, as the
    sparkify error it means (:func:`sparkify.warehouse.duckdb.error_for`: out of memory, a full spill folder),
    with advice from ``settings`` (the reader connection's DuckDB settings).
    """
    import os
    import select
    import threading

    from sparkify.files import scratch_dir

    with scratch_dir("copy") as folder:
        path = os.path.join(folder, "rows.csv")
        os.mkfifo(path, 0o600)
        # read-write: opening never blocks, and the pipe never reports the end while we hold it;
        # the writer thread's end is what says the rows are all out
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        failed: list[BaseException] = []

        def produce() -> None:
            try:
                reader_con.execute(copy_sql(path))  # its temp views are this connection's
            except BaseException as exc:  # handed to the consuming thread
                failed.append(exc)

        worker = threading.Thread(target=produce, name="sparkify-copy", daemon=True)

        def drain(timeout: float) -> bytes | None:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return None
            try:
                return os.read(fd, COPY_BLOCK_BYTES)
            except BlockingIOError:
                return None

        try:
            worker.start()
            while True:
                block = drain(0.05)
                if block:
                    write(block)
                elif not worker.is_alive():
                    while block := drain(0):  # what it wrote just before it ended
                        write(block)
                    break
        except BaseException:
            with contextlib.suppress(Exception):
                reader_con.interrupt()
            while worker.is_alive():
                drain(0.05)
            raise
        finally:
            worker.join()
            os.close(fd)
        if failed:
            from sparkify.warehouse.duckdb import error_for

            raise error_for(failed[0], settings) from failed[0]


def csv_copy_sql(table: Table, relation: str, path: str) -> str:
    """DuckDB ``COPY`` writing ``relation`` to ``path`` as PostgreSQL CSV (``COPY ... (format csv)``),
    one line per row, in ``table``'s column order.

    Text is always quoted (inner quotes doubled), so an empty string stays ``""`` and cannot be taken
    for NULL, which is the unquoted empty field. Other values are cast to text first: numbers in
    DuckDB's shortest round-trip form (every double comes back bit for bit), timestamps in ISO form.
    Rows come out in no particular order (DuckDB writes in parallel).
    """
    cols = []
    for c in table.columns:
        col = quote(c.name)
        cols.append(col if c.type == "text" else f"cast({col} as varchar) as {col}")
    text = [quote(c.name) for c in table.columns if c.type == "text"]
    force = f", force_quote ({', '.join(text)})" if text else ""
    target = path.replace("'", "''")
    return (
        f"copy (select {', '.join(cols)} from {relation}) to '{target}' "
        f"(format csv, header false, nullstr '', use_tmp_file false{force})"
    )


def split_reader_settings(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without the settings of the client-side DuckDB parser (the names in
    :data:`sparkify.warehouse.duckdb.SETTINGS`, e.g. ``memory_limit``), and those settings:
    ``postgresql://me@h/db?sslmode=require&memory_limit=4GB`` ->
    ``("postgresql://me@h/db?sslmode=require", {"memory_limit": "4GB"})``. Other parameters stay for libpq."""
    from urllib.parse import unquote

    from sparkify.warehouse.duckdb import SETTINGS, once_each

    if "?" not in url:
        return url, {}
    base, query = url.split("?", 1)
    ours: list[tuple[str, str]] = []
    rest = []
    for part in query.split("&"):  # libpq's parameters are kept as written, encoding and all
        key, _, value = part.partition("=")
        if unquote(key) in SETTINGS:
            ours.append((unquote(key), unquote(value)))
        elif part:
            rest.append(part)
    return (base + "?" + "&".join(rest) if rest else base), once_each(ours)
