"""Settings from flags, environment and ``sparkify.toml``, validated; ``sparkify.toml`` written.

Precedence: command-line flags > environment (``SPARKIFY_<KEY>``) > ``sparkify.toml`` in the working
directory > defaults, key by key -- except that ``song_source`` and ``log_source`` apply only where set
at least as high as ``source`` (a ``--source`` flag names both places). A bad or unknown key is a
:class:`ConfigError` naming the key, where it came from, and the fix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from sparkify.errors import ConfigError, did_you_mean
from sparkify.files import write_atomically
from sparkify.schema import FILE_KINDS
from sparkify.sources.s3 import DEFAULT_CONCURRENCY
from sparkify.staging.rules import DEFAULT_TS_MAX, DEFAULT_TS_MIN, RecordRules
from sparkify.urls import encoding_hint, mask_url, password_needing_encoding

__all__ = ["CONFIG_FILE", "ENV_PREFIX", "FIELDS", "Settings", "default_source", "load_settings", "mask_url"]

CONFIG_FILE = "sparkify.toml"
ENV_PREFIX = "SPARKIFY_"
DEFAULT_WAREHOUSE = "sparkify.duckdb"


class Settings(BaseModel):
    """Every setting sparkify reads. Each is also ``SPARKIFY_<NAME>`` and a key of sparkify.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    """Folder (or s3:// prefix) holding song_data/ and log_data/. Default: the shipped sample."""
    song_source: str | None = None
    """Folder (or s3:// prefix) of the song files, when they are not in <source>/song_data/."""
    log_source: str | None = None
    """Folder (or s3:// prefix) of the log files, when they are not in <source>/log_data/."""
    s3_endpoint: str | None = None
    """URL of an S3-compatible endpoint (MinIO, a local moto server). Default: boto3's own setting,
    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS."""
    s3_concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=1024)
    """How many S3 objects are read at once (tens of thousands of tiny song objects are latency-bound)."""
    warehouse: str = DEFAULT_WAREHOUSE
    """duckdb:///file.duckdb, a bare *.duckdb path, postgresql://... or redshift://..."""
    schema_name: str | None = Field(default=None, alias="schema")
    """Database schema for every table (PostgreSQL and Redshift)."""
    max_errors: int = Field(default=0, ge=0)
    """How many rejected input records a run tolerates."""
    ts_min: dt.date = DEFAULT_TS_MIN
    """Events whose ``ts`` (epoch ms, UTC) falls before this date are rejected: not real activity
    (e.g. ``ts`` written in seconds)."""
    ts_max: dt.date = DEFAULT_TS_MAX
    """Events whose ``ts`` falls on or after this date are rejected (e.g. ``ts`` in microseconds)."""
    wait: bool = True
    """When another sparkify process holds the warehouse: wait for it (True) or fail at once."""
    wait_timeout: float = Field(default=3600.0, ge=0)
    """Seconds to wait for another sparkify process before giving up (exit 75, worth retrying)."""
    iam_role: str | None = None
    """IAM role ARN that Redshift's COPY assumes to read S3."""
    region: str | None = None
    """AWS region of the cluster (``infra``) and of the staging prefix's bucket COPY reads, when it
    differs from the cluster's (``run``)."""
    manifest_prefix: str | None = None
    """Where Redshift runs write the COPY manifest of the objects they load (``s3://bucket/prefix``,
    readable by the IAM role); default ``<source>/_sparkify/manifests``. Each is deleted after its COPY."""

    @field_validator("schema_name")
    @classmethod
    def _schema_named(cls, value: str | None) -> str | None:
        """A schema is named, or left out (the default): an empty name (``--schema "$UNSET"``) is no
        schema, and would silently mean ``public``."""
        if value is not None and not value.strip():
            raise ValueError("a schema needs a name: leave --schema out for the default (public)")
        return value

    @field_validator("manifest_prefix")
    @classmethod
    def _s3_place(cls, value: str | None) -> str | None:
        """``s3://bucket[/prefix]``: the COPY reads what is written there, so nothing else will do."""
        if value is None:
            return value
        from sparkify.sources.s3 import parse_s3_uri

        try:
            parse_s3_uri(value)
        except ConfigError:
            raise ValueError(
                "write s3://bucket/prefix, a place this machine may write and the IAM role may read"
            ) from None
        return value

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        """``http(s)://host[:port]``: a typo in the scheme would otherwise read as an unreachable source."""
        if value is None:
            return value
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("write http://host:port or https://host (an S3-compatible endpoint)")
        return value

    @field_validator("ts_min", "ts_max", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        """A day, written ``YYYY-MM-DD`` (UTC): nothing else is taken for one."""
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()) if len(value.strip()) == 10 else _not_a_date()
            except ValueError:
                _not_a_date()
        return value

    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    def origin(self, key: str) -> str:
        """Where setting ``key`` came from, as a person would look for it: ``--warehouse``,
        ``SPARKIFY_WAREHOUSE`` or ``sparkify.toml key 'warehouse'``; ``the default`` otherwise."""
        return self._origins.get(key, "the default")

    def blame(self, message: str) -> str:
        """``message`` (an error about a setting's value that names its flag) with each flag of a
        setting that did not come from a flag replaced by where it did come from, so that a bad
        value from SPARKIFY_SOURCE is not blamed on --source."""
        for key, where in self._origins.items():
            flag = _flag(key)
            if where != flag:
                if isinstance(getattr(self, FIELDS.get(key, key), None), bool):
                    # a switch is named in advice to turn it on ("run with --wait"): say the value too
                    where = f"{where}=true" if where.startswith("SPARKIFY_") else f"{where} = true"
                message = re.sub(re.escape(flag) + r"(?![\w-])", where, message)
        return message

    @property
    def record_rules(self) -> RecordRules:
        """The record rules these settings configure (the plausible range of event times)."""
        return RecordRules(ts_min=self.ts_min, ts_max=self.ts_max)


def _not_a_date():
    raise ValueError("expected a date like 2018-01-01 (YYYY-MM-DD, UTC)")


FIELDS = {(info.alias or name): name for name, info in Settings.model_fields.items()}
"""Setting key (as in sparkify.toml and SPARKIFY_<KEY>) -> attribute name."""


OTHER_ENV = ("SPARKIFY_REDSHIFT_PASSWORD", "SPARKIFY_CHROMIUM")
"""Environment variables sparkify reads besides the settings (``SPARKIFY_TEST_*`` and
``SPARKIFY_BENCH_*`` belong to the test suite and the benchmarks)."""


def _refuse_env_typos(environ: Mapping[str, str]) -> None:
    """Raise ConfigError for a ``SPARKIFY_*`` variable that is no setting but close to one
    (``SPARKIFY_MAX_ERRRORS``): it would be silently ignored, as a misspelled sparkify.toml key is
    not."""
    known = [_env_name(k) for k in FIELDS] + list(OTHER_ENV)
    for name in environ:
        if (
            not name.startswith(ENV_PREFIX)
            or name in known
            or name.startswith(("SPARKIFY_TEST_", "SPARKIFY_BENCH_"))
        ):
            continue
        hint = did_you_mean(name, known)
        if hint:
            raise ConfigError(f"{name} is set but is not a sparkify setting, so it would be ignored.{hint}")


def _env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _read_file(path: Path) -> dict[str, Any]:
    """The settings of ``path`` (sparkify.toml), {} when there is none. ConfigError for a file that is
    not UTF-8 TOML (a UTF-8 byte order mark, which Windows editors write, is taken off), a folder of
    that name, or one that cannot be read."""
    if path.is_dir():
        raise ConfigError(
            f"{path} is a folder; sparkify reads its settings from a file of that name. Remove it or rename it."
        )
    if not path.is_file():
        return {}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {path}: {exc.strerror or exc}. Fix its permissions or remove it."
        ) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        utf16 = " (it starts like UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise ConfigError(
            f"{path} is not UTF-8 text{utf16}: byte {exc.start} is not UTF-8. TOML files are UTF-8: save it "
            "as UTF-8."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc
    for key, value in data.items():
        if key not in FIELDS:
            hint = did_you_mean(key.replace("-", "_"), FIELDS, aside=True)
            raise ConfigError(f"{path}: unknown key {key!r}{hint}. Known keys: {', '.join(FIELDS)}.")
        expected = _TOML_TYPES[Settings.model_fields[FIELDS[key]].annotation]
        if not isinstance(value, expected[0]) or (isinstance(value, bool) and bool not in expected[0]):
            raise ConfigError(
                f"{path} key {key!r} = {_toml_repr(value)}: expected {expected[1]} (TOML types a value: "
                f"{key} = {expected[2]})."
            )
    return data


_TOML_TYPES: dict[Any, tuple[tuple[type, ...], str, str]] = {
    str: ((str,), "a string", '"..."'),
    str | None: ((str,), "a string", '"..."'),
    int: ((int,), "an integer", "10"),
    float: ((int, float), "a number", "60"),
    bool: ((bool,), "true or false", "false"),
    dt.date: ((dt.date, str), "a date", "2018-11-01"),
}
"""Per setting's type: the TOML values it takes, and how an error says so. A TOML value carries its
type (``max_errors = true`` is a boolean, ``"7"`` a string): it must be the setting's own, where the
environment's text is converted."""


def _toml_repr(value: Any) -> str:
    """``value`` as TOML would write it (``true``, ``"7"``, ``2018-11-01``), any password masked."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + mask_url(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value.isoformat() if isinstance(value, dt.date) else repr(value)


def load_settings(
    flags: dict[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge flags, environment and the config file into validated :class:`Settings`.

    ``flags`` holds only the options given on the command line (None means not given).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    path = Path(config_file) if config_file else Path.cwd() / CONFIG_FILE
    layers: list[tuple[str, dict[str, Any]]] = [("file", _read_file(path))]
    _refuse_env_typos(environ)
    layers.append(("env", {k: environ[_env_name(k)] for k in FIELDS if _env_name(k) in environ}))
    layers.append(("flag", {k: v for k, v in (flags or {}).items() if v is not None}))
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    rank: dict[str, int] = {}
    for level, (where, values) in enumerate(layers):
        for key, value in values.items():
            merged[key] = value
            rank[key] = level
            origin[key] = {"file": f"{path.name} key {key!r}", "env": _env_name(key), "flag": _flag(key)}[
                where
            ]
    # a kind's own place (log_source) set where source is outranked by a source set higher up: the
    # --source of this command line names both kinds, not --source with the file's log_source (a
    # tester's finding: events kept coming from sparkify.toml's log_source)
    for kind in FILE_KINDS.values():
        if kind.setting in merged and rank.get("source", -1) > rank[kind.setting]:
            del merged[kind.setting], origin[kind.setting]
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        where = origin.get(key, key)
        if where.startswith(path.name):
            where = f"{path} key {key!r}"
        value = merged.get(key)
        shown = mask_url(value) if isinstance(value, str) else repr(value)
        if isinstance(value, str):
            shown = repr(shown)
        msg = err["msg"].removeprefix("Value error, ")  # our validators' own words stand as written
        msg = msg if msg != err["msg"] else msg[:1].lower() + msg[1:]
        raise ConfigError(f"Invalid {key} = {shown} (from {where}): {msg.rstrip('.')}.") from exc
    settings._origins.update(origin)
    # ~ means the home folder in every setting, from a flag, the environment or sparkify.toml alike
    expanded = {
        key: os.path.expanduser(value)
        for key in ("source", *(kind.setting for kind in FILE_KINDS.values()))
        if isinstance(value := getattr(settings, key), str) and value.startswith("~")
    }
    if expanded:
        settings = settings.model_copy(update=expanded)
        settings._origins.update(origin)
    _check_warehouse(settings)
    return settings


def _check_warehouse(settings: Settings) -> None:
    """The warehouse URL names a known engine and its password needs no percent-encoding."""
    from sparkify.warehouse import check_host_and_port, engine_of

    url = settings.warehouse
    bad = password_needing_encoding(url)  # first: the characters that break the URL's parse below
    if bad:
        raise ConfigError(
            f"The password in the warehouse URL (from {settings.origin('warehouse')}, {mask_url(url)}) holds "
            f"{' '.join(repr(c) for c in bad)}, which a URL cannot carry as it is: {encoding_hint(bad)}."
        )
    try:
        engine_of(url)
        check_host_and_port(url)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (warehouse from {settings.origin('warehouse')})") from None


def default_source() -> Path:
    """The source when none is given: ``./data/sparkify-sample`` in a checkout of the repository,
    else the sample shipped inside the package, unpacked on first use into a cache folder
    (:func:`sparkify.sample.path`) -- so an installed ``sparkify run`` works from any folder."""
    here = Path.cwd() / "data" / "sparkify-sample"
    if all((here / kind.folder).is_dir() for kind in FILE_KINDS.values()):
        return here
    from sparkify import sample

    return sample.path()


def update_settings_file(path: Path, values: dict[str, str], *, dry_run: bool = False) -> list[str]:
    """Set top-level keys of a TOML file (created if missing), keeping every other key, comment and
    line as it is (:mod:`tomlkit` edits the document, not its text); return the keys whose value
    changed (none: the file is not touched). With ``dry_run`` nothing is written.

    The new text is parsed back before it replaces the file (atomically); if it does not read as the
    old settings plus ``values``, nothing is written and ConfigError says which keys to set by hand.
    A file that is not valid TOML is a ConfigError naming it.
    """
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        current = tomllib.loads(text)
        document = tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc
    changed = [k for k, v in values.items() if current.get(k) != v]
    if not changed or dry_run:
        return changed
    for key in changed:
        document[key] = values[key]
    new_text = tomlkit.dumps(document)
    try:
        ok = tomllib.loads(new_text) == {**current, **values}
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:
        wanted = ", ".join(f"{k} = {json.dumps(values[k])}" for k in changed)
        raise ConfigError(
            f"Could not update {path} safely (unusual layout). Set these keys by hand: {wanted}"
        )
    write_atomically(path, new_text)
    return changed
