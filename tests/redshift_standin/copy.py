"""Redshift's ``COPY table [(columns)] FROM 's3://...'`` for JSON, as the AWS documentation
describes it: parse the statement, read the objects from S3, map each JSON record to the columns,
and sort the records into loadable rows and load errors.

https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.redshift_standin.rewrite import mask

IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'


class CopyError(Exception):
    """The COPY fails as a whole (bad statement, S3 access, JSONPaths): sqlstate and message."""

    def __init__(self, message: str, sqlstate: str = "XX000"):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


@dataclass
class CopySpec:
    """A parsed COPY statement."""

    schema: str | None
    table: str
    columns: list[str] | None
    source: str
    iam_role: str | None = None
    region: str | None = None
    json_format: str | None = None
    """'auto', 'auto ignorecase' or an s3:// JSONPaths file."""
    manifest: bool = False
    gzip: bool = False
    max_error: int = 0
    time_format: str | None = None


def _unident(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _unliteral(text: str) -> str:
    return text[1:-1].replace("''", "'")


TOKEN = re.compile(r"\s*('(?:[^']|'')*'|\d+|[A-Za-z_]+)")


def parse(sql: str) -> CopySpec:
    """The parts of a COPY from S3, or CopyError (Redshift's syntax errors for what is malformed).

    Parameters: https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html (authorization,
    data format, file compression, data conversion, data load operations).
    """
    # comments out, keep literals
    text = mask(sql, literals=False)
    m = re.match(
        rf"\s*copy\s+(?:({IDENT})\s*\.\s*)?({IDENT})\s*(?:\(([^)]*)\))?\s*from\s+('(?:[^']|'')*')(.*?)\s*;?\s*$",
        text,
        re.I | re.S,
    )
    if not m:
        raise CopyError('syntax error at or near "copy"', "42601")
    spec = CopySpec(
        schema=_unident(m.group(1)) if m.group(1) else None,
        table=_unident(m.group(2)),
        columns=[_unident(c.strip()) for c in m.group(3).split(",")] if m.group(3) else None,
        source=_unliteral(m.group(4)),
    )
    tokens = [t for t in TOKEN.findall(m.group(5))]
    i = 0

    def take(n: int = 1) -> str:
        nonlocal i
        if i >= len(tokens):
            raise CopyError("syntax error at end of input", "42601")
        value = tokens[i]
        i += n
        return value

    def optional_as() -> None:
        nonlocal i
        if i < len(tokens) and tokens[i].lower() == "as":
            i += 1

    while i < len(tokens):
        word = take().lower()
        if word == "iam_role":
            value = take()
            spec.iam_role = "default" if value.lower() == "default" else _unliteral(value)
        elif word == "credentials":
            optional_as()
            spec.iam_role = _unliteral(take())
        elif word == "region":
            optional_as()
            spec.region = _unliteral(take())
        elif word in ("format", "json"):
            if word == "format":
                optional_as()
                if take().lower() != "json":
                    raise CopyError("the stand-in models COPY of JSON only", "0A000")
            if i < len(tokens) and tokens[i].startswith("'"):
                spec.json_format = _unliteral(take())
            else:
                spec.json_format = "auto"
        elif word == "manifest":
            spec.manifest = True
        elif word == "gzip":
            spec.gzip = True
        elif word == "maxerror":
            optional_as()
            spec.max_error = int(take())
        elif word == "timeformat":
            optional_as()
            spec.time_format = _unliteral(take())
        elif word in ("compupdate", "statupdate"):
            # accepted; storage and statistics are PostgreSQL's business here
            # https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html
            if i < len(tokens) and tokens[i].lower() in ("on", "off", "true", "false", "preset"):
                i += 1
        elif word in ("truncatecolumns", "blanksasnull", "emptyasnull", "acceptanydate"):
            raise CopyError(f"the stand-in does not model COPY option {word.upper()}", "0A000")
        else:
            raise CopyError(f'syntax error at or near "{word}"', "42601")
    if spec.json_format is None:
        raise CopyError("the stand-in models COPY of JSON only: add FORMAT AS JSON", "0A000")
    if not spec.iam_role:
        # An authorization parameter is required.
        # https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html
        raise CopyError(
            "Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or "
            "'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'",
            "XX000",
        )
    if spec.max_error < 0 or spec.max_error > 100000:
        # https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html
        raise CopyError("MAXERROR must be between 0 and 100000", "22023")
    return spec


# -- S3 ---------------------------------------------------------------------------------------------


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise CopyError(f"the stand-in models COPY from Amazon S3 only, not {uri!r}", "0A000")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def objects(s3, spec: CopySpec) -> list[tuple[str, bytes]]:
    """(s3 URI, bytes) of every object the COPY reads, in key order.

    A key prefix matches every object whose key starts with it (folders are no boundary); a
    MANIFEST names the objects instead, and a missing mandatory one fails the COPY.
    https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html
    https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
    """
    from concurrent.futures import ThreadPoolExecutor

    bucket, key = split_uri(spec.source)

    def fetch(entry: tuple[str, bool]) -> tuple[str, bytes | None]:
        uri, mandatory = entry
        b, k = split_uri(uri)
        try:
            return uri, s3.get_object(Bucket=b, Key=k)["Body"].read()
        except s3.exceptions.NoSuchKey:
            if mandatory:
                raise CopyError(f"Manifest file is missing a mandatory file: {uri}") from None
            return uri, None

    try:
        if spec.manifest:
            manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            entries = [(e["url"], bool(e.get("mandatory", False))) for e in manifest.get("entries", [])]
        else:
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                keys += [o["Key"] for o in page.get("Contents", [])]
            if not keys:
                raise CopyError(f"The specified S3 prefix '{key}' does not exist")
            entries = [(f"s3://{bucket}/{k}", True) for k in sorted(keys)]
        with ThreadPoolExecutor(16) as pool:  # a cluster reads objects in parallel too
            return [(uri, data) for uri, data in pool.map(fetch, entries) if data is not None]
    except CopyError:
        raise
    except Exception as exc:  # botocore errors: access, missing bucket, ...
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise CopyError(f"S3ServiceException:{code} reading {spec.source}") from None


def json_paths(s3, uri: str) -> list[list[Any]]:
    """The JSONPaths file at ``uri``, each path as a list of keys/indexes.
    https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html#copy-json-jsonpaths"""
    bucket, key = split_uri(uri)
    try:
        doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception:
        raise CopyError(f"Invalid JSONPath format or file not found: {uri}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("jsonpaths"), list):
        raise CopyError('Invalid JSONPath format: the file must hold one object with a "jsonpaths" array')
    return [_parse_path(p) for p in doc["jsonpaths"]]


PATH_PART = re.compile(
    r"\.([A-Za-z_][\w]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]|\[\s*(\d+)\s*\]"
)


def _parse_path(path: str) -> list[Any]:
    if not isinstance(path, str) or not path.startswith("$"):
        raise CopyError(f"Invalid JSONPath format: {path!r}")
    parts, i = [], 1
    while i < len(path):
        m = PATH_PART.match(path, i)
        if not m:
            raise CopyError(f"Invalid JSONPath format: {path!r}")
        name = m.group(1) or m.group(2) or m.group(3)
        parts.append(int(m.group(4)) if m.group(4) is not None else name)
        i = m.end()
    return parts


# -- records ---------------------------------------------------------------------------------------


class Number(str):
    """A JSON number, kept as the text it was written as (so it loads into VARCHAR unchanged)."""


@dataclass
class Record:
    line: int
    """The line the record ends on (Redshift reports the last line of a JSON object)."""
    raw: str
    value: Any = None
    error: str | None = None


def records(data: bytes) -> tuple[list[Record], int]:
    """Every JSON object in ``data`` (objects separated by whitespace), and the number of lines.

    A record that does not parse is a load error on its line; reading resumes on the next line.
    https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html
    """
    text = data.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder(parse_float=Number, parse_int=Number, parse_constant=Number)
    out: list[Record] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(Record(text.count("\n", 0, i) + 1, text[i:end], error="Invalid JSON"))
            i = end
            continue
        line = text.count("\n", 0, max(i, end - 1)) + 1
        raw = text[i:end]
        if not isinstance(value, dict):
            out.append(Record(line, raw, error="Invalid JSON: a record must be a JSON object"))
        else:
            out.append(Record(line, raw, value))
        i = end
    return out, text.count("\n") + (0 if text.endswith("\n") or not text else 1)


@dataclass
class Column:
    name: str
    type: str
    """PostgreSQL's format_type of the column (after the stand-in's DDL rewrite)."""
    not_null: bool = False

    @property
    def byte_limit(self) -> int | None:
        m = re.match(r"character varying\((\d+)\)", self.type)
        return int(m.group(1)) if m else (256 if self.type == "text" else None)


class LoadError(Exception):
    """One value that does not load: Redshift's err_code and err_reason."""

    def __init__(self, code: int, reason: str, value: str = ""):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.value = value


INT_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
TYPE_NAMES = {"smallint": "Short", "integer": "Integer", "bigint": "Long"}


def convert(value: Any, column: Column, time_format: str | None) -> Any:
    """``value`` as ``column`` stores it (a JSON-ready value), or LoadError.

    Codes and reasons follow the load error reference:
    https://docs.aws.amazon.com/redshift/latest/dg/r_Load_Error_Reference.html
    """
    if value is None:
        if column.not_null:
            raise LoadError(1213, "Missing data for not-null field")
        return None
    t = column.type
    if t.startswith("character varying") or t in ("text", "character"):
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            text = str(value)  # a number loads as the text it was written as
        limit = column.byte_limit
        if limit is not None and len(text.encode("utf-8")) > limit:
            raise LoadError(1204, "String length exceeds DDL length", text)
        if "\x00" in text:
            raise LoadError(1220, "String contains invalid or unsupported UTF8 codepoints", text)
        return text
    if t in INT_RANGES:
        text = str(value) if isinstance(value, (str, Number)) and not isinstance(value, bool) else None
        if text is None or not re.fullmatch(r"\s*[-+]?\d+\s*", text):
            shown = text if text is not None else json.dumps(value)
            bad = next((k for k, ch in enumerate(shown) if not (ch.isdigit() or (k == 0 and ch in "+-"))), 0)
            raise LoadError(
                1207,
                f"Invalid digit, Value '{shown[bad : bad + 1]}', Pos {bad}, Type: {TYPE_NAMES[t]}",
                shown,
            )
        number = int(text)
        if not -INT_RANGES[t] <= number < INT_RANGES[t]:
            raise LoadError(1216, f"Overflow, Value '{text.strip()}', Type: {TYPE_NAMES[t]}", text)
        return number
    if t in ("double precision", "real"):
        try:
            if isinstance(value, (bool, dict, list)):
                raise ValueError
            number = float(str(value))
        except ValueError:
            raise LoadError(
                1208, f"Invalid digit, Value '{str(value)[:1]}', Pos 0, Type: Double", str(value)
            ) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise LoadError(1208, "Invalid float value", str(value))
        return float(str(value))
    if t.startswith("numeric"):
        try:
            return str(Decimal(str(value)))
        except InvalidOperation:
            raise LoadError(
                1209, f"Invalid digit, Value '{str(value)[:1]}', Pos 0, Type: Decimal", str(value)
            ) from None
    if t == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("t", "true", "1", "y", "yes", "on"):
            return True
        if text in ("f", "false", "0", "n", "no", "off"):
            return False
        raise LoadError(1210, f"Invalid boolean value '{value}'", str(value))
    if t.startswith("timestamp") or t == "date":
        return _timestamp(value, time_format, t)
    raise LoadError(1223, f"the stand-in does not load type {t}")


def _timestamp(value: Any, time_format: str | None, t: str) -> str:
    """TIMEFORMAT 'epochmillisecs' / 'epochsecs' read numbers; 'auto' (or none) reads ISO text.
    https://docs.aws.amazon.com/redshift/latest/dg/r_DATEFORMAT_and_TIMEFORMAT_strings.html"""
    fmt = (time_format or "").lower()
    try:
        if fmt in ("epochmillisecs", "epochsecs") and isinstance(value, (Number, str)):
            scale = 1000 if fmt == "epochmillisecs" else 1
            ms = Decimal(str(value)) * 1000 / scale
            stamp = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(ms))
        elif isinstance(value, str) and not isinstance(value, Number):
            stamp = dt.datetime.fromisoformat(value.strip().replace("T", " "))
        else:
            raise ValueError
    except (ValueError, InvalidOperation, OverflowError):
        raise LoadError(
            1206, f"Invalid timestamp format or value [{fmt or 'YYYY-MM-DD HH24:MI:SS'}]", str(value)
        ) from None
    return stamp.date().isoformat() if t == "date" else stamp.isoformat(sep=" ")


@dataclass
class FileResult:
    uri: str
    lines: int = 0
    records: int = 0
    errors: int = 0


@dataclass
class Outcome:
    """What a COPY read: the rows to insert (JSON objects keyed by column), the load errors
    (uri, line, column, code, reason, raw line, raw value), and a result per file."""

    rows: list[dict] = field(default_factory=list)
    errors: list[tuple] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)


def extract(record: dict, path: list[Any]) -> Any:
    value: Any = record
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return None
            value = value[part]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
    return value


def load(s3, spec: CopySpec, columns: list[Column]) -> Outcome:
    """Read every object of the COPY and sort its records into rows and load errors.

    JSON 'auto' matches top-level keys to column names exactly, 'auto ignorecase' ignoring case;
    a JSONPaths file maps one path to each column, in order, and must hold as many paths as there
    are columns. Keys matching no column are ignored; a column no key matches is NULL.
    https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html#copy-json
    """
    fmt = spec.json_format
    if fmt.lower() in ("auto", "auto ignorecase"):
        paths = None
    elif fmt.lower().startswith("s3://"):
        paths = json_paths(s3, fmt)
        if len(paths) != len(columns):
            raise CopyError(
                "Number of jsonpaths and the number of columns should match. "
                f"JSONPath size: {len(paths)}, Number of columns in table or column list: {len(columns)}"
            )
    else:
        raise CopyError(
            f"Invalid value for JSON option: '{fmt}'. Use 'auto', 'auto ignorecase' or a JSONPaths file"
        )
    ignore_case = fmt.lower() == "auto ignorecase"
    out = Outcome()
    for uri, data in objects(s3, spec):
        if spec.gzip:
            try:
                data = gzip.decompress(data)
            except OSError:
                raise CopyError(f"gzip: invalid compressed data in {uri}") from None
        recs, lines = records(data)
        result = FileResult(uri, lines=lines, records=len(recs))
        out.files.append(result)
        for rec in recs:
            if rec.error:
                out.errors.append((uri, rec.line, "", 1216, rec.error, rec.raw, ""))
                result.errors += 1
                continue
            if paths is None:
                source = {k.lower(): v for k, v in rec.value.items()} if ignore_case else rec.value
                values = [source.get(c.name) for c in columns]
            else:
                values = [extract(rec.value, p) for p in paths]
            row = {}
            try:
                for column, value in zip(columns, values):
                    try:
                        row[column.name] = convert(value, column, spec.time_format)
                    except LoadError as exc:
                        exc.column = column.name
                        raise
            except LoadError as exc:
                out.errors.append((uri, rec.line, exc.column, exc.code, exc.reason, rec.raw, exc.value))
                result.errors += 1
                continue
            out.rows.append(row)
    return out
