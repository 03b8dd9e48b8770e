"""DuckDB settings: memory bounded by default, and a warehouse URL query for users with more memory."""

from __future__ import annotations

import duckdb
import pytest

from sparkify.errors import ConfigError
from sparkify.warehouse import connect
from sparkify.warehouse.duckdb import DEFAULT_SETTINGS

SHOWN = "select current_setting('memory_limit'), current_setting('threads'), current_setting('preserve_insertion_order')"


def as_duckdb_shows(config: dict) -> tuple:
    """The settings as DuckDB itself reports them for a connection opened with ``config``."""
    con = duckdb.connect(":memory:", config=config)
    try:
        return con.execute(SHOWN).fetchone()
    finally:
        con.close()


def test_a_warehouse_bounds_duckdb_memory_by_default(tmp_path):
    with connect(f"duckdb:///{tmp_path}/w.duckdb") as wh:
        assert wh.query(SHOWN)[1][0] == as_duckdb_shows(DEFAULT_SETTINGS)


def test_the_url_query_sets_memory_and_threads(tmp_path):
    with connect(f"duckdb:///{tmp_path}/w.duckdb?memory_limit=3GB&threads=1") as wh:
        assert wh.query(SHOWN)[1][0] == as_duckdb_shows(
            {**DEFAULT_SETTINGS, "memory_limit": "3GB", "threads": "1"}
        )
    assert (tmp_path / "w.duckdb").exists()  # the query is not part of the file name


def test_an_unknown_setting_is_named(tmp_path):
    with pytest.raises(ConfigError, match="Unknown DuckDB setting memry_limit"):
        connect(f"duckdb:///{tmp_path}/w.duckdb?memry_limit=3GB")
    assert not (tmp_path / "w.duckdb").exists()
