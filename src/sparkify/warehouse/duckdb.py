"""DuckDB: the embedded default engine. No server; one file."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

import duckdb

from sparkify.errors import WarehouseError
from sparkify.schema import Table
from sparkify.warehouse.base import Warehouse


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
    }
    macros: ClassVar[dict[str, str]] = {
        # epoch milliseconds -> TIMESTAMP (UTC, millisecond precision kept)
        "ts_to_timestamp": "epoch_ms({0})",
    }

    def __init__(self, url: str, path: str, *, schema: str | None = None):
        super().__init__(url, schema=schema)
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(path)
        except duckdb.Error as exc:
            raise WarehouseError(f"Cannot open DuckDB database {path}: {exc}") from exc
        self._depth = 0

    @classmethod
    def offline(cls, *, schema: str | None = None, **options) -> "DuckDBWarehouse":
        return cls("duckdb:///:memory:", ":memory:")  # in memory: nothing on disk is touched

    def close(self) -> None:
        self.con.close()

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        if self.tracer:
            self.tracer(statement)
        try:
            self.con.execute(statement, params)
        except duckdb.CatalogException as exc:
            from sparkify.errors import MissingTableError

            raise MissingTableError(_missing_table_message(exc)) from exc
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB: {str(exc).splitlines()[0]}") from exc

    def query(self, statement: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple]]:
        if self.tracer:
            self.tracer(statement)
        try:
            cur = self.con.execute(statement, params)
            cols = [d[0] for d in cur.description]
            return cols, cur.fetchall()
        except duckdb.CatalogException as exc:
            from sparkify.errors import MissingTableError

            raise MissingTableError(_missing_table_message(exc)) from exc
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB: {str(exc).splitlines()[0]}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.con.execute("begin transaction")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.con.execute("rollback")
            raise
        self._depth = 0
        self.con.execute("commit")

    def table_exists(self, table: str) -> bool:
        rows = self.con.execute(
            "select count(*) from information_schema.tables where table_name = ? and table_schema = ?",
            [table, self.schema or "main"],
        ).fetchone()
        return bool(rows[0])

    def reader_connection(self):
        return self.con  # parse straight into the warehouse: no copy

    def load_staging(self, table: Table, reader_con, relation: str) -> int:
        for statement in self.load_staging_sql(table, relation):
            self.execute(statement)
        return self.con.execute(f"select count(*) from {self.qualified(table.name)}").fetchone()[0]


def _missing_table_message(exc: Exception) -> str:
    first = str(exc).splitlines()[0]
    return f"{first}. Run `sparkify create-tables` first."
