"""S3 reads under faults injected on loopback: a proxy in front of moto answers 503 SlowDown to a
fifth of the GETs, and to some objects more often than botocore retries, and cuts bodies short. The
run retries each read (bounded, with backoff) and loads exactly what a clean read loads; an object
that never reads is a temporary failure (exit 75) that changes nothing."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from sparkify import pipeline
from sparkify.errors import TransientSourceError
from sparkify.sources import open_source
from sparkify.warehouse import connect
from tests.test_s3 import BUCKET, snapshot, subset  # noqa: F401 -- fixtures (aws_env, s3_server: conftest)

SLOW_DOWN = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>'


class FaultyS3(ThreadingHTTPServer):
    """Forwards every request to ``upstream``; GETs of objects meet the faults planned for their key
    (a list consumed one per GET: ``"503"`` or ``"cut"``), and every fifth other object GET is 503."""

    daemon_threads = True

    def __init__(self, upstream: str, plan: dict[str, list[str]]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream)
        self.plan = plan
        self.lock = threading.Lock()
        self.gets = 0
        self.faults: list[tuple[str, str]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fault_for(self, path: str) -> str | None:
        with self.lock:
            key = path.split("?", 1)[0]
            if "?" in path or key.count("/") < 2:  # listings and bucket calls pass untouched
                return None
            for suffix, faults in self.plan.items():
                if key.endswith(suffix):
                    fault = faults.pop(0) if faults else None
                    break
            else:
                self.gets += 1
                fault = "503" if self.gets % 5 == 0 else None
            if fault:
                self.faults.append((key, fault))
            return fault


class _Handler(BaseHTTPRequestHandler):
    server: FaultyS3
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _forward(self) -> None:
        fault = self.server.fault_for(self.path) if self.command == "GET" else None
        if fault == "503":
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        up = http.client.HTTPConnection(self.server.upstream.hostname, self.server.upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        up.request(self.command, self.path, body=body, headers=headers)
        response = up.getresponse()
        data = response.read()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if fault == "cut":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])  # the rest never comes
            self.close_connection = True
            return
        self.end_headers()
        self.wfile.write(data)
        up.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward


@pytest.fixture
def proxy(s3_server):
    servers = []

    def start(plan: dict[str, list[str]]) -> FaultyS3:
        server = FaultyS3(s3_server, plan)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_throttling_and_bodies_cut_short_are_retried(tmp_path, subset, aws_env, proxy):
    uri, local = subset
    faulty = proxy(
        {
            "2018-11-05-events.json": ["503"] * 4,  # outlasts botocore's 3 attempts: sparkify reads again
            "2018-11-12-events.json": ["cut"],
            "2018-11-20-events.json": ["cut", "503", "cut"],
        }
    )
    with connect(f"duckdb:///{tmp_path}/s3.duckdb") as wh:
        report = pipeline.run(wh, open_source(uri, s3_endpoint=faulty.endpoint, s3_concurrency=4))
        got = snapshot(wh)
    with connect(f"duckdb:///{tmp_path}/local.duckdb") as wh:
        pipeline.run(wh, open_source(local))
        expected = snapshot(wh)
    kinds = {fault for _, fault in faulty.faults}
    assert kinds == {"503", "cut"} and len(faulty.faults) == 8 + faulty.gets // 5  # all planned faults met
    assert not report.checks_failed
    # the same rows as a clean local read (source_file differs: s3:// names)
    assert {t: len(rows) for t, rows in got.items()} == {t: len(rows) for t, rows in expected.items()}


def test_an_object_that_never_reads_is_a_temporary_failure_that_changes_nothing(
    tmp_path, subset, aws_env, proxy, monkeypatch
):
    from sparkify.sources import s3

    monkeypatch.setattr(s3, "read_backoff", lambda attempt: 0.0)  # no waiting in the test
    uri, _ = subset
    faulty = proxy({"2018-11-07-events.json": ["cut"] * 100})
    with connect(f"duckdb:///{tmp_path}/w.duckdb") as wh:
        pipeline.create_tables(wh)
        before = snapshot(wh)
        with pytest.raises(TransientSourceError) as exc:
            pipeline.run(wh, open_source(uri, s3_endpoint=faulty.endpoint, s3_concurrency=2))
        assert snapshot(wh) == before
    message = str(exc.value)
    assert "2018-11-07-events.json" in message and "Run again" in message and "\n" not in message
    assert exc.value.exit_code == 75
    cut = [key for key, fault in faulty.faults if key.endswith("2018-11-07-events.json")]
    assert len(cut) == s3.READ_ATTEMPTS  # bounded: READ_ATTEMPTS reads, then it gives up


def test_an_endpoint_that_never_answers_fails_within_its_timeout_saying_so(tmp_path, aws_env, monkeypatch):
    """Tester finding: an endpoint that accepts connections and never answers hung a run for 8 minutes,
    then blamed a dropped connection. The read timeout bounds it; the message says S3 did not answer."""
    import socket

    from sparkify.sources import s3

    monkeypatch.setattr(s3, "READ_TIMEOUT_SECONDS", 0.5)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepted by the kernel, never answered
    endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        with pytest.raises(TransientSourceError) as exc:
            open_source("s3://bucket/prefix", s3_endpoint=endpoint).list("songs")
    finally:
        silent.close()
    assert str(exc.value) == (
        f"S3 at {endpoint} did not answer within 0.5 s reading s3://bucket/prefix/song_data/, after retries. "
        "Check --s3-endpoint and the network, or run again later."
    )
    assert exc.value.exit_code == 75
