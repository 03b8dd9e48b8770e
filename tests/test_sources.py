"""open_source: where each kind of file comes from, and the combinations it refuses."""

from __future__ import annotations

import pytest

from sparkify import pipeline
from sparkify.config import load_settings
from sparkify.errors import ConfigError, SourceError
from sparkify.sources import open_source
from sparkify.sources.s3 import parse_s3_uri
from tests.helpers.fixtures import event, song, write_source


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "src", [event(), event(ts=1541105831796, itemInSession=1)], [song()])


def test_local_song_and_log_folders_may_be_given_separately(tmp_path, source, duckdb_wh):
    moved = tmp_path / "elsewhere"
    (source / "log_data").rename(moved)
    src = open_source(None, song_source=source / "song_data", log_source=moved)
    assert src.description == f"{source / 'song_data'} and {moved}"
    assert [f.name for f in src.list("events")] == [str(moved / "2018" / "11" / "2018-11-01-events.json")]
    report = pipeline.run(duckdb_wh, src)
    assert report.rows["songplays"] == 2
    # one kind overridden, the other from the source folder
    assert open_source(source, log_source=moved).list("events") == src.list("events")


def test_a_missing_separate_folder_names_its_option(tmp_path, source):
    with pytest.raises(SourceError, match=r"nowhere does not exist or is not a folder. Check --log-source."):
        open_source(source, log_source=tmp_path / "nowhere").list("events")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({}, "No source given: pass --source, or both --song-source and --log-source."),
        ({"song_source": "songs"}, "No source given"),
        ({"location": "data", "log_source": "s3://bucket/logs"}, "give all local folders or all s3:// URIs"),
        ({"location": "s3://", "s3_endpoint": None}, "no valid bucket name"),
        ({"location": "s3://bad bucket/x"}, "no valid bucket name"),
    ],
)
def test_combinations_that_make_no_sense_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        open_source(**kwargs)


@pytest.mark.parametrize(
    "uri,expected",
    [
        ("s3://udacity-dend", ("udacity-dend", "")),
        ("s3://udacity-dend/", ("udacity-dend", "")),
        ("s3://b/some/prefix/", ("b", "some/prefix")),
        ("s3://b//x", ("b", "x")),
    ],
)
def test_parse_s3_uri(uri, expected):
    assert parse_s3_uri(uri) == expected


def test_source_settings_come_from_flags_env_and_file(tmp_path):
    toml = tmp_path / "sparkify.toml"
    toml.write_text('song_source = "s3://a/songs"\ns3_concurrency = 8\n')
    env = {"SPARKIFY_LOG_SOURCE": "s3://b/logs", "SPARKIFY_S3_CONCURRENCY": "16"}
    settings = load_settings({"s3_endpoint": "http://127.0.0.1:9000"}, env=env, config_file=toml)
    assert (settings.song_source, settings.log_source, settings.s3_endpoint, settings.s3_concurrency) == (
        "s3://a/songs", "s3://b/logs", "http://127.0.0.1:9000", 16,
    )
    assert load_settings({}, env={}, config_file=tmp_path / "none.toml").s3_concurrency == 32
    with pytest.raises(ConfigError, match=r"Invalid s3_concurrency = '0' \(from SPARKIFY_S3_CONCURRENCY\)"):
        load_settings({}, env={"SPARKIFY_S3_CONCURRENCY": "0"}, config_file=toml)
