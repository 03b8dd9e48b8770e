"""Every statement goes through one wrapper in the warehouse base class: traced once, run by the
engine, a driver error raised as the sparkify error the engine maps it to (as dlt's sql_client)."""

from __future__ import annotations

import pytest

from sparkify.errors import MissingTableError, WarehouseError
from sparkify.warehouse import connect
from sparkify.warehouse.base import Warehouse


class DriverError(Exception):
    """What a driver raises."""


class Mapped(WarehouseError):
    """What the engine makes of it."""


class Fake(Warehouse):
    """An engine that implements only the hooks: run a statement, name its driver's errors, map one."""

    name = "fake"

    def __init__(self):
        super().__init__("fake://")
        self.sent: list[str] = []
        self.mapped: list[BaseException] = []

    def close(self) -> None: ...

    def transaction(self):  # pragma: no cover - not used here
        raise NotImplementedError

    def table_exists(self, table: str) -> bool:
        return False

    def insert_from_reader(self, table, reader_con, relation):  # pragma: no cover - not used here
        raise NotImplementedError

    def _execute(self, statement, params):
        self.sent.append(statement)
        if "boom" in statement:
            raise DriverError("driver says no")

    def _query(self, statement, params):
        self.sent.append(statement)
        return ["x"], [(len(params or ()),)]

    def _driver_errors(self):
        return (DriverError,)

    def error_for(self, exc):
        self.mapped.append(exc)
        return Mapped(f"mapped: {exc}")


def test_the_base_class_traces_runs_and_maps_each_statement_once():
    wh = Fake()
    traced: list[str] = []
    wh.tracer = traced.append
    wh.execute("create table t (x int)")
    assert wh.query("select ?", [1]) == (["x"], [(1,)])
    with pytest.raises(Mapped, match="mapped: driver says no") as caught:
        wh.execute("boom")
    assert isinstance(caught.value.__cause__, DriverError)
    assert traced == wh.sent == ["create table t (x int)", "select ?", "boom"]
    assert [str(e) for e in wh.mapped] == ["driver says no"]


def test_an_error_that_is_not_the_drivers_is_not_mapped():
    wh = Fake()

    def bug():
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        wh.run_statement("select 1", bug)
    assert wh.mapped == []


def test_duckdb_goes_through_the_wrapper(tmp_path):
    with connect(f"duckdb:///{tmp_path}/w.duckdb") as wh:
        traced: list[str] = []
        wh.tracer = traced.append
        wh.execute("create table t (x integer)")
        assert wh.query("select count(*) from t") == (["count_star()"], [(0,)])
        with pytest.raises(MissingTableError):
            wh.query("select * from missing")
        with pytest.raises(WarehouseError, match="^DuckDB: "):
            wh.execute("select nonsense(")
    assert traced == [
        "create table t (x integer)",
        "select count(*) from t",
        "select * from missing",
        "select nonsense(",
    ]
