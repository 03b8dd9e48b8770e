"""The S3 source against moto's standalone server on loopback: same star tables as the local folder,
gzip objects, separate song/log places, one-line errors that change nothing, no credential ever shown."""

from __future__ import annotations

import gzip
import json
import threading
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from sparkify import pipeline  # noqa: E402
from sparkify.errors import BadInputError, ConfigError, SourceError, TransientSourceError  # noqa: E402
from sparkify.schema import STAGING_TABLES, STAR_TABLES  # noqa: E402
from sparkify.sources import open_source  # noqa: E402
from sparkify.sources.s3 import S3Source  # noqa: E402
from sparkify.warehouse import connect  # noqa: E402
from tests.conftest import sparkify  # noqa: E402
from tests.helpers.records import event, song, write_source  # noqa: E402

BUCKET = "sparkify-test"
OTHER_BUCKET = "sparkify-test-logs"
ACCESS_KEY = "AKIASPARKIFYTEST0001"
SECRET_KEY = "sparkify-FAKE-secret-3f9c2b7e-never-print-me"
"""A recognizable fake secret: no output may ever contain it."""
SUBSET = ("song_data/A/A/A", "song_data/A/A/B", "log_data")
"""The part of the real sample most tests load: 50 song files and the 30 log files."""
KEPT = [t.name for t in (*STAGING_TABLES, *STAR_TABLES)] + ["load_files", "load_errors"]
"""Tables a failed run must leave unchanged (load_runs does record the failure)."""


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def subset(s3_server, sample_dir, tmp_path_factory) -> tuple[str, Path]:
    """The subset of the real sample, uploaded to s3://BUCKET/subset and copied to a local folder."""
    local = tmp_path_factory.mktemp("subset")
    paths = [p for part in SUBSET for p in sorted((sample_dir / part).rglob("*.json"))]
    for p in paths:
        target = local / p.relative_to(sample_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.read_bytes())
    upload(s3_server, local, BUCKET, "subset")
    # Redshift's COPY maps event keys through the JSONPaths file next to log_data/
    _client(s3_server).put_object(
        Bucket=BUCKET, Key="subset/log_json_path.json", Body=(sample_dir / "log_json_path.json").read_bytes()
    )
    return f"s3://{BUCKET}/subset", local


@pytest.fixture
def loaded(tmp_path, subset, aws_env):
    """A DuckDB warehouse after a successful run from the S3 subset, and its tables' snapshot."""
    wh = connect(f"duckdb:///{tmp_path}/w.duckdb")
    pipeline.run(wh, open_source(subset[0]))
    yield wh, snapshot(wh)
    wh.close()


@pytest.fixture
def tiny(tmp_path, aws_env) -> tuple[str, Path]:
    """A small hand-made source under a fresh prefix of its own (tests may break it)."""
    local = write_source(
        tmp_path / "tiny",
        songs=[
            song(),
            song(song_id="SO2", title="Other", artist_id="AR2"),
            song(song_id="SO3", title="Third"),
        ],
        events=[event(ts=1541105830796 + i, itemInSession=i) for i in range(5)],
    )
    prefix = f"tiny-{uuid.uuid4().hex[:8]}"
    upload(aws_env, local, BUCKET, prefix)
    return f"s3://{BUCKET}/{prefix}", local


# -- helpers --------------------------------------------------------------------------------------


def _client(endpoint: str, key: str = ACCESS_KEY, secret: str = SECRET_KEY):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1"
    )
    return session.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=32))


def upload(endpoint: str, root: Path, bucket: str, prefix: str, *, gzipped: bool = False) -> int:
    """Put every .json file under ``root`` at ``prefix/<relative path>`` (gzipped: as .json.gz),
    32 at a time. Returns how many."""
    client = _client(endpoint)
    paths = sorted(p for p in Path(root).rglob("*.json") if p.is_file())

    def put(path: Path) -> None:
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        body = path.read_bytes()
        if gzipped:
            key, body = key + ".gz", gzip.compress(body)
        client.put_object(Bucket=bucket, Key=key, Body=body)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, paths))
    return len(paths)


def put_directly(endpoint: str, root: Path, bucket: str, prefix: str) -> int:
    """Like :func:`upload`, but straight into the in-process moto server's S3 backend: 15,000 HTTP
    PUTs would add a minute to a test that is about reading them. Falls back to :func:`upload`
    should moto's internals move."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        backend.get_bucket(bucket)
        paths = sorted(p for p in Path(root).rglob("*.json") if p.is_file())
        for path in paths:
            backend.put_object(bucket, f"{prefix}/{path.relative_to(root).as_posix()}", path.read_bytes())
        return len(paths)
    except Exception:
        return upload(endpoint, root, bucket, prefix)


def snapshot(wh) -> dict[str, list]:
    return {name: sorted(wh.query(f'select * from "{name}"')[1], key=repr) for name in KEPT}


def star_rows(wh) -> dict[str, list]:
    """Every star table's rows, all columns but the surrogate songplay_id, sorted."""
    out = {}
    for table in STAR_TABLES:
        cols = ", ".join(f'"{c}"' for c in table.column_names if c != "songplay_id")
        out[table.name] = sorted(wh.query(f'select {cols} from "{table.name}"')[1], key=repr)
    return out


def run_into(tmp_path: Path, name: str, source) -> tuple[dict, pipeline.RunReport]:
    with connect(f"duckdb:///{tmp_path}/{name}.duckdb") as wh:
        report = pipeline.run(wh, source)
        return star_rows(wh), report


def set_auth(endpoint: str, count: str) -> None:
    """moto's switch for IAM checks: "0" enforces them from the next request, "inf" turns them off."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request).read()


def assert_one_line_naming(exc: Exception, *names: str) -> str:
    message = str(exc)
    assert "\n" not in message, message
    for name in names:
        assert name in message, message
    assert SECRET_KEY not in message
    return message


# -- the same answer as the local folder ----------------------------------------------------------


def test_subset_from_s3_gives_the_same_star_tables_as_the_local_folder(tmp_path, subset, aws_env):
    uri, local = subset
    from_s3, s3_report = run_into(tmp_path, "s3", open_source(uri))
    from_disk, disk_report = run_into(tmp_path, "disk", local)
    assert from_s3 == from_disk
    assert from_s3["songplays"] and from_s3["songs"]
    assert (s3_report.stage.read, s3_report.stage.staged, s3_report.stage.rejected) == (
        disk_report.stage.read,
        disk_report.stage.staged,
        0,
    )
    assert s3_report.source == uri
    assert all(c.passed for c in s3_report.checks)


@pytest.mark.slow
def test_full_sample_from_s3_gives_the_same_star_tables_as_the_local_folder(
    tmp_path, s3_server, sample_dir, aws_env
):
    # like s3://udacity-dend: song_data/, log_data/ and log_json_path.json beside them (not input)
    assert put_directly(s3_server, sample_dir, BUCKET, "full") == 14_896 + 30 + 1
    from_s3, s3_report = run_into(tmp_path, "s3", open_source(f"s3://{BUCKET}/full"))
    from_disk, disk_report = run_into(tmp_path, "disk", sample_dir)
    assert from_s3 == from_disk
    assert len(s3_report.stage.plans["songs"].listed) == 14_896
    assert len(s3_report.stage.plans["events"].listed) == 30
    assert s3_report.stage.read == disk_report.stage.read and s3_report.stage.rejected == 0


def test_gzip_objects_are_read_transparently(tmp_path, s3_server, subset, aws_env):
    uri, local = subset
    upload(s3_server, local, BUCKET, "subset-gz", gzipped=True)
    src = open_source(f"s3://{BUCKET}/subset-gz")
    assert all(f.name.endswith(".json.gz") for f in src.list("events"))
    assert run_into(tmp_path, "gz", src)[0] == run_into(tmp_path, "plain", open_source(uri))[0]


def test_song_and_log_sources_may_be_separate_prefixes_in_other_buckets(tmp_path, s3_server, subset, aws_env):
    uri, local = subset
    upload(s3_server, local / "log_data", OTHER_BUCKET, "elsewhere/events")
    separate = open_source(
        None, song_source=f"{uri}/song_data", log_source=f"s3://{OTHER_BUCKET}/elsewhere/events"
    )
    assert separate.description == f"{uri}/song_data/ and s3://{OTHER_BUCKET}/elsewhere/events/"
    assert run_into(tmp_path, "separate", separate)[0] == run_into(tmp_path, "together", open_source(uri))[0]
    # one of them overridden, the other from --source
    mixed = open_source(uri, log_source=f"s3://{OTHER_BUCKET}/elsewhere/events")
    assert [f.name for f in mixed.list("songs")] == [f.name for f in open_source(uri).list("songs")]
    assert mixed.list("events")[0].name.startswith(f"s3://{OTHER_BUCKET}/elsewhere/events/")


def test_objects_are_listed_with_uri_size_and_etag_whatever_their_key(s3_server, tiny, aws_env):
    """As Redshift's COPY of the prefix: every object is input, whatever its name; only folder
    placeholders and zero-byte objects are passed over, and counted."""
    uri, _ = tiny
    client = _client(s3_server)
    prefix = uri.split("/", 3)[3]
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/song_data/", Body=b"")  # a "folder" placeholder
    client.put_object(
        Bucket=BUCKET, Key=f"{prefix}/song_data/A/", Body=b"x"
    )  # a placeholder, whatever its size
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/song_data/README.txt", Body=b"not input")
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/song_data/_SUCCESS", Body=b"")
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/song_data_old/TRX.json", Body=b"{}")  # a sibling prefix
    songs = open_source(uri).list("songs")
    assert [f.name for f in songs] == [f"{uri}/song_data/A/B/C/TR{i:06d}.json" for i in range(3)] + [
        f"{uri}/song_data/README.txt"
    ]
    assert songs.empty == [f"{uri}/song_data/_SUCCESS"]
    assert songs.placeholders == [f"{uri}/song_data/", f"{uri}/song_data/A/"]
    head = client.head_object(Bucket=BUCKET, Key=f"{prefix}/song_data/A/B/C/TR000000.json")
    assert songs[0].size == head["ContentLength"] and songs[0].version == head["ETag"].strip('"')
    assert songs[0].path is None


def test_an_unchanged_object_is_not_read_again_and_a_rewritten_one_is(tmp_path, s3_server, tiny, aws_env):
    uri, _ = tiny
    with connect(f"duckdb:///{tmp_path}/w.duckdb") as wh:
        pipeline.run(wh, open_source(uri))
        again = pipeline.run(wh, open_source(uri))
        assert sum(len(p.to_read) for p in again.stage.plans.values()) == 0
        key = uri.split("/", 3)[3] + "/song_data/A/B/C/TR000001.json"
        _client(s3_server).put_object(
            Bucket=BUCKET,
            Key=key,
            Body=json.dumps(song(song_id="SO2", title="Renamed", artist_id="AR2")).encode(),
        )
        third = pipeline.run(wh, open_source(uri))
        assert third.stage.plans["songs"].changed == 1
        assert wh.query("select title from songs where song_id = 'SO2'")[1] == [("Renamed",)]


def test_a_bad_record_in_an_object_is_named_by_its_s3_uri_and_line(tmp_path, s3_server, tiny, aws_env):
    uri, _ = tiny
    key = uri.split("/", 3)[3] + "/log_data/2018/11/2018-11-02-events.json"
    _client(s3_server).put_object(Bucket=BUCKET, Key=key, Body=b'{"ts": "soon"}\n')
    with connect(f"duckdb:///{tmp_path}/w.duckdb") as wh, pytest.raises(BadInputError) as exc:
        pipeline.run(wh, open_source(uri))
    assert f"s3://{BUCKET}/{key}:1:" in str(exc.value)


# -- concurrency and progress ---------------------------------------------------------------------


def test_objects_are_read_many_at_once_through_one_pooled_client(tmp_path, subset, aws_env):
    src = open_source(subset[0], s3_concurrency=8)
    assert src.max_concurrency == 8 and src.client.meta.config.max_pool_connections == 8
    lock, in_flight, peak, threads = threading.Lock(), [0], [0], set()
    read = src.read_bytes

    def counting(file):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            threads.add(threading.get_ident())
        try:
            return read(file)
        finally:
            with lock:
                in_flight[0] -= 1

    src.read_bytes = counting
    run_into(tmp_path, "w", src)
    assert 1 < peak[0] <= 8 and len(threads) > 1


class Recorder:
    def __init__(self):
        self.totals: dict[str, int | None] = {}
        self.done: dict[str, int] = {}
        self.bytes: dict[str, int] = {}

    def start(self, task, total):
        self.totals[task] = total
        self.done[task] = 0
        self.bytes[task] = 0

    def advance(self, task, amount=1, nbytes=0):
        self.done[task] += amount
        self.bytes[task] += nbytes

    def finish(self, task):
        pass


def test_reading_objects_drives_the_progress_bar(tmp_path, subset, aws_env):
    src = open_source(subset[0])
    recorder = Recorder()
    with connect(f"duckdb:///{tmp_path}/w.duckdb") as wh:
        pipeline.create_tables(wh)
        pipeline.stage(wh, src, progress=recorder)
    assert recorder.totals["stage songs"] == recorder.done["stage songs"] == len(src.list("songs")) == 50
    assert recorder.totals["stage events"] == recorder.done["stage events"] == 30
    for kind in ("songs", "events"):  # and over bytes: every object's size, once
        assert recorder.bytes[f"stage {kind}"] == sum(f.size for f in src.list(kind)) > 0


# -- errors: one line naming the bucket/key, nothing changed --------------------------------------


def test_missing_bucket(loaded):
    wh, before = loaded
    with pytest.raises(SourceError) as exc:
        pipeline.run(wh, open_source("s3://sparkify-no-such-bucket/data"))
    assert_one_line_naming(
        exc.value, "Bucket sparkify-no-such-bucket does not exist", "s3://sparkify-no-such-bucket/data/"
    )
    assert snapshot(wh) == before


@pytest.mark.parametrize("kind", ["song", "log"])
def test_empty_prefix_says_which_kind_is_missing(loaded, s3_server, tmp_path, kind):
    wh, before = loaded
    other = "log_data" if kind == "song" else "song_data"
    prefix = f"half-{kind}-{uuid.uuid4().hex[:6]}"
    local = write_source(tmp_path / "half", songs=[song()], events=[event()])
    upload(s3_server, local / other, BUCKET, f"{prefix}/{other}")
    with pytest.raises(SourceError) as exc:
        pipeline.run(wh, open_source(f"s3://{BUCKET}/{prefix}"))
    message = assert_one_line_naming(exc.value, f"No {kind} objects", f"s3://{BUCKET}/{prefix}/{kind}_data/")
    assert f"holds {other}/" in message  # what is there instead
    assert snapshot(wh) == before


def test_empty_prefix_names_what_the_bucket_holds(loaded):
    wh, before = loaded
    with pytest.raises(SourceError) as exc:
        pipeline.run(wh, open_source(f"s3://{BUCKET}/subsett"))
    assert_one_line_naming(exc.value, f"s3://{BUCKET}/subsett/song_data/", f"s3://{BUCKET}/ holds", "subset/")
    assert snapshot(wh) == before


def test_an_object_deleted_between_list_and_read(loaded, s3_server, tiny):
    wh, before = loaded
    uri, _ = tiny
    src = open_source(uri)
    listed = src.list
    gone = f"{uri.split('/', 3)[3]}/song_data/A/B/C/TR000001.json"

    def list_then_delete(kind):
        files = listed(kind)
        if kind == "songs":
            _client(s3_server).delete_object(Bucket=BUCKET, Key=gone)
        return files

    src.list = list_then_delete
    with pytest.raises(TransientSourceError) as exc:  # exit 75: the next run lists again
        pipeline.run(wh, src)
    assert_one_line_naming(exc.value, f"s3://{BUCKET}/{gone} was listed but is gone", "run again")
    assert snapshot(wh) == before


@pytest.fixture
def iam_users(s3_server):
    """Access keys of two moto IAM users: one that may only list the bucket, one that may do nothing.
    IAM checks are on while the test runs."""
    import boto3

    iam = boto3.session.Session(ACCESS_KEY, SECRET_KEY, region_name="us-east-1").client(
        "iam", endpoint_url=s3_server
    )
    suffix = uuid.uuid4().hex[:6]
    keys = {}
    for who, actions in (
        ("lister", ["s3:ListBucket"]),
        ("nobody", []),
        ("reader", ["s3:ListBucket", "s3:GetObject"]),
    ):
        name = f"{who}-{suffix}"
        iam.create_user(UserName=name)
        if actions:
            policy = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
            iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[who] = (key["AccessKeyId"], key["SecretAccessKey"])
    set_auth(s3_server, "0")
    yield keys
    set_auth(s3_server, "inf")


@pytest.mark.parametrize("who,denied", [("nobody", "s3:ListBucket on bucket"), ("lister", "s3:GetObject")])
def test_access_denied(loaded, subset, iam_users, monkeypatch, who, denied):
    wh, before = loaded
    key_id, secret = iam_users[who]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    with pytest.raises(SourceError) as exc:  # a full refresh: the objects are read again
        pipeline.run(wh, open_source(subset[0]), full_refresh=True)
    message = assert_one_line_naming(exc.value, "Access denied to s3://sparkify-test/subset/", denied)
    assert secret not in message and key_id not in message
    assert snapshot(wh) == before


def test_a_bucket_that_may_only_be_read_says_where_to_stage_instead(aws_env, subset, iam_users, monkeypatch):
    """Redshift runs write their staged rows and manifests beside the source unless manifest_prefix
    says otherwise: a read-only source bucket (a public one) must say so, not ask for s3:GetObject."""
    from sparkify.sources.s3 import write_object

    key_id, secret = iam_users["reader"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    source = open_source(subset[0])
    target = f"{subset[0]}/_sparkify/manifests/x.manifest"
    with pytest.raises(SourceError) as exc:
        write_object(source, target, b"{}")
    message = assert_one_line_naming(exc.value, f"Access denied writing {target}", "s3:PutObject")
    assert "manifest_prefix (SPARKIFY_MANIFEST_PREFIX" in message and secret not in message


def test_unknown_access_key(loaded, subset, s3_server, monkeypatch):
    wh, before = loaded
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASPARKIFYUNKNOWN1")
    set_auth(s3_server, "0")
    try:
        with pytest.raises(ConfigError) as exc:  # credentials refused: configuration, as in `infra` (exit 2)
            pipeline.run(wh, open_source(subset[0]))
    finally:
        set_auth(s3_server, "inf")
    assert_one_line_naming(
        exc.value, "S3 rejected the AWS credentials (InvalidAccessKeyId)", "s3://sparkify-test/subset/"
    )
    assert snapshot(wh) == before


def test_connection_refused(loaded, subset):
    wh, before = loaded
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransientSourceError) as exc:  # refused: worth retrying later (exit 75)
        pipeline.run(wh, open_source(subset[0], s3_endpoint=f"http://127.0.0.1:{port}"))
    assert_one_line_naming(
        exc.value, f"Cannot connect to S3 at http://127.0.0.1:{port}", "s3://sparkify-test/subset/"
    )
    assert snapshot(wh) == before


def test_missing_credentials(loaded, subset, monkeypatch):
    wh, before = loaded
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ConfigError) as exc:
        pipeline.run(wh, open_source(subset[0]))
    assert_one_line_naming(
        exc.value, "No usable AWS credentials", "s3://sparkify-test/subset/", "AWS_ACCESS_KEY_ID"
    )
    assert snapshot(wh) == before


def test_invalid_endpoint_is_a_config_error(aws_env):
    with pytest.raises(ConfigError, match="not a valid URL"):
        open_source(f"s3://{BUCKET}/x", s3_endpoint="not a url")


def test_without_boto3_the_error_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigError) as exc:
        S3Source(BUCKET, "x")
    assert str(exc.value) == "S3 sources need boto3: pip install 'sparkify[aws]'"


# -- the CLI --------------------------------------------------------------------------------------


def test_cli_run_from_s3_end_to_end(capsys, tmp_path, subset, aws_env):
    uri, _ = subset
    db = tmp_path / "cli.duckdb"
    code, out, err = sparkify(capsys, "run", "--source", uri, "--warehouse", f"duckdb:///{db}")
    assert code == 0, err
    assert f"from {uri} into duckdb:///{db}" in out
    assert "stage songs: 50 files" in out and "stage events: 30 files" in out
    assert SECRET_KEY not in out + err and ACCESS_KEY not in out + err
    with connect(f"duckdb:///{db}") as wh:
        assert star_rows(wh) == run_into(tmp_path, "lib", open_source(uri))[0]


def test_cli_separate_sources_endpoint_and_concurrency_options(
    capsys, tmp_path, s3_server, subset, aws_env, monkeypatch
):
    uri, _ = subset
    upload(s3_server, subset[1] / "log_data", OTHER_BUCKET, "cli-logs")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # wrong: --s3-endpoint wins
    assert sparkify(capsys, "create-tables", "--warehouse", f"duckdb:///{tmp_path}/w.duckdb")[0] == 0
    code, out, err = sparkify(
        capsys,
        "stage",
        "--song-source",
        f"{uri}/song_data",
        "--log-source",
        f"s3://{OTHER_BUCKET}/cli-logs",
        "--s3-endpoint",
        s3_server,
        "--s3-concurrency",
        "4",
        "--warehouse",
        f"duckdb:///{tmp_path}/w.duckdb",
    )
    assert code == 0, err
    assert "songs: 50 files" in out and "events: 30 files" in out


def test_cli_errors_are_one_line_and_never_show_credentials(capsys, tmp_path, subset, aws_env, monkeypatch):
    db = f"duckdb:///{tmp_path}/w.duckdb"
    cases = [
        ["--source", "s3://sparkify-no-such-bucket/x"],
        ["--source", f"s3://{BUCKET}/nothing-here"],
        ["--source", subset[0], "--s3-endpoint", "http://127.0.0.1:9"],
    ]
    for args, expected in zip(cases, (66, 66, 75)):  # no such bucket, empty prefix: 66; refused: 75
        for debug in ([], ["--debug"]):
            code, out, err = sparkify(capsys, "run", *args, "--warehouse", db, *debug)
            assert code == expected, err
            assert SECRET_KEY not in out + err
            if not debug:
                assert err.count("\n") == 1 and err.startswith("Error: ")
    monkeypatch.setenv("SPARKIFY_S3_CONCURRENCY", "0")
    code, _, err = sparkify(capsys, "run", "--source", subset[0], "--warehouse", db)
    assert code == 2 and "s3_concurrency" in err and "SPARKIFY_S3_CONCURRENCY" in err


def test_cli_mixed_local_and_s3_sources_are_refused(capsys, tmp_path, subset, aws_env):
    code, _, err = sparkify(
        capsys,
        "run",
        "--source",
        str(subset[1]),
        "--log-source",
        f"s3://{BUCKET}/x",
        "--warehouse",
        f"duckdb:///{tmp_path}/w.duckdb",
    )
    assert code == 2 and "all local folders or all s3:// URIs" in err


@pytest.mark.parametrize("page_size", [None, 3])
def test_a_tree_of_keys_is_listed_in_parallel_exactly_once(s3_server, aws_env, monkeypatch, page_size):
    from sparkify.sources import s3

    monkeypatch.setattr(s3, "LIST_PAGE_SIZE", page_size)
    prefix = f"tree-{uuid.uuid4().hex[:8]}"
    keys = [f"{prefix}/song_data/top.json", f"{prefix}/song_data/A/a.json"]
    keys += [
        f"{prefix}/song_data/A/{c}/{d}/TR{c}{d}{i}.json"
        for c in "ABCDEFGHIJKLMNOPQRST"
        for d in "XY"
        for i in range(2)
    ]
    keys += [f"{prefix}/song_data/B/1/2/3/4/deep.json.gz", f"{prefix}/song_data/B/1/2/3/4/notes.txt"]
    client = _client(s3_server)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=BUCKET, Key=k, Body=b"{}"), keys))
    calls = []
    src = open_source(f"s3://{BUCKET}/{prefix}")
    real = src._list_pages
    monkeypatch.setattr(src, "_list_pages", lambda *a: calls.append(a) or real(*a))
    names = [f.name for f in src.list("songs")]
    assert names == sorted(f"s3://{BUCKET}/{k}" for k in keys)
    assert len(calls) > 16  # split into folders, each listed on its own


def test_the_s3_specific_endpoint_setting_wins_over_the_general_one(subset, aws_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws_env)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert len(open_source(subset[0]).list("events")) == 30


# -- every engine, incrementally ------------------------------------------------------------------


def test_s3_and_the_local_folder_give_the_same_tables_on_every_engine(warehouse, tmp_path, subset, aws_env):
    uri, local = subset
    pipeline.run(warehouse, open_source(uri))
    assert star_rows(warehouse) == run_into(tmp_path, "disk", local)[0]


def test_a_new_day_in_s3_is_the_only_object_fetched_and_the_result_equals_a_full_refresh(
    warehouse, tmp_path, s3_server, tiny, aws_env, monkeypatch
):
    from sparkify.sources.s3 import S3Source

    uri, local = tiny
    pipeline.run(warehouse, open_source(uri))
    day = local / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    day.write_text(
        "".join(
            json.dumps(event(ts=1541200000000 + i, itemInSession=i, sessionId=99, userId="12")) + "\n"
            for i in range(4)
        )
    )
    key = uri.split("/", 3)[3] + "/log_data/2018/11/2018-11-02-events.json"
    _client(s3_server).put_object(Bucket=BUCKET, Key=key, Body=day.read_bytes())
    fetched = []
    real = S3Source.read_bytes

    def spy(self, file):
        fetched.append(file.name)
        return real(self, file)

    monkeypatch.setattr(S3Source, "read_bytes", spy)
    report = pipeline.run(warehouse, open_source(uri))
    assert fetched == [f"{uri}/log_data/2018/11/2018-11-02-events.json"]
    assert report.stage.plans["events"].new == 1 and report.stage.plans["events"].unchanged == 1
    full = run_into(tmp_path, "full", local)[0]
    assert star_rows(warehouse) == full
    # the object rewritten with other content: its rows are replaced, never duplicated
    _client(s3_server).put_object(Bucket=BUCKET, Key=key, Body=day.read_bytes().splitlines(keepends=True)[0])
    day.write_bytes(day.read_bytes().splitlines(keepends=True)[0])
    pipeline.run(warehouse, open_source(uri))
    assert star_rows(warehouse) == run_into(tmp_path, "full2", local)[0]


def test_a_prefix_with_nothing_to_read_creates_no_warehouse(capsys, tmp_path, s3_server, tiny, aws_env):
    """Tester finding: a source whose log prefix held only zero-byte objects made the warehouse file
    and recorded a failed run before the listing refused it; now it is refused first (exit 66), as a
    mistyped prefix and a missing local folder are. A good source costs one listing request per kind."""
    uri, _ = tiny
    client = _client(s3_server)
    prefix = uri.split("/", 3)[3]
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/log_data/"):
        for obj in page.get("Contents", ()):
            client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/log_data/_SUCCESS", Body=b"")
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/log_data/2018/", Body=b"")
    for source, said in ((uri, "(only 1 zero-byte object, 1 folder placeholder)"), (f"{uri}-typo", "")):
        code, _out, err = sparkify(
            capsys, "run", "--source", source, "--warehouse", f"duckdb:///{tmp_path}/w.duckdb"
        )
        assert code == 66 and err.startswith("Error: No ") and said in err, err
        assert not (tmp_path / "w.duckdb").exists()
    client.put_object(
        Bucket=BUCKET, Key=f"{prefix}/log_data/2018/day.json", Body=json.dumps(event()).encode()
    )
    code, _, err = sparkify(capsys, "run", "--source", uri, "--warehouse", f"duckdb:///{tmp_path}/w.duckdb")
    assert code == 0, err
    assert (tmp_path / "w.duckdb").exists()


def test_an_archived_object_is_said_to_be_archived_not_denied(tmp_path, s3_server, tiny, aws_env):
    """Tester finding: an object in GLACIER was 'Access denied ... need s3:GetObject' (exit 66)."""
    uri, _ = tiny
    key = uri.split("/", 3)[3] + "/log_data/cold.json"
    _client(s3_server).put_object(
        Bucket=BUCKET, Key=key, Body=json.dumps(event()).encode(), StorageClass="GLACIER"
    )
    with connect(f"duckdb:///{tmp_path}/w.duckdb") as wh, pytest.raises(SourceError) as exc:
        pipeline.run(wh, open_source(uri))
    assert str(exc.value).startswith(f"s3://{BUCKET}/{key} is archived (a storage class such as GLACIER")
    assert "restore it" in str(exc.value) and "Access denied" not in str(exc.value)


def test_an_empty_prefix_is_not_given_back_as_a_suggestion(s3_server, aws_env):
    """Tester findings: a prefix holding only placeholders and a zero-byte object was answered "did you
    mean <the prefix itself>?", its placeholder listed as an empty name; an object's key given as the
    songs' place was suggested back as it was typed."""
    import uuid

    from sparkify.errors import SourceError
    from tests.helpers.s3 import client

    s3 = client(s3_server)
    p = f"hint-{uuid.uuid4().hex[:8]}"
    for key, body in [
        (f"{p}/song_data/", b""),
        (f"{p}/song_data/A/", b""),
        (f"{p}/song_data/_SUCCESS", b""),
        (f"{p}/log_data/d.json", b'{"ts": 1}\n'),
        (f"{p}/one/song.json", b'{"song_id": "S"}'),
    ]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    with pytest.raises(SourceError) as exc:
        open_source(f"s3://{BUCKET}/{p}").list("songs")
    assert str(exc.value) == (
        f"No song objects under s3://{BUCKET}/{p}/song_data/ (only 1 zero-byte object, 2 folder placeholders). "
        "Nothing was loaded. Check --source: it must be the prefix that holds song_data/ and log_data/ (or "
        "pass --song-source)."
    )
    with pytest.raises(SourceError) as exc:
        open_source(
            song_source=f"s3://{BUCKET}/{p}/one/song.json", log_source=f"s3://{BUCKET}/{p}/log_data"
        ).list("songs")
    assert str(exc.value) == (
        f"No song objects under s3://{BUCKET}/{p}/one/song.json/; s3://{BUCKET}/{p}/one/song.json is an "
        f"object, not a prefix: pass the prefix holding it, s3://{BUCKET}/{p}/one/. Nothing was loaded. "
        "Check --song-source."
    )


def test_https_to_an_endpoint_that_speaks_http_names_the_endpoint(s3_server, aws_env):
    """Tester finding: a raw "SSL validation failed ... WRONG_VERSION_NUMBER" (exit 66), no word of
    --s3-endpoint."""
    from sparkify.errors import ConfigError

    endpoint = s3_server.replace("http://", "https://")
    with pytest.raises(ConfigError) as exc:
        open_source(f"s3://{BUCKET}/anything", s3_endpoint=endpoint).list("songs")
    assert str(exc.value) == (
        f"Cannot read s3://{BUCKET}/anything/song_data/: the TLS handshake with S3 at {endpoint} failed. Check "
        "--s3-endpoint (http:// or https://, as the server speaks) and its certificate."
    )
