"""Settings from flags, environment and ``sparkify.toml``, validated.

Precedence: command-line flags > environment (``SPARKIFY_<KEY>``) > ``sparkify.toml`` in the working
directory > defaults. A bad or unknown key is a :class:`ConfigError` naming the key, where it came
from, and the fix.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sparkify.errors import ConfigError
from sparkify.sources.s3 import DEFAULT_CONCURRENCY
from sparkify.staging.rules import DEFAULT_TS_MAX, DEFAULT_TS_MIN, RecordRules

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
    iam_role: str | None = None
    """IAM role ARN that Redshift's COPY assumes to read S3."""
    region: str | None = None
    """AWS region of the cluster and the bucket."""
    manifest_prefix: str | None = None
    """Where Redshift runs write the COPY manifest of the objects they load (``s3://bucket/prefix``,
    readable by the IAM role); default ``<source>/_sparkify/manifests``. Each is deleted after its COPY."""

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

    @property
    def record_rules(self) -> RecordRules:
        """The record rules these settings configure (the plausible range of event times)."""
        return RecordRules(ts_min=self.ts_min, ts_max=self.ts_max)


def _not_a_date():
    raise ValueError("expected a date like 2018-01-01 (YYYY-MM-DD, UTC)")


FIELDS = {
    (info.alias or name): name for name, info in Settings.model_fields.items()
}
"""Setting key (as in sparkify.toml and SPARKIFY_<KEY>) -> attribute name."""


def _env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc
    for key in data:
        if key not in FIELDS:
            raise ConfigError(f"{path}: unknown key {key!r}{_did_you_mean(key)}. Known keys: {', '.join(FIELDS)}.")
    return data


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key.replace("-", "_"), list(FIELDS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_settings(
    flags: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge flags, environment and the config file into validated :class:`Settings`.

    ``flags`` holds only the options given on the command line (None means not given).
    """
    env = os.environ if env is None else env
    path = Path(config_file) if config_file else Path.cwd() / CONFIG_FILE
    layers: list[tuple[str, dict[str, Any]]] = [("file", _read_file(path))]
    layers.append(("env", {k: env[_env_name(k)] for k in FIELDS if _env_name(k) in env}))
    layers.append(("flag", {k: v for k, v in (flags or {}).items() if v is not None}))
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for where, values in layers:
        for key, value in values.items():
            merged[key] = value
            origin[key] = {"file": str(path), "env": _env_name(key), "flag": "--" + key.replace("_", "-")}[where]
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        where = origin.get(key, key)
        value = merged.get(key)
        shown = "***" if key in ("warehouse",) and value and "@" in str(value) else repr(value)
        raise ConfigError(f"Invalid {key} = {shown} (from {where}): {err['msg'].lower()}.") from exc


def mask_url(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``: safe to print."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0] + ":***"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{netloc[1]}"))


def default_source() -> Path | None:
    """The sample shipped with the repository: ./data/sparkify-sample, else beside the package."""
    candidates = [
        Path.cwd() / "data" / "sparkify-sample",
        Path(__file__).resolve().parents[2] / "data" / "sparkify-sample",
    ]
    for c in candidates:
        if (c / "song_data").is_dir() and (c / "log_data").is_dir():
            return c
    return None
