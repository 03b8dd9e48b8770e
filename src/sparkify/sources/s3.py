"""A source in Amazon S3 (or any S3-compatible store): ``s3://bucket/prefix``.

The prefix holds ``song_data/`` and ``log_data/`` like a local source folder; either kind may instead
come from its own prefix, in the same or another bucket. Objects are listed with the
``list_objects_v2`` paginator and read with one shared boto3 client: clients are thread-safe, and the
reader calls :meth:`S3Source.read_bytes` from :attr:`S3Source.max_concurrency` threads at once
(tens of thousands of tiny song objects are latency-bound, not bandwidth-bound).

Credentials and region come from the standard AWS chain (environment, ``~/.aws``, instance role) and
are never printed. The endpoint is boto3's own setting (``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL``) unless ``endpoint_url`` (``--s3-endpoint``) is given.
"""

from __future__ import annotations

import builtins
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn, cast

from sparkify.errors import ConfigError, SourceError, closest
from sparkify.schema import EVENT_FILES, FILE_KINDS, SONG_FILES
from sparkify.sources import Kind, Listing, SourceFile, decompress
from sparkify.sources.s3_errors import is_retryable, s3_error
from sparkify.wording import plural

DEFAULT_CONCURRENCY = 32
"""How many objects are read at once by default. See benchmarks/bench_s3.py."""

LIST_FANOUT = 16
"""A listing is split into this many "folders" listed at once, when the keys form a tree that deep."""

LIST_DEPTH = 3
"""How many folder levels below a prefix are looked at to split its listing."""

LIST_PAGE_SIZE: int | None = None
"""Keys per listing page; None is S3's own (1,000). Tests make it small to cross page boundaries."""

NEARBY = 8
"""How many neighbouring names an "empty prefix" error shows."""

NEARBY_LEVELS = 3
"""How many parent "folders" an "empty prefix" error looks in for that hint."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix")``. Raises ConfigError if malformed."""
    if not uri.startswith("s3://"):
        raise ConfigError(f"Not an S3 URI: {uri!r}. Write s3://bucket/prefix.")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket or not all(c.isalnum() or c in ".-_" for c in bucket):
        raise ConfigError(f"Invalid S3 URI {uri!r}: no valid bucket name. Write s3://bucket/prefix.")
    return bucket, prefix.strip("/")


def _folder(prefix: str) -> str:
    """A key prefix that matches only keys inside the "folder": ``a/b`` -> ``a/b/``; root stays ``""``."""
    prefix = prefix.strip("/")
    return prefix + "/" if prefix else ""


class S3Source:
    """Every object under ``s3://bucket/prefix/song_data/`` and ``.../log_data/``, whatever its key
    (see :mod:`sparkify.sources`).

    Args:
        bucket: the bucket of the source root.
        prefix: the key prefix that holds ``song_data/`` and ``log_data/`` ("" for the bucket root).
        song_prefix: where the song objects are instead: a key prefix in ``bucket``, or a full
            ``s3://other-bucket/prefix`` URI.
        log_prefix: the same for the log objects.
        endpoint_url: an S3-compatible endpoint (e.g. ``http://127.0.0.1:9000``); default: boto3's own
            setting, from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` or AWS itself.
        max_concurrency: how many objects are read at once (and the size of the connection pool).
        client: a ready boto3 S3 client to use instead of making one.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        song_prefix: str | None = None,
        log_prefix: str | None = None,
        endpoint_url: str | None = None,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        client: Any = None,
    ):
        if max_concurrency < 1:
            raise ConfigError(f"Invalid S3 concurrency {max_concurrency}: it must be at least 1.")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.max_concurrency = max_concurrency
        """How many objects the reader reads at once."""
        self.locations: dict[str, tuple[str, str]] = {}
        """Kind -> (bucket, key prefix ending in "/" or empty) where that kind's objects are."""
        self.overridden = {"songs": song_prefix is not None, "events": log_prefix is not None}
        for kind, override in (("songs", song_prefix), ("events", log_prefix)):
            if override is None:
                self.locations[kind] = (bucket, _folder(f"{self.prefix}/{FILE_KINDS[kind].folder}"))
            elif override.startswith("s3://"):
                other_bucket, other_prefix = parse_s3_uri(override)
                self.locations[kind] = (other_bucket, _folder(other_prefix))
            else:
                self.locations[kind] = (bucket, _folder(override))
        if song_prefix is None and log_prefix is None:
            self.description = f"s3://{bucket}/{self.prefix}".rstrip("/")
        else:
            self.description = " and ".join(f"s3://{b}/{p}" for b, p in self.locations.values())
        self.client = client if client is not None else _make_client(endpoint_url, max_concurrency)

    # -- the Source protocol ----------------------------------------------------------------------

    def list(self, kind: Kind) -> Listing:
        """Every object of that kind, sorted by name, as Redshift's COPY of the prefix reads them;
        zero-byte objects and folder placeholders (keys ending in ``/``) are counted, not read.

        Raises SourceError if the bucket is missing or unreadable, or if there is no object to read:
        an empty prefix is almost always a typo, never an input worth loading as nothing.
        """
        bucket, prefix = self.locations[kind]
        try:
            objects = self._list_objects(bucket, prefix)
        except Exception as exc:
            self._raise(exc, bucket, f"s3://{bucket}/{prefix}")
        files: builtins.list[SourceFile] = []
        empty: builtins.list[str] = []
        placeholders: builtins.list[str] = []
        for obj in objects:
            uri = f"s3://{bucket}/{obj['Key']}"
            if obj["Key"].endswith("/"):
                placeholders.append(uri)
            elif obj["Size"] == 0:
                empty.append(uri)
            else:
                files.append(SourceFile(uri, obj["Size"], obj["ETag"].strip('"'), None))
        listing = Listing(files, place=f"s3://{bucket}/{prefix}", empty=empty, placeholders=placeholders)
        if not listing:
            raise SourceError(self._empty_message(kind, bucket, prefix, listing))
        return listing

    def check(self) -> None:
        """Raise SourceError, as :meth:`list` would, when a kind's place cannot be listed or holds no
        object to read (a mistyped prefix; only zero-byte objects or folder placeholders): pages of
        the listing until the first object of one byte or more -- one request for a good source -- so
        a command refuses a wrong prefix before it creates or opens anything."""
        for kind in FILE_KINDS:
            bucket, prefix = self.locations[kind]
            try:
                pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                if any(
                    o["Size"] > 0 and not o["Key"].endswith("/") for p in pages for o in p.get("Contents", ())
                ):
                    continue
            except Exception:  # the listing below raises the error that names it
                pass
            self.list(cast("Kind", kind))

    def _list_objects(self, bucket: str, prefix: str) -> builtins.list[dict]:
        """Every object under ``prefix``, listed in parallel where the keys form a tree.

        A listing is a chain of 1,000-key pages, one request after another. So the "folders" under
        ``prefix`` (``song_data/A/``, ``song_data/A/B/``, ...) are found level by level with
        ``Delimiter="/"``, until there are :data:`LIST_FANOUT` of them or :data:`LIST_DEPTH` levels;
        then each folder's chain is listed on a thread of its own. At every level a key is either
        directly in the folder or in exactly one subfolder, so nothing is listed twice or missed.
        """
        objects: list[dict] = []
        folders = [prefix]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, LIST_FANOUT)) as pool:
            for _ in range(LIST_DEPTH):
                if len(folders) >= LIST_FANOUT:
                    break
                subfolders: list[str] = []
                for contents, below in pool.map(lambda p: self._list_pages(bucket, p, "/"), folders):
                    objects += contents
                    subfolders += below
                folders = subfolders
            for contents, _ in pool.map(lambda p: self._list_pages(bucket, p, None), folders):
                objects += contents
        return objects

    def _list_pages(
        self, bucket: str, prefix: str, delimiter: str | None
    ) -> tuple[builtins.list[dict], builtins.list[str]]:
        """All pages of one listing: (objects, subfolder prefixes when ``delimiter`` is given)."""
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        if LIST_PAGE_SIZE:
            params["PaginationConfig"] = {"PageSize": LIST_PAGE_SIZE}
        objects: list[dict] = []
        folders: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(**params):
            objects += page.get("Contents", ())
            folders += [p["Prefix"] for p in page.get("CommonPrefixes", ())]
        return objects, folders

    def read_bytes(self, file: SourceFile) -> bytes:
        """The object's content, gunzipped when it starts with the gzip magic number (whatever its key).
        Safe to call from many threads.

        A read that fails in a way worth retrying -- throttling or a 5xx that outlasted botocore's own
        retries, a body cut short, a dropped connection -- is tried again, up to
        :data:`READ_ATTEMPTS` times in all, after a backoff (:func:`read_backoff`); then it is a
        :class:`TransientSourceError` (exit 75). Other errors are raised at once.
        """
        bucket, _, key = file.name[len("s3://") :].partition("/")
        for attempt in range(READ_ATTEMPTS):
            try:
                data = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
                break
            except Exception as exc:
                if attempt + 1 < READ_ATTEMPTS and is_retryable(exc):
                    time.sleep(read_backoff(attempt))
                    continue
                self._raise(exc, bucket, file.name, listed=True)
        return decompress(file.name, data)

    # -- errors -----------------------------------------------------------------------------------

    def _empty_message(self, kind: str, bucket: str, prefix: str, listing: Listing) -> str:
        what = f"No {FILE_KINDS[kind].noun} objects under s3://{bucket}/{prefix}"
        if listing.passed_over:
            what += f" (only {_passed_over(listing)})"
        if self.overridden[kind]:
            fix = f"Check {FILE_KINDS[kind].flag}."
        else:
            fix = (
                f"Check --source: it must be the prefix that holds {SONG_FILES.folder}/ and "
                f"{EVENT_FILES.folder}/ (or pass {FILE_KINDS[kind].flag})."
            )
        return f"{what}{self._nearby(bucket, prefix)}. Nothing was loaded. {fix}"

    def _nearby(self, bucket: str, prefix: str) -> str:
        """A hint for an empty prefix: what the nearest non-empty parent "folder" holds
        (``; s3://b/data/ holds song_data/, logs/``). Costs a request or two, only on this error path."""
        parent = prefix.rstrip("/")
        for _ in range(NEARBY_LEVELS):
            if not parent:
                break
            parent = parent.rpartition("/")[0]
            folder = _folder(parent)
            try:
                page = self.client.list_objects_v2(Bucket=bucket, Prefix=folder, Delimiter="/")
            except Exception:
                return ""
            names = [p["Prefix"][len(folder) :] for p in page.get("CommonPrefixes", ())]
            objects = [o["Key"][len(folder) :] for o in page.get("Contents", ())]
            names += [n for n in objects if n]  # "": the parent's own folder placeholder
            typed = prefix[len(folder) :].split("/")[0] + "/"
            if typed in names:  # the place typed is there, holding nothing to read: said before this
                return ""
            if typed.rstrip("/") in objects:  # an object's key given as the place of its kind
                return (
                    f"; s3://{bucket}/{folder}{typed.rstrip('/')} is an object, not a prefix: pass the "
                    f"prefix holding it, s3://{bucket}/{folder}"
                )
            if names:
                # the name closest to what was typed first (a typo), then the others in order
                close = closest(typed, names)
                shown = ([close] if close else []) + sorted(n for n in names if n != close)
                more = ", ..." if len(shown) > NEARBY or page.get("IsTruncated") else ""
                hint = f"; s3://{bucket}/{folder} holds {', '.join(shown[:NEARBY])}{more}"
                return hint + (f" (did you mean s3://{bucket}/{folder}{close}?)" if close else "")
        return f"; bucket {bucket} is empty" if not parent else ""

    def _raise(self, exc: Exception, bucket: str, where: str, *, listed: bool = False) -> NoReturn:
        """Raise the SourceError for a botocore error; re-raise anything else as it is."""
        error = s3_error(exc, bucket, where, endpoint=self.client.meta.endpoint_url, listed=listed)
        if error is None:
            raise exc
        raise error from exc


READ_ATTEMPTS = 4
"""How many times one object is read before giving up (each GET also has botocore's own retries)."""
READ_BACKOFF_SECONDS = 0.25
READ_BACKOFF_CAP_SECONDS = 4.0


def read_backoff(attempt: int) -> float:
    """Seconds to wait before read attempt ``attempt + 2``: exponential with full jitter, capped,
    as botocore's standard retry mode does (0.25 s, 0.5 s, 1 s ... at most 4 s)."""
    return random.uniform(0, min(READ_BACKOFF_CAP_SECONDS, READ_BACKOFF_SECONDS * 2**attempt))


def _passed_over(listing: Listing) -> str:
    """``1 zero-byte object, 2 folder placeholders``."""
    parts = []
    if listing.empty:
        parts.append(plural(len(listing.empty), "zero-byte object"))
    if listing.placeholders:
        n = len(listing.placeholders)
        parts.append(plural(n, "folder placeholder"))
    return ", ".join(parts)


CONNECT_TIMEOUT_SECONDS = 10
"""How long a connection to S3 may take to open (botocore's default: 60 s)."""
READ_TIMEOUT_SECONDS = 30
"""How long S3 may stay silent on an open connection, between two reads of an answer (botocore's
default: 60 s). With its retries, an endpoint that accepts connections and never answers fails in
minutes, not the eight a tester measured."""


def _make_client(endpoint_url: str | None, max_concurrency: int):
    """One S3 client for every thread, its connection pool as large as the concurrency."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise ConfigError("S3 sources need boto3: pip install 'sparkify[aws]'") from exc
    # standard mode: throttling and 5xx are retried with jittered backoff; read_bytes retries again
    config = Config(
        max_pool_connections=max_concurrency,
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    try:
        # A session of our own: boto3's default session is not safe to share between threads.
        return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)
    except ValueError as exc:  # botocore: "Invalid endpoint: ..."
        where = "--s3-endpoint" if endpoint_url else "AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3"
        raise ConfigError(
            f"The S3 endpoint from {where} is not a valid URL. Give one like http://127.0.0.1:9000."
        ) from exc
    except Exception as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            f"Cannot set up the S3 client: {first}. Check AWS_PROFILE and ~/.aws/config."
        ) from exc


def write_object(source: S3Source, uri: str, body: bytes) -> None:
    """Put ``body`` at ``uri`` (s3://bucket/key) with the source's client; SourceError if S3 refuses."""
    bucket, key = parse_s3_uri(uri)
    try:
        source.client.put_object(Bucket=bucket, Key=key, Body=body)
    except Exception as exc:
        error = s3_error(exc, bucket, uri, writing=True)
        raise (error or SourceError(f"Cannot write {uri}: {exc}")) from exc


def delete_object(source: S3Source, uri: str) -> None:
    """Delete the object at ``uri``; a missing one is no error (S3 answers 204 either way)."""
    bucket, key = parse_s3_uri(uri)
    try:
        source.client.delete_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise (s3_error(exc, bucket, uri) or SourceError(f"Cannot delete {uri}: {exc}")) from exc
