"""Shared fixtures. Engines under test are chosen by SPARKIFY_TEST_ENGINES (default: all available)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sparkify-sample"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The real Sparkify sample shipped in the repo."""
    return SAMPLE


@pytest.fixture
def duckdb_wh(tmp_path):
    """A fresh DuckDB warehouse in a temp file."""
    from sparkify.warehouse import connect

    wh = connect(f"duckdb:///{tmp_path}/test.duckdb")
    yield wh
    wh.close()
