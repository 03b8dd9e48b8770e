"""The JSON reader: every record staged or rejected with its file, line, field and reason."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkify.sources.local import LocalSource
from sparkify.staging.reader import JsonReader
from sparkify.staging.spool import MAX_LINE_BYTES
from tests.helpers.records import event, song

T = 1541105830796
"""A plausible event time (epoch ms); tests add small offsets to it."""


def make_source(root: Path, logs: dict[str, bytes], songs: dict[str, bytes] | None = None) -> LocalSource:
    for name, data in logs.items():
        p = root / "log_data" / "2018" / "11" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "log_data").mkdir(parents=True, exist_ok=True)
    (root / "song_data").mkdir(parents=True, exist_ok=True)
    for name, data in (songs or {}).items():
        p = root / "song_data" / "A" / "B" / "C" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return LocalSource(root)


def ndjson(*records) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def read(tmp_path, kind, source):
    con = duckdb.connect()
    reader = JsonReader(con, tmp_path / "spool")
    result = reader.read(kind, source, source.list(kind), "out")
    rows = con.execute("select * from out").fetchall()
    cols = [d[0] for d in con.execute("select * from out limit 0").description]
    return result, [dict(zip(cols, r)) for r in rows]


def test_clean_events_take_the_fast_path_and_keep_types(tmp_path):
    src = make_source(tmp_path / "src", {"a.json": ndjson(event(), event(userId="", page="Home", ts=T + 1))})
    result, rows = read(tmp_path, "events", src)
    assert not result.precise
    assert (result.read, result.staged, result.rejected) == (2, 2, 0)
    assert rows[0]["ts"] == 1541105830796
    assert rows[0]["item_in_session"] == 0 and rows[0]["session_id"] == 10
    assert rows[0]["registration"] == 1540919166796.0
    assert rows[0]["first_name"] == "Ann" and rows[0]["user_agent"] == "Mozilla"
    assert rows[1]["user_id"] == ""


def test_numbers_in_text_fields_take_their_text_form(tmp_path):
    src = make_source(
        tmp_path / "src",
        {},
        {"TR1.json": json.dumps(song(title=66, artist_name=4.6, artist_location=12)).encode()},
    )
    result, rows = read(tmp_path, "songs", src)
    assert result.staged == 1
    assert (rows[0]["title"], rows[0]["artist_name"], rows[0]["artist_location"]) == ("66", "4.6", "12")


def test_the_precise_path_gives_the_same_rows_as_the_fast_path(tmp_path):
    records = [event(title=None, song="66"), event(userId="12", length=None, artist=None, ts=T + 2)]
    good = make_source(tmp_path / "good", {"a.json": ndjson(*records)})
    bad = make_source(tmp_path / "bad", {"a.json": ndjson(*records) + b"{broken\n"})
    fast, fast_rows = read(tmp_path / "f", "events", good)
    precise, precise_rows = read(tmp_path / "p", "events", bad)
    assert not fast.precise and precise.precise
    assert {r.pop("source_file") for r in fast_rows} == {str(tmp_path / "good/log_data/2018/11/a.json")}
    assert {r.pop("source_file") for r in precise_rows} == {str(tmp_path / "bad/log_data/2018/11/a.json")}
    assert precise_rows == fast_rows
    assert (precise.read, precise.staged, precise.rejected) == (3, 2, 1)


BAD_LINES = [
    # (line bytes, field, reason fragment)
    (b'{"ts": 1, "page": "Home"', None, "malformed JSON"),
    (json.dumps(event(ts="yesterday")).encode(), "ts", "expected a number"),
    (json.dumps(event(ts="1541105830796")).encode(), "ts", "expected a number"),
    (json.dumps(event(sessionId=2**40)).encode(), "sessionId", "out of range"),
    (json.dumps(event(itemInSession=1.5)).encode(), "itemInSession", "expected an integer"),
    (json.dumps(event(status=True)).encode(), "status", "expected a number"),
    (json.dumps({k: v for k, v in event().items() if k != "ts"}).encode(), "ts", "missing"),
    (json.dumps(event(page=None)).encode(), "page", "null"),
    (json.dumps(event(length="long")).encode(), "length", "expected a number"),
    (json.dumps(event(userId="abc")).encode(), "userId", "digits"),
    (b'{"artist": "Caf\xe9"}', None, "invalid UTF-8"),
    (b"[1, 2, 3]", None, "top-level JSON array"),
    (b'{"ts": NaN, "page": "Home"}', "ts", "NaN is not a JSON number"),
    # a key no staging column takes, its object holding a key twice: the rules parse every level
    (  # named by its path from the record's top (a tester's finding: only 'a')
        json.dumps(event())[:-1].encode() + b', "extra": {"a": 1, "a": 2}}',
        "extra.a",
        "duplicate key 'extra.a'",
    ),
    (json.dumps(event())[:-1].encode() + b', "t": [1, {"b": {"c": 1, "c": 2}}]}', "t[1].b.c", "'t[1].b.c'"),
]


@pytest.mark.parametrize("line,field,reason", BAD_LINES, ids=[r for _, _, r in BAD_LINES])
def test_each_kind_of_bad_record_is_rejected_with_file_line_field_and_reason(tmp_path, line, field, reason):
    data = ndjson(event(ts=T + 1)) + line + b"\n" + ndjson(event(ts=T + 3))
    src = make_source(tmp_path / "src", {"day.json": data})
    result, rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (3, 2, 1)
    assert [r["ts"] for r in rows] == [T + 1, T + 3]
    (rej,) = result.rejects
    assert rej.source.endswith("day.json")
    assert rej.line == 2
    assert rej.field == field
    assert reason in rej.reason
    assert str(rej).startswith(f"{rej.source}:2: ")


def test_a_line_over_4_mb_is_rejected_not_parsed(tmp_path):
    huge = json.dumps(event(song="x" * (MAX_LINE_BYTES + 10))).encode()
    src = make_source(tmp_path / "src", {"day.json": ndjson(event()) + huge + b"\n"})
    result, _rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (2, 1, 1)
    assert "longer than 4 MB" in result.rejects[0].reason
    assert len(result.rejects[0].raw) <= 1000


def test_truncated_file_rejects_only_the_cut_record(tmp_path):
    data = ndjson(event(ts=T + 1), event(ts=T + 2))
    src = make_source(tmp_path / "src", {"day.json": data[:-20]})
    result, _rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (2, 1, 1)
    assert result.rejects[0].line == 2


def test_truncated_gzip_file_is_rejected_as_a_whole_and_named(tmp_path):
    data = gzip.compress(ndjson(event(ts=T + 1), event(ts=T + 2)))
    src = make_source(tmp_path / "src", {"day.json.gz": data[:-8], "ok.json": ndjson(event(ts=T + 5))})
    result, rows = read(tmp_path, "events", src)
    assert [r["ts"] for r in rows] == [T + 5]
    assert result.rejected == 1 and result.rejects[0].source.endswith("day.json.gz")


def test_gzip_files_are_read_transparently(tmp_path):
    src = make_source(
        tmp_path / "src", {"day.json.gz": gzip.compress(ndjson(event(ts=T + 1), event(ts=T + 2)))}
    )
    result, _rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (2, 2, 0)


def test_bom_and_crlf_and_blank_lines_are_not_records(tmp_path):
    data = (
        b"\xef\xbb\xbf"
        + json.dumps(event(ts=T + 1)).encode()
        + b"\r\n\r\n"
        + json.dumps(event(ts=T + 2)).encode()
        + b"\r\n"
    )
    src = make_source(tmp_path / "src", {"day.json": data})
    result, rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (2, 2, 0)
    assert sorted(r["ts"] for r in rows) == [T + 1, T + 2]


def test_empty_file_has_no_records(tmp_path):
    # blank lines only: a zero-byte file is passed over by the listing, never read (test_sources)
    src = make_source(tmp_path / "src", {"empty.json": b"\n \n", "day.json": ndjson(event())})
    result, _rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (1, 1, 0)
    assert result.files[str(tmp_path / "src/log_data/2018/11/empty.json")].read == 0


def test_pretty_printed_song_file_is_one_record(tmp_path):
    src = make_source(
        tmp_path / "src",
        {},
        {
            "TR1.json": json.dumps(song(), indent=2).encode(),
            "TR2.json": json.dumps(song(song_id="SO2")).encode(),
        },
    )
    result, rows = read(tmp_path, "songs", src)
    assert (result.read, result.staged, result.rejected) == (2, 2, 0)
    assert sorted(r["song_id"] for r in rows) == ["SO1", "SO2"]


def test_song_file_with_several_objects_one_per_line(tmp_path):
    data = ndjson(song(song_id="SO1"), song(song_id="SO2"))
    src = make_source(tmp_path / "src", {}, {"TR1.json": data})
    result, rows = read(tmp_path, "songs", src)
    assert not result.precise
    assert sorted(r["song_id"] for r in rows) == ["SO1", "SO2"]


def test_unknown_fields_are_counted_on_the_precise_path(tmp_path):
    src = make_source(
        tmp_path / "src", {"d.json": ndjson(event(extra=1), event(extra=2, other=3)) + b"oops\n"}
    )
    result, _ = read(tmp_path, "events", src)
    assert result.unknown_fields == {"extra": 2, "other": 1}


good_events = st.builds(
    lambda ts, uid, sess: event(ts=ts, userId=uid, sessionId=sess),
    st.integers(946684800000, 4102444799999),
    st.sampled_from(["", "1", "42", "999999999"]),
    st.integers(0, 2**31 - 1),
)
bad_lines = st.sampled_from([line for line, _, _ in BAD_LINES] + [b"{oops", b"null", b'"text"', b"{}"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(good_events.map(lambda e: ("good", e)), bad_lines.map(lambda b: ("bad", b))), max_size=25
    )
)
def test_accounting_identity_every_good_record_staged_every_bad_one_rejected(tmp_path_factory, items):
    root = tmp_path_factory.mktemp("prop")
    lines = [json.dumps(x).encode() if kind == "good" else x for kind, x in items]
    src = make_source(root / "src", {"day.json": b"\n".join(lines) + b"\n"})
    result, rows = read(root, "events", src)
    expected_good = [x["ts"] for kind, x in items if kind == "good"]
    expected_bad = [i for i, (kind, _) in enumerate(items, 1) if kind == "bad"]
    assert result.read == result.staged + result.rejected == len(items)
    assert sorted(r["ts"] for r in rows) == sorted(expected_good)
    assert [r.line for r in result.rejects] == expected_bad


def test_every_row_knows_its_file_on_every_path(tmp_path):
    big = ndjson(*[event(ts=T + i, page="Home") for i in range(4000)])  # over 1 MB: read in place
    assert len(big) > 1 << 20
    logs = {"big.json": big, "small.json": ndjson(event(ts=T - 1), event(ts=T - 2)), "tiny.json": b"{}\n"}
    src = make_source(tmp_path / "src", {k: v for k, v in logs.items() if k != "tiny.json"})
    result, rows = read(tmp_path / "fast", "events", src)
    assert not result.precise
    by_file = {}
    for r in rows:
        by_file.setdefault(r["source_file"].rsplit("/", 1)[1], []).append(r["ts"])
    assert sorted(by_file["small.json"]) == [T - 2, T - 1] and len(by_file["big.json"]) == 4000
    src = make_source(tmp_path / "src2", logs)  # "{}" lacks ts: precise path
    result, rows = read(tmp_path / "precise", "events", src)
    assert result.precise and result.rejected == 1
    assert sorted(r["ts"] for r in rows if r["source_file"].endswith("small.json")) == [T - 2, T - 1]


def test_unknown_fields_are_counted_on_the_fast_path_too(tmp_path):
    big = ndjson(*[event(ts=T + i, page="Home", **({"newField": i} if i % 2 else {})) for i in range(4000)])
    src = make_source(tmp_path / "src", {"big.json": big, "small.json": ndjson(event(extra=1), event())})
    result, rows = read(tmp_path, "events", src)
    assert not result.precise
    assert result.unknown_fields == {"extra": 1, "newField": 2000}
    assert len(rows) == 4002


def test_a_key_named_like_the_spool_tag_is_an_unknown_field_on_every_path(tmp_path):
    # the spool tags each record of a small file with its file's name under this key; in a file
    # read in place (or spooled) a record's own key of that name is just an unknown field
    tag = "__sparkify_source"
    big = ndjson(
        *[event(ts=T + i, page="Home") for i in range(4000)], event(ts=T - 1, **{tag: "/elsewhere.json"})
    )
    assert len(big) > 1 << 20  # read in place
    small = ndjson(event(ts=T - 2, **{tag: "/elsewhere.json"}), event(ts=T - 3))
    src = make_source(tmp_path / "src", {"big.json": big, "small.json": small})
    result, rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (4003, 4003, 0)
    assert {name.rsplit("/", 1)[1]: c.read for name, c in result.files.items()} == {
        "big.json": 4001,
        "small.json": 2,
    }
    by_file = {}
    for r in rows:
        by_file.setdefault(r["source_file"].rsplit("/", 1)[1], []).append(r["ts"])
    assert sorted(by_file) == ["big.json", "small.json"]
    assert T - 1 in by_file["big.json"] and sorted(by_file["small.json"]) == [T - 3, T - 2]
    assert result.unknown_fields == {tag: 2}


def test_no_unknown_fields_in_clean_data(tmp_path):
    src = make_source(
        tmp_path / "src", {"a.json": ndjson(event(), {k: v for k, v in event().items() if k != "song"})}
    )
    result, _ = read(tmp_path, "events", src)
    assert result.unknown_fields == {}


def test_progress_counts_every_file_once_even_when_the_precise_path_rereads_them(tmp_path):
    calls = []
    src = make_source(tmp_path / "src", {"a.json": ndjson(event()), "b.json": b"{bad\n"}, {"TR1.json": b"{}"})
    files = src.list("events")
    con = duckdb.connect()
    result = JsonReader(con, tmp_path / "spool", progress=lambda n, b: calls.append((n, b))).read(
        "events", src, files, "out"
    )
    assert result.precise
    assert sum(n for n, _ in calls) == 2
    assert sum(b for _, b in calls) == sum(f.size for f in files)


def test_the_scan_reports_files_as_read_while_it_runs(tmp_path, monkeypatch):
    # The fast path reads every log file in one DuckDB statement; its bar stood still until it ended
    # (16 s for a million events on a 2-core machine). Reports made while it runs come from the
    # thread that asks DuckDB how far it has got; each file is reported once, in order.
    import threading

    from sparkify.generate import generate
    from sparkify.sources import open_source
    from sparkify.staging import reader as reader_module
    from sparkify.staging import spool

    monkeypatch.setattr(reader_module, "PROGRESS_SECONDS", 0.002)
    monkeypatch.setattr(spool, "SMALL_FILE", 1000)  # every day file read in place, as a big day file is
    generate(tmp_path / "src", events=200_000, songs=20, users=100, seed=1)
    source = open_source(str(tmp_path / "src"))
    files = source.list("events")
    calls: list[tuple[str, int, int]] = []
    main = threading.main_thread()

    def progress(n: int, nbytes: int) -> None:
        calls.append(("main" if threading.current_thread() is main else "scan", n, nbytes))

    con = duckdb.connect(config={"threads": "2"})
    result = JsonReader(con, tmp_path / "spool", progress=progress).read("events", source, files, "ev")
    assert result.staged == 200_000
    assert sum(n for _, n, _ in calls) == len(files)
    assert sum(b for _, _, b in calls) == sum(f.size for f in files)
    assert any(who == "scan" for who, _, _ in calls), calls  # some while the statement ran
    assert calls[-1][0] == "main"  # the rest once it ended


def _plain_line_run(data: bytes, run: int, limit: int) -> int | None:
    """Reference for _line_run: byte by byte, the longest stretch with no newline."""
    for b in data:
        run = 0 if b == 0x0A else run + 1
        if run > limit:
            return None
    return run


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=80).map(lambda b: bytes(0x0A if x % 4 == 0 else 0x41 for x in b)),
    st.integers(1, 12),
    st.data(),
)
def test_line_run_finds_every_line_over_the_limit_across_chunks(data, limit, draw):
    from sparkify.staging.spool import _line_run

    run = draw.draw(st.integers(0, limit))
    assert _line_run(data, run, limit) == _plain_line_run(data, run, limit)
    cut = draw.draw(st.integers(0, len(data)))  # the same bytes read in two chunks
    first = _line_run(data[:cut], run, limit)
    split = None if first is None else _line_run(data[cut:], first, limit)
    assert split == _plain_line_run(data, run, limit)


# Lines DuckDB's reader fails a whole scan on (over its maximum_object_size, 16 MB): the file goes to
# the precise path, which frames its records, and rejects only a record over 4 MB, by line.
_DAY = [event(ts=T + i, itemInSession=i, song=f"Song {i} " + "x" * 300) for i in range(45_000)]  # ~17 MB


@pytest.mark.parametrize(
    "layout",
    ["back to back", "cr line ends", "gzip, back to back", "zero padding", "a 40 MB record"],
)
def test_a_file_with_a_line_duckdb_cannot_read_is_framed_record_by_record(tmp_path, layout):
    records = [json.dumps(e).encode() for e in _DAY]
    name, data, rejected = "day.json", b"".join(records), 0
    if layout == "cr line ends":
        data = b"\r".join(records) + b"\r"
    elif layout == "gzip, back to back":
        name, data = "day.json.gz", gzip.compress(data, compresslevel=1)
    elif layout == "zero padding":  # a writer that preallocated the file
        data = b"\n".join(records[:100]) + b"\n" + b"\0" * (17 << 20)
        records, rejected = records[:100], 1
    elif layout == "a 40 MB record":
        huge = json.dumps(event(ts=T - 1, song="y" * (40 << 20))).encode()
        data = b"\n".join([*records[:10], huge, *records[10:20]]) + b"\n"
        records, rejected = records[:20], 1
    src = make_source(tmp_path / "src", {name: data})
    result, rows = read(tmp_path, "events", src)
    assert (result.read, result.staged, result.rejected) == (len(records) + rejected, len(records), rejected)
    assert sorted(r["ts"] for r in rows) == sorted(json.loads(r)["ts"] for r in records)
    if layout == "a 40 MB record":
        assert result.rejects[0].line == 11 and "longer than 4 MB" in result.rejects[0].reason
