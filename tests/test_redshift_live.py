"""The Redshift engine on a real cluster. Runs only when these are set, and is skipped otherwise:

* ``SPARKIFY_TEST_REDSHIFT_URL``: ``redshift://user[:password]@host:5439/db`` (or PGPASSWORD)
* ``SPARKIFY_TEST_IAM_ROLE``: a role the cluster may assume, that can read the prefix
* ``SPARKIFY_TEST_S3_PREFIX``: ``s3://bucket/prefix`` holding the shipped sample as it is
  (``aws s3 sync data/sparkify-sample s3://bucket/prefix``: song_data/, log_data/, log_json_path.json)
* ``SPARKIFY_TEST_REGION`` (optional): the bucket's region, when not the cluster's

Each test works in a fresh schema, dropped afterwards. Expected values are the sample's published
counts (SOURCE.md) and the rows DuckDB computes from the same files.
"""

from __future__ import annotations

import os
import uuid

import pytest

from sparkify import pipeline
from sparkify.errors import MissingTableError, WarehouseError
from sparkify.schema import STAR_TABLES, TABLES
from tests.helpers.records import rows

REQUIRED = ("SPARKIFY_TEST_REDSHIFT_URL", "SPARKIFY_TEST_IAM_ROLE", "SPARKIFY_TEST_S3_PREFIX")
_missing = [name for name in REQUIRED if not os.environ.get(name)]

pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"live Redshift suite: set {', '.join(_missing)} to run it"
)


@pytest.fixture
def redshift():
    from sparkify.warehouse import connect

    schema = f"sparkify_test_{uuid.uuid4().hex[:12]}"
    wh = connect(
        os.environ["SPARKIFY_TEST_REDSHIFT_URL"],
        schema=schema,
        iam_role=os.environ["SPARKIFY_TEST_IAM_ROLE"],
        region=os.environ.get("SPARKIFY_TEST_REGION") or None,
    )
    yield wh
    try:
        wh.execute(f'drop schema if exists "{schema}" cascade')
    finally:
        wh.close()


@pytest.fixture
def prefix() -> str:
    return os.environ["SPARKIFY_TEST_S3_PREFIX"].rstrip("/")


def test_run_from_s3_gives_the_published_counts(redshift, prefix):
    report = pipeline.run(redshift, prefix)
    assert report.checks_failed == []
    assert report.stage.rows == {"staging_songs": 14896, "staging_events": 8056}
    assert report.rows == {"users": 97, "songs": 14896, "artists": 9553, "songplays": 6820, "time": 6813}
    _, matched = redshift.query(f"select count(song_id) from {redshift.qualified('songplays')}")
    assert matched[0][0] == 319


def test_same_rows_as_duckdb_and_a_rerun_keeps_every_id(redshift, prefix, duckdb_wh, sample_dir):
    pipeline.run(redshift, prefix)
    pipeline.run(duckdb_wh, sample_dir)
    for table in STAR_TABLES:
        assert rows(redshift, table.name) == rows(duckdb_wh, table.name), table.name
    cols = TABLES["songplays"].column_names
    before = rows(redshift, "songplays", cols)
    pipeline.run(redshift, prefix)
    assert rows(redshift, "songplays", cols) == before


def test_a_missing_prefix_is_one_clear_error(redshift, prefix):
    pipeline.create_tables(redshift)
    missing = prefix + "/no-such-prefix-" + uuid.uuid4().hex[:6]
    with pytest.raises(WarehouseError) as err:
        pipeline.stage(redshift, missing)
    message = str(err.value)
    assert message.startswith(f"Redshift ({redshift.display_url}): ") and "\n" not in message
    assert "no-such-prefix" in message  # Redshift names the prefix it could not find


def test_missing_tables_say_what_to_run(redshift):
    with pytest.raises(MissingTableError, match="Run `sparkify run` first"):
        redshift.query(f"select * from {redshift.qualified('songplays')}")
