"""open_source: where each kind of file comes from, and the combinations it refuses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.config import load_settings
from sparkify.errors import ConfigError, SourceError
from sparkify.sources import open_source
from sparkify.sources.s3 import parse_s3_uri
from tests.helpers.records import event, song, write_source


@pytest.fixture
def source(tmp_path):
    return write_source(
        tmp_path / "src", songs=[song()], events=[event(), event(ts=1541105831796, itemInSession=1)]
    )


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
        "s3://a/songs",
        "s3://b/logs",
        "http://127.0.0.1:9000",
        16,
    )
    assert load_settings({}, env={}, config_file=tmp_path / "none.toml").s3_concurrency == 32
    with pytest.raises(ConfigError, match=r"Invalid s3_concurrency = '0' \(from SPARKIFY_S3_CONCURRENCY\)"):
        load_settings({}, env={"SPARKIFY_S3_CONCURRENCY": "0"}, config_file=toml)


# -- discovery: every file is read, links are followed, nothing is skipped without a word ----------


def days_elsewhere(tmp_path, n: int) -> tuple[Path, list[str]]:
    """A folder outside the source with ``n`` day files of one event each, named as users do."""
    folder = tmp_path / "archive" / "2018-12"
    folder.mkdir(parents=True)
    names = ["day1", "day2.jsonl", "day3.NDJSON", "day4.json"][:n]
    for i, name in enumerate(names):
        (folder / name).write_text(
            json.dumps(event(ts=1543622400000 + i * 1000, itemInSession=i, sessionId=20)) + "\n"
        )
    return folder, names


def test_every_file_is_read_whatever_its_name(tmp_path, source, duckdb_wh):
    folder, names = days_elsewhere(tmp_path, 4)
    for name in names:
        (source / "log_data" / "2018" / "11" / name).write_bytes((folder / name).read_bytes())
    report = pipeline.run(duckdb_wh, source)
    assert report.stage.results["events"].staged == 2 + 4  # the fixture's two events and one per file
    assert report.rows["songplays"] == 6


def test_links_to_folders_and_files_are_followed(tmp_path, source, duckdb_wh):
    folder, names = days_elsewhere(tmp_path, 3)
    (source / "log_data" / "2018" / "12").symlink_to(folder, target_is_directory=True)
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(event(ts=1543708800000, sessionId=30)) + "\n")
    (source / "log_data" / "2018" / "11" / "linked.json").symlink_to(extra)
    listed = [f.name for f in open_source(source).list("events")]
    # each file is known by its resolved path, wherever the link that leads to it is
    assert listed == sorted(
        [str(source / "log_data" / "2018" / "11" / "2018-11-01-events.json"), str(extra)]
        + [str(folder / name) for name in names]
    )
    assert pipeline.run(duckdb_wh, source).stage.results["events"].staged == 2 + 1 + 3
    # the next run reads nothing again and removes nothing: the month behind the link is still there
    again = pipeline.run(duckdb_wh, source).stage.plans["events"]
    assert (again.unchanged, again.new, again.absent) == (5, 0, [])


def test_a_link_loop_is_read_once_and_counted(source):
    (source / "log_data" / "2018" / "11" / "again").symlink_to(source / "log_data", target_is_directory=True)
    listing = open_source(source).list("events")
    assert [f.name for f in listing] == [str(source / "log_data" / "2018" / "11" / "2018-11-01-events.json")]
    assert listing.repeated == [str(source / "log_data" / "2018" / "11" / "again")]


def test_a_broken_link_is_an_error_naming_it(source):
    broken = source / "log_data" / "2018" / "11" / "gone.json"
    broken.symlink_to(source / "nowhere.json")
    with pytest.raises(SourceError, match=rf"^{broken} is a broken link \(No such file or directory\)"):
        open_source(source).list("events")


def test_a_link_to_itself_is_an_error_that_says_so(source):
    loop = source / "log_data" / "loopy"
    loop.symlink_to(loop)
    with pytest.raises(SourceError, match=rf"^{loop} is a symbolic link that leads to itself \("):
        open_source(source).list("events")


def test_a_folder_that_cannot_be_read_is_an_error_naming_it(source, monkeypatch):
    import os

    locked = source / "log_data" / "2018" / "11"
    real = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)  # the tests run as root: chmod would not stop them
    with pytest.raises(
        SourceError, match=rf"^Cannot read folder {locked} \(Permission denied\): its files would be missed"
    ):
        open_source(source).list("events")


def test_a_file_that_cannot_be_read_is_an_error_naming_it(source, duckdb_wh, monkeypatch):
    # (the tests run as root, whom chmod does not stop: os.open refuses that one file instead)
    target = source / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    real_open = os.open

    def refusing_open(file, *args, **kwargs):
        if os.fspath(file) == str(target):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(SourceError, match=rf"^Cannot read {target}: Permission denied"):
        pipeline.run(duckdb_wh, source)
    assert duckdb_wh.query("select count(*) from staging_events")[1] == [(0,)]


def test_zero_byte_files_are_passed_over_and_counted(source):
    (source / "log_data" / "2018" / "11" / "_SUCCESS").write_bytes(b"")
    (source / "log_data" / ".keep").write_bytes(b"")
    listing = open_source(source).list("events")
    assert [f.name for f in listing] == [str(source / "log_data" / "2018" / "11" / "2018-11-01-events.json")]
    assert listing.empty == [
        str(source / "log_data" / ".keep"),
        str(source / "log_data" / "2018" / "11" / "_SUCCESS"),
    ]
    assert listing.passed_over == 2


@pytest.mark.parametrize("flag", [None, "--log-source"])
def test_a_place_with_no_file_to_read_is_an_error_that_changes_nothing(tmp_path, source, duckdb_wh, flag):
    pipeline.run(duckdb_wh, source)
    before = duckdb_wh.query("select count(*) from songplays")[1]
    empty = tmp_path / "empty"
    (empty / "log_data" / "2018").mkdir(parents=True)
    (empty / "log_data" / "2018" / ".keep").write_bytes(b"")
    if flag:
        src, fix = open_source(source, log_source=empty / "log_data"), "Check --log-source."
    else:
        (empty / "song_data").symlink_to(source / "song_data", target_is_directory=True)
        src, fix = open_source(empty), "Check --source (or pass --log-source)."
    with pytest.raises(SourceError) as exc:
        pipeline.run(duckdb_wh, src)
    assert (
        str(exc.value)
        == f"No log files in {empty / 'log_data'} (only 1 zero-byte file). Nothing was loaded. {fix}"
    )
    assert duckdb_wh.query("select count(*) from songplays")[1] == before == [(2,)]


@pytest.mark.parametrize("listed", [0, 10, 99_999, 100_000, 300_000])
def test_a_local_file_is_read_whole_whatever_size_the_listing_saw(tmp_path, listed):
    # the listing's size is only a hint for the first read: a file that grew (or shrank) since
    # it was listed is still read to its end, never cut at the listed size
    from sparkify.sources.local import _read_whole

    data = bytes(range(256)) * 400 + b"tail"  # 102,404 bytes: more than one 64 KiB read
    path = tmp_path / "grown.json"
    path.write_bytes(data)
    assert _read_whole(str(path), listed) == data
    path.write_bytes(b"")
    assert _read_whole(str(path), listed) == b""


def test_a_local_file_is_read_whole_when_the_system_returns_less_than_asked(tmp_path, monkeypatch):
    from sparkify.sources.local import _read_whole

    data = b'{"song_id": "S1"}\n' * 50
    path = tmp_path / "short.json"
    path.write_bytes(data)
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: real_read(fd, min(n, 7)))  # as a pipe or NFS may
    assert _read_whole(str(path), len(data)) == data


@pytest.mark.parametrize("size", ["small", "over 1 MB"])
def test_a_file_deleted_after_the_listing_is_a_retry_later_error_that_changes_nothing(
    source, duckdb_wh, size
):
    # a writer that replaces files (write, rename, delete) can take one away between list and read
    from sparkify.errors import ExitCode, TransientSourceError

    pipeline.run(duckdb_wh, source)
    before = duckdb_wh.query("select count(*) from staging_events")[1]
    day = source / "log_data" / "2018" / "11" / "2018-11-05-events.json"
    day.parent.mkdir(parents=True, exist_ok=True)
    day.write_bytes(
        b"".join(
            json.dumps(event(ts=1541105830796 + i)).encode() + b"\n"
            for i in range(4000 if size != "small" else 2)
        )
    )
    assert (day.stat().st_size >= 1 << 20) == (size != "small")
    src = open_source(source)
    listed = src.list

    def list_then_delete(kind):
        files = listed(kind)
        if kind == "events":
            day.unlink()
        return files

    src.list = list_then_delete
    with pytest.raises(TransientSourceError, match=rf"^{day} was listed but is gone: .* run again\.$") as exc:
        pipeline.run(duckdb_wh, src)
    assert exc.value.exit_code == ExitCode.TEMPFAIL
    assert duckdb_wh.query("select count(*) from staging_events")[1] == before


@pytest.mark.parametrize(
    "songs, logs, inner, outer",
    [
        ("src", "src/log_data", "src/log_data", "src"),  # the whole source as the songs' place
        ("src/song_data", "src", "src/song_data", "src"),
        ("src/log_data", "src/log_data", None, None),  # the same place
    ],
)
def test_song_and_log_places_that_overlap_are_refused(tmp_path, songs, logs, inner, outer):
    """Tester finding: --song-source SRC --log-source SRC/log_data read every log file as a song file
    too: PostgreSQL failed on the ledger's key (exit 69), DuckDB recorded each file twice."""
    from tests.helpers.records import event, song, write_source

    write_source(tmp_path / "src", songs=[song()], events=[event()])
    with pytest.raises(ConfigError) as exc:
        open_source(song_source=tmp_path / songs, log_source=tmp_path / logs)
    message = str(exc.value)
    if inner is None:
        assert f"({tmp_path / songs}) and the log files' ({tmp_path / logs}) are the same place" in message
    else:
        assert f"overlap: {tmp_path / inner} is inside {tmp_path / outer}, so files there" in message
    assert open_source(song_source=tmp_path / "src" / "song_data", log_source=tmp_path / "src" / "log_data")
    assert open_source(tmp_path / "src", log_source=tmp_path / "src" / "log_data" / "2018")  # a day's folder


@pytest.mark.parametrize(
    "songs, logs, refused",
    [
        ("s3://b/x", "s3://b/x/log_data", True),
        ("s3://b/", "s3://b/logs", True),  # the whole bucket holds every prefix
        ("s3://b/x/song_data", "s3://b/x/song_data_old", False),  # a name that only starts alike
        ("s3://b/x/song_data", "s3://c/x/song_data", False),  # another bucket
    ],
)
def test_s3_prefixes_that_overlap_are_refused(songs, logs, refused):
    if refused:
        with pytest.raises(ConfigError, match="so files there would be read as songs and as events both"):
            open_source(song_source=songs, log_source=logs)
    else:
        assert open_source(song_source=songs, log_source=logs)
