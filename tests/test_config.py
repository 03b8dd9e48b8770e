"""Settings: flags > env > sparkify.toml > defaults, with one-line errors naming the key."""

from __future__ import annotations

import pytest

from sparkify.config import load_settings, mask_url
from sparkify.errors import ConfigError


def test_defaults(tmp_path):
    s = load_settings({}, env={}, config_file=tmp_path / "none.toml")
    assert s.warehouse == "sparkify.duckdb" and s.max_errors == 0 and s.source is None


def test_flags_beat_env_beat_file(tmp_path):
    cfg = tmp_path / "sparkify.toml"
    cfg.write_text('warehouse = "file.duckdb"\nmax_errors = 3\nsource = "from-file"\n')
    env = {"SPARKIFY_WAREHOUSE": "env.duckdb", "SPARKIFY_MAX_ERRORS": "5"}
    s = load_settings({"warehouse": "flag.duckdb", "max_errors": None}, env=env, config_file=cfg)
    assert s.warehouse == "flag.duckdb"  # flag
    assert s.max_errors == 5  # env beats file; a flag not given (None) does not count
    assert s.source == "from-file"  # file beats default


def test_unknown_key_in_file_names_it_and_suggests(tmp_path):
    cfg = tmp_path / "sparkify.toml"
    cfg.write_text('warehose = "x.duckdb"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings({}, env={}, config_file=cfg)
    msg = str(exc.value)
    assert "unknown key 'warehose'" in msg and "did you mean 'warehouse'" in msg and "\n" not in msg


def test_invalid_value_names_key_and_origin(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_settings({}, env={"SPARKIFY_MAX_ERRORS": "lots"}, config_file=tmp_path / "none.toml")
    assert "max_errors" in str(exc.value) and "SPARKIFY_MAX_ERRORS" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_settings({"max_errors": -1}, env={}, config_file=tmp_path / "none.toml")
    assert "--max-errors" in str(exc.value)


def test_broken_toml_is_a_config_error(tmp_path):
    cfg = tmp_path / "sparkify.toml"
    cfg.write_text("warehouse = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({}, env={}, config_file=cfg)


def test_mask_url_hides_only_the_password():
    assert mask_url("postgresql://bob:s3cret@db.example:5432/dw") == "postgresql://bob:***@db.example:5432/dw"
    assert mask_url("postgresql://bob@db/dw") == "postgresql://bob@db/dw"
    assert mask_url("sparkify.duckdb") == "sparkify.duckdb"
    assert "p@ss" not in mask_url("redshift://u:p@ss@host:5439/db")


def test_a_misspelled_environment_setting_is_an_error_not_silently_ignored(tmp_path):
    none = tmp_path / "none.toml"
    with pytest.raises(ConfigError, match="SPARKIFY_MAX_ERRRORS is set but is not a sparkify setting") as exc:
        load_settings({}, env={"SPARKIFY_MAX_ERRRORS": "5"}, config_file=none)
    assert "Did you mean 'SPARKIFY_MAX_ERRORS'?" in str(exc.value)
    # the test suite's and benchmarks' own variables, other programs' and unrelated names pass
    env = {
        "SPARKIFY_TEST_ENGINES": "duckdb",
        "SPARKIFY_BENCH_TRACE": "x",
        "SPARKIFY_REDSHIFT_PASSWORD": "p",
        "PATH": "/",
    }
    assert load_settings({}, env=env, config_file=none).max_errors == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("max_errors = true", "key 'max_errors' = true: expected an integer"),
        ('max_errors = "7"', "key 'max_errors' = \"7\": expected an integer"),
        ("max_errors = 1.5", "key 'max_errors' = 1.5: expected an integer"),
        ("wait_timeout = true", "key 'wait_timeout' = true: expected a number"),
        ("wait = 1", "key 'wait' = 1: expected true or false"),
        ('wait = "no"', "key 'wait' = \"no\": expected true or false"),
        ("warehouse = 5", "key 'warehouse' = 5: expected a string"),
        ("ts_min = 20180101", "key 'ts_min' = 20180101: expected a date"),
        ('s3_concurrency = "8"', "key 's3_concurrency' = \"8\": expected an integer"),
    ],
)
def test_a_toml_value_of_the_wrong_type_is_refused(tmp_path, line, expected):
    """TOML types its values: `max_errors = true` is a boolean, not 1 (a tester's finding: the file
    took it for 1 while SPARKIFY_MAX_ERRORS=true was refused)."""
    cfg = tmp_path / "sparkify.toml"
    cfg.write_text(line + "\n")
    with pytest.raises(ConfigError) as exc:
        load_settings({}, env={}, config_file=cfg)
    assert str(exc.value).startswith(f"{cfg} {expected} ")


def test_toml_values_of_the_right_type_are_taken(tmp_path):
    import datetime as dt

    cfg = tmp_path / "sparkify.toml"
    cfg.write_text(
        'max_errors = 2\nwait_timeout = 5\nwait = false\nts_min = 2018-01-01\nts_max = "2030-01-01"\n'
        's3_concurrency = 8\nschema = "music"\n'
    )
    s = load_settings({}, env={}, config_file=cfg)
    assert (s.max_errors, s.wait_timeout, s.wait, s.s3_concurrency) == (2, 5.0, False, 8)
    assert (s.ts_min, s.ts_max, s.schema_name) == (dt.date(2018, 1, 1), dt.date(2030, 1, 1), "music")


@pytest.mark.parametrize(
    "key,value,accepted",
    [
        ("manifest_prefix", "s3://bucket/staging", True),
        ("manifest_prefix", "s3://bucket", True),
        ("manifest_prefix", "bucket/staging", False),  # a tester's finding: sql printed from 'bucket/...'
        ("manifest_prefix", "s3:///staging", False),
        ("manifest_prefix", "https://bucket/staging", False),
        ("s3_endpoint", "http://127.0.0.1:9000", True),
        ("s3_endpoint", "https://s3.example.com", True),
        ("s3_endpoint", "htp://127.0.0.1:5055", False),  # was exit 66, "cannot read the source"
        ("s3_endpoint", "http://127.0.0.1:50x", False),
        ("s3_endpoint", "127.0.0.1:9000", False),
    ],
)
def test_s3_places_are_urls_of_their_kind(tmp_path, key, value, accepted):
    env = {f"SPARKIFY_{key.upper()}": value}
    if accepted:
        assert getattr(load_settings(env=env, config_file=tmp_path / "none.toml"), key) == value
    else:
        with pytest.raises(ConfigError, match=rf"Invalid {key} = .* \(from SPARKIFY_{key.upper()}\): write "):
            load_settings(env=env, config_file=tmp_path / "none.toml")


def test_a_source_set_higher_up_outranks_a_kinds_place_set_lower(tmp_path):
    """Tester finding: with log_source in sparkify.toml, `run --source ../src2` read its events from
    the file's log_source. A kind's place only applies when set at least as high as source."""
    cfg = tmp_path / "sparkify.toml"
    cfg.write_text('log_source = "file-logs"\nsong_source = "file-songs"\n')
    s = load_settings({"source": "flag-src"}, env={}, config_file=cfg)
    assert (s.source, s.song_source, s.log_source) == ("flag-src", None, None)
    s = load_settings({"source": "flag-src"}, env={"SPARKIFY_LOG_SOURCE": "env-logs"}, config_file=cfg)
    assert (s.source, s.song_source, s.log_source) == ("flag-src", None, None)
    s = load_settings({"source": "flag-src", "log_source": "flag-logs"}, env={}, config_file=cfg)
    assert (s.source, s.song_source, s.log_source) == ("flag-src", None, "flag-logs")
    s = load_settings(
        {}, env={"SPARKIFY_SOURCE": "env-src", "SPARKIFY_LOG_SOURCE": "env-logs"}, config_file=cfg
    )
    assert (s.source, s.song_source, s.log_source) == ("env-src", None, "env-logs")
    s = load_settings({"log_source": "flag-logs"}, env={}, config_file=tmp_path / "none.toml")
    assert (s.source, s.log_source) == (None, "flag-logs")


@pytest.mark.parametrize(
    "content, message",
    [
        ('warehouse = "w.duckdb"\n'.encode("utf-16"), r"is not UTF-8 text \(it starts like UTF-16\): byte 0"),
        (b'warehouse = "caf\xe9.duckdb"\n', r"is not UTF-8 text: byte 16 is not UTF-8"),
    ],
)
def test_a_settings_file_that_is_not_utf8_is_a_config_error(tmp_path, content, message):
    """Tester finding: a UTF-16 sparkify.toml was exit 70, "unexpected UnicodeDecodeError"."""
    cfg = tmp_path / "sparkify.toml"
    cfg.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_settings({}, env={}, config_file=cfg)


def test_a_settings_file_with_a_byte_order_mark_is_read(tmp_path):
    cfg = tmp_path / "sparkify.toml"
    cfg.write_bytes(b'\xef\xbb\xbfwarehouse = "w.duckdb"\n')
    assert load_settings({}, env={}, config_file=cfg).warehouse == "w.duckdb"


def test_a_folder_named_like_the_settings_file_is_refused(tmp_path):
    (tmp_path / "sparkify.toml").mkdir()
    with pytest.raises(ConfigError, match=r"sparkify.toml is a folder"):
        load_settings({}, env={}, config_file=tmp_path / "sparkify.toml")
