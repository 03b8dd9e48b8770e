"""The helpers every layer shares: one "did you mean", one SQL string literal, one value
normalisation, one atomic write, one description of the songs/events kinds."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import stat

import duckdb
import pytest

from sparkify.errors import closest, did_you_mean
from sparkify.files import write_atomically
from sparkify.quoting import literal, quote
from sparkify.schema import FILE_KINDS, STAGING_EVENTS, STAGING_SONGS, file_kind_of
from sparkify.values import normalize


def test_did_you_mean_names_the_closest_choice_in_either_form():
    assert did_you_mean("transfrom", ["stage", "transform"]) == " Did you mean 'transform'?"
    assert did_you_mean("warehose", ["source", "warehouse"], aside=True) == " (did you mean 'warehouse'?)"
    assert did_you_mean("zzz", ["stage", "transform"]) == ""
    assert closest("zzz", ["stage"]) is None


@pytest.mark.parametrize("text", ["plain", "it's", "''", "a\\b", "x'; drop table t; --", "é\n"])
def test_a_literal_reads_back_as_the_same_text(text):
    [(value,)] = duckdb.connect().execute(f"select {literal(text)}").fetchall()
    assert value == text


def test_quote_doubles_embedded_quotes():
    assert quote('we"ird') == '"we""ird"'


@pytest.mark.parametrize(
    "value,expected,kind",
    [
        (decimal.Decimal("12"), 12, int),
        # a numeric with a scale stays exact, every digit (a float turned 12345678901234567890.12
        # into 1.2345678901234567e+19)
        (decimal.Decimal("1.5"), decimal.Decimal("1.5"), decimal.Decimal),
        (decimal.Decimal("5.00"), decimal.Decimal("5.00"), decimal.Decimal),
        (
            decimal.Decimal("12345678901234567890.12"),
            decimal.Decimal("12345678901234567890.12"),
            decimal.Decimal,
        ),
        (decimal.Decimal("1E+2"), 100, int),
        (7, 7, int),
        ("x", "x", str),
    ],
)
def test_normalize_keeps_decimals_exact_and_integral_ones_as_ints(value, expected, kind):
    result = normalize(value)
    assert result == expected and type(result) is kind


def test_normalize_makes_aware_datetimes_naive_utc():
    aware = dt.datetime(2018, 11, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert normalize(aware) == dt.datetime(2018, 11, 1, 10)
    assert normalize(dt.datetime(2018, 11, 1)) == dt.datetime(2018, 11, 1)


def test_write_atomically_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sparkify.toml"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_atomically(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["sparkify.toml"]


def test_write_atomically_gives_a_new_file_the_usual_mode(tmp_path):
    mask = os.umask(0o027)
    try:
        write_atomically(tmp_path / "report.html", "<p>")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o640


def test_write_atomically_leaves_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "\udcff")  # a lone surrogate cannot be written as UTF-8
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["report.html"]


def test_the_file_kinds_describe_songs_then_events():
    assert list(FILE_KINDS) == ["songs", "events"]
    songs, events = FILE_KINDS["songs"], FILE_KINDS["events"]
    assert (songs.folder, songs.flag, songs.setting, songs.noun) == (
        "song_data",
        "--song-source",
        "song_source",
        "song",
    )
    assert (events.folder, events.flag, events.setting, events.noun) == (
        "log_data",
        "--log-source",
        "log_source",
        "log",
    )
    assert songs.staging is STAGING_SONGS and events.staging is STAGING_EVENTS
    assert file_kind_of("staging_events") is events
    with pytest.raises(KeyError):
        file_kind_of("songs")
