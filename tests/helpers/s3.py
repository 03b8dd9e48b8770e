"""moto's standalone S3 server on loopback, shared by the S3 tests and the Redshift stand-in."""

from __future__ import annotations

import contextlib
import gzip
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BUCKET = "sparkify-test"
OTHER_BUCKET = "sparkify-test-logs"
ACCESS_KEY = "AKIASPARKIFYTEST0001"
SECRET_KEY = "sparkify-FAKE-secret-3f9c2b7e-never-print-me"
"""A recognizable fake secret: no output may ever contain it."""


def client(endpoint: str, key: str = ACCESS_KEY, secret: str = SECRET_KEY, region: str | None = None):
    """A boto3 S3 client for the moto server at ``endpoint``."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=region or "us-east-1"
    )
    return session.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=32))


def start_server():
    """Start moto's threaded server on a free loopback port with the test buckets: (server, endpoint)."""
    import logging

    from moto import server as moto_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    admin = client(endpoint)
    for bucket in (BUCKET, OTHER_BUCKET):
        with contextlib.suppress(
            admin.exceptions.BucketAlreadyOwnedByYou
        ):  # made by an earlier module's server
            admin.create_bucket(Bucket=bucket)
    return server, endpoint


def sync(endpoint: str, root: Path, uri: str, *, gzipped: bool = False) -> str:
    """Make ``uri`` (s3://bucket/prefix) hold exactly the .json files under ``root``: put each at
    ``prefix/<relative path>`` (gzipped: .json.gz), delete keys no file matches. Returns ``uri``."""
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    prefix = prefix.strip("/")
    s3 = client(endpoint)
    paths = sorted(p for p in Path(root).rglob("*.json") if p.is_file())
    wanted = {}
    for path in paths:
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        wanted[key + (".gz" if gzipped else "")] = path

    existing = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        existing.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})

    def put(item) -> None:
        key, path = item
        body = path.read_bytes()
        if gzipped:
            body = gzip.compress(body, mtime=0)
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, wanted.items()))
    for key in sorted(set(existing) - set(wanted)):
        if "/_sparkify/" not in key:
            s3.delete_object(Bucket=bucket, Key=key)
    return uri


def put_directly(endpoint: str, root: Path, uri: str) -> str:
    """Like :func:`sync` into an empty prefix, but straight into the in-process moto server's S3
    backend: 15,000 HTTP PUTs would add a minute. Falls back to :func:`sync` should moto's
    internals move. Returns ``uri``."""
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        backend.get_bucket(bucket)
        for path in sorted(p for p in Path(root).rglob("*.json") if p.is_file()):
            backend.put_object(bucket, f"{prefix}/{path.relative_to(root).as_posix()}", path.read_bytes())
        return uri
    except Exception:
        return sync(endpoint, root, uri)


class MotoStore:
    """The three S3 calls the Redshift stand-in makes (get_object, the list_objects_v2 paginator,
    NoSuchKey), answered straight from the in-process moto server's store: the stand-in then reads
    15,000 sample objects in seconds instead of minutes of HTTP under one GIL. Same answers as moto
    over HTTP; use :func:`standin_s3` to fall back to a boto3 client when moto's internals move."""

    class exceptions:
        class NoSuchKey(Exception):
            pass

    def __init__(self):
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        self.backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]

    def get_object(self, Bucket: str, Key: str) -> dict:
        import io

        key = self.backend.get_object(Bucket, Key)
        if key is None:
            raise self.exceptions.NoSuchKey(Key)
        return {"Body": io.BytesIO(key.value)}

    def get_paginator(self, name: str):
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str = ""):
        names = sorted(k for k in self.backend.get_bucket(Bucket).keys.keys() if k.startswith(Prefix))  # noqa: SIM118 -- moto's key store
        yield {"Contents": [{"Key": k} for k in names]}


def standin_s3(endpoint: str):
    """What the test session's stand-in reads S3 with: moto's store directly, else a boto3 client."""
    try:
        store = MotoStore()
        store.backend.get_bucket(BUCKET)
    except Exception:
        return lambda region: client(endpoint, region=region)
    return lambda region: store
