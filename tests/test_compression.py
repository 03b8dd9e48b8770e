"""Compressed input, known by its first bytes whatever its name: gzip (member by member, as ``gzip -d``
reads it), bzip2 and xz are read; zstd, zip and other compressions are one rejected record naming the
format (tester finding: a .zst or .bz2 file gave hundreds of "malformed JSON" rejects and no hint). A
gzip file with bytes after its end that are not gzip, or whose last member is cut short, keeps the
records of the whole members before the bad bytes, and the bad bytes are one rejected record saying
where they start (tester finding: the whole file was rejected, its good records lost).

Expected counts come from the hand-made files (how many events each holds), never from sparkify."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkify import pipeline
from sparkify.sources import CorruptFileError, SourceFile, compression_of, decompress
from sparkify.staging.spool import SMALL_FILE, _readable_in_place
from tests.helpers.records import plain_event, plain_song, rows, write_source

ZSTD = bytes.fromhex("28b52ffd")  # the frame magic number (RFC 8878), then anything
ZIP = b"PK\x03\x04"


def day(session: int, n: int, **extra) -> list[dict]:
    """``n`` NextSong events of user 10 in ``session``, a second apart: ``n`` songplays."""
    return [
        plain_event(
            sessionId=session, itemInSession=i, ts=1541030400000 + session * 10**7 + i * 1000, **extra
        )
        for i in range(n)
    ]


def ndjson(events: list[dict]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in events).encode()


# -- which compression: by the first bytes ---------------------------------------------------------


@pytest.mark.parametrize(
    "head, expected",
    [
        (gzip.compress(b"{}"), "gzip"),
        (bz2.compress(b"{}"), "bzip2"),
        (bz2.compress(b""), "bzip2"),  # an empty stream: no block, its end marker at once
        (lzma.compress(b"{}"), "xz"),
        (ZSTD + b"\x00" * 6, "zstd"),
        (ZIP + b"\x14\x00", "zip"),
        (b"\x04\x22\x4d\x18\x64\x40", "lz4"),
        (b"\x89LZO\x00\r\n\x1a\n", "lzop"),
        (b"\xff\x06\x00\x00sNaPpY", "snappy"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
        (b"\x1f\x9d\x90{", "compress (.Z)"),
        (zlib.compress(b"{}"), "zlib"),
        (lzma.compress(b"{}", format=lzma.FORMAT_ALONE), "lzma"),  # the .lzma format before xz
        (b"x is no JSON", None),
        (b"]", None),
        (b'{"ts": 1}\n', None),
        (b"\xef\xbb\xbf{}", None),  # a UTF-8 byte order mark: plain text
        (b"BZh9 is how bzip2 starts", None),  # the block magic must follow: text that starts so is text
        (b"PK is a plain word", None),
        (b"", None),
    ],
)
def test_a_compression_is_known_by_its_magic_number(head, expected):
    assert compression_of(head[:10]) == expected


# -- decompress ------------------------------------------------------------------------------------


def test_bzip2_and_xz_are_decompressed_like_gzip():
    text = ndjson(day(1, 3))
    assert decompress("f", bz2.compress(text)) == text
    assert decompress("f", lzma.compress(text)) == text
    assert decompress("f", bz2.compress(text[:50]) + bz2.compress(text[50:])) == text  # two streams
    assert decompress("f", text) is text  # plain bytes as they are


def test_other_compressions_are_refused_by_name():
    with pytest.raises(
        CorruptFileError, match=r"^zstd-compressed .* decompress it, or compress it with gzip"
    ) as exc:
        decompress("f", ZSTD + b"\x00" * 50)
    assert (exc.value.decoded, exc.value.offset) == (b"", 0)
    with pytest.raises(CorruptFileError, match=r"^zip-compressed"):
        decompress("f", ZIP + b"\x00" * 50)


def test_a_broken_bzip2_or_xz_file_is_refused_whole():
    with pytest.raises(CorruptFileError, match="starts like bzip2 but is not a valid bzip2 file"):
        decompress("f", bz2.compress(b'{"a": 1}\n' * 100)[:-20])
    with pytest.raises(CorruptFileError, match="starts like xz but is not a valid xz file"):
        decompress("f", lzma.compress(b'{"a": 1}\n' * 100)[:-20])


def test_gzip_members_are_read_one_after_another_and_zero_padding_is_ignored():
    a, b = b'{"a": 1}\n', b'{"b": 2}\n'
    assert decompress("f", gzip.compress(a) + gzip.compress(b)) == a + b
    assert decompress("f", gzip.compress(a) + b"\x00" * 1000) == a  # padded to a tape block, as gzip allows
    assert decompress("f", gzip.compress(b"")) == b""


def test_bytes_after_the_gzip_data_keep_the_members_before_them():
    a, b = b'{"a": 1}\n', b'{"b": 2}\n'
    first, second = gzip.compress(a), gzip.compress(b)
    with pytest.raises(CorruptFileError) as exc:
        decompress("f", first + second + b"junk")
    assert exc.value.decoded == a + b and exc.value.offset == len(first) + len(second)
    assert (
        str(exc.value)
        == "4 bytes after the end of the gzip data are not gzip; the 2 gzip members before them were read"
    )


def test_a_gzip_member_cut_short_keeps_the_whole_members_before_it():
    a, b = b'{"a": 1}\n', b'{"b": 2}\n' * 50
    first = gzip.compress(a)
    with pytest.raises(CorruptFileError) as exc:
        decompress("f", first + gzip.compress(b)[:-12])  # the trailer and some data gone
    assert exc.value.decoded == a and exc.value.offset == len(first)  # none of the cut member
    assert str(exc.value).startswith(
        "the gzip stream is cut short (truncated); the gzip member before them was read"
    )
    with pytest.raises(
        CorruptFileError, match="^starts like gzip but is not a valid gzip file: the gzip stream is cut short"
    ) as exc:
        decompress("f", gzip.compress(b)[:-12])
    assert exc.value.decoded == b""


def test_a_corrupt_gzip_member_keeps_the_members_before_it():
    a = b'{"a": 1}\n'
    bad = bytearray(gzip.compress(b'{"b": 2}\n' * 50))
    bad[-8] ^= 0xFF  # the CRC-32 of the second member
    first = gzip.compress(a)
    with pytest.raises(CorruptFileError, match="not a valid gzip member") as exc:
        decompress("f", first + bytes(bad))
    assert (exc.value.decoded, exc.value.offset) == (a, len(first))


COMPRESS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


@settings(max_examples=90, deadline=None)
@given(
    kind=st.sampled_from(sorted(COMPRESS)),
    members=st.lists(st.binary(max_size=200), min_size=1, max_size=5),
    tail=st.sampled_from(["none", "zeros", "junk", "cut"]),
)
def test_members_and_streams_property(kind, members, tail):
    """Whatever the format, members (streams) and tail, what is decoded is exactly the whole members
    before the bad bytes (tester finding: after a bzip2 or xz stream, Python's own decompress dropped
    what it could not decode without a word -- records lost, no reject)."""
    packed = [COMPRESS[kind](m) for m in members]
    data = b"".join(packed)
    if tail == "none":
        assert decompress("f", data) == b"".join(members)
        return
    if tail == "zeros":
        assert decompress("f", data + b"\x00" * 7) == b"".join(members)
        return
    if tail == "junk":
        data += b"\x01junk"
        whole = members
    else:  # the last member cut short
        data = data[:-3]
        whole = members[:-1]
    with pytest.raises(CorruptFileError) as exc:
        decompress("f", data)
    assert exc.value.decoded == b"".join(whole)
    assert exc.value.offset == sum(len(p) for p in packed[: len(whole)])


# -- a large compressed local file is never read in place ------------------------------------------


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress, lambda b: ZSTD + b])
def test_a_large_compressed_local_file_goes_through_the_spool(tmp_path, compress):
    rng = random.Random(0)
    text = "".join(
        rng.choice("abcdefghij") for _ in range(SMALL_FILE * 3)
    ).encode()  # compresses to > SMALL_FILE
    path = tmp_path / "day.json"  # named like plain JSON: the bytes decide
    path.write_bytes(compress(text))
    assert path.stat().st_size > SMALL_FILE
    f = SourceFile(str(path), path.stat().st_size, "1", str(path))
    assert f.compression is not None and not _readable_in_place(f)
    plain = tmp_path / "plain.json"
    plain.write_bytes(text)
    assert _readable_in_place(SourceFile(str(plain), plain.stat().st_size, "1", str(plain)))


# -- every engine: counts add up -------------------------------------------------------------------


def test_compressed_days_on_every_engine(warehouse, tmp_path):
    """Six day files, each compressed another way (names that say nothing): every event of the
    readable ones is staged, the records of a gzip file before its bad bytes too, and each file's
    bad bytes are one rejected record with no line."""
    from tests.conftest import source_for

    src = write_source(tmp_path / "src", songs=[plain_song()], events={"plain.json": day(1, 4)})
    log = src / "log_data"
    (log / "b").write_bytes(bz2.compress(ndjson(day(2, 5))))
    (log / "x").write_bytes(lzma.compress(ndjson(day(3, 6))))
    (log / "g").write_bytes(
        gzip.compress(ndjson(day(4, 3))) + gzip.compress(ndjson(day(5, 2))) + b"\r\n--\r\n"
    )
    (log / "t").write_bytes(gzip.compress(ndjson(day(6, 7))) + gzip.compress(ndjson(day(7, 8)))[:-10])
    (log / "z").write_bytes(ZSTD + bytes(range(200)))
    report = pipeline.run(warehouse, source_for(warehouse, src), max_errors=3)
    staged = 4 + 5 + 6 + (3 + 2) + 7  # "t": its first member only
    result = report.stage.results["events"]
    assert (result.staged, result.rejected) == (staged, 3)
    rejects = {r.source.rsplit("/", 1)[-1]: r for r in report.stage.rejects}
    assert sorted(rejects) == ["g", "t", "z"] and all(r.line is None for r in rejects.values())
    g_offset = len(gzip.compress(ndjson(day(4, 3)))) + len(gzip.compress(ndjson(day(5, 2))))
    assert rejects["g"].reason == (
        f"cannot be read from byte {g_offset:,} on: 6 bytes after the end of the gzip data are not gzip; "
        "the 2 gzip members before them were read"
    )
    assert rejects["t"].reason.startswith("cannot be read from byte ")
    assert rejects["z"].reason.startswith("cannot be read: zstd-compressed")
    assert len(rows(warehouse, "songplays")) == staged
    errors = warehouse.query(f"select count(*) from {warehouse.qualified('load_errors')}")[1][0][0]
    assert errors == 3


def test_the_summary_counts_agree_with_its_table(tmp_path, capsys):
    """Tester finding: 3 rejects in the table, and the line over the listed ones said '1 record
    rejected' -- the other 2 were the unreadable files listed above it."""
    from tests.conftest import sparkify

    src = write_source(tmp_path / "src", songs=[plain_song()], events={"a.json": day(1, 2)})
    (src / "log_data" / "z1").write_bytes(ZSTD + b"\x00" * 20)
    (src / "log_data" / "z2").write_bytes(ZIP + b"\x00" * 20)
    (src / "log_data" / "bad.json").write_text("not json\n")
    code, out, _ = sparkify(
        capsys, "run", "-s", str(src), "-w", f"duckdb:///{tmp_path}/w.duckdb", "--max-errors", "3"
    )
    assert code == 0
    assert "Could not read 2 files (whole or in part):\n" in out
    assert "│ events │          4 │ 0.0 │            5 │      2 │        3 │" in out
    assert "1 more record rejected (see the load_errors table):\n" in out


def test_bzip2_and_xz_streams_are_read_one_after_another():
    """Tester findings: junk between two bzip2 streams, or after an xz stream, dropped the rest with no
    reject; xz's stream padding (zero bytes in fours) rejected the whole file."""
    a, b = b'{"a": 1}\n', b'{"b": 2}\n'
    assert decompress("f", lzma.compress(a) + b"\x00" * 4 + lzma.compress(b)) == a + b
    assert decompress("f", lzma.compress(a) + b"\x00" * 8) == a
    first = bz2.compress(a)
    with pytest.raises(CorruptFileError) as exc:
        decompress("f", first + b"XX" + bz2.compress(b))
    assert (exc.value.decoded, exc.value.offset) == (a, len(first))
    assert str(exc.value).startswith(
        "2 + "
    ) is False and "bytes after the end of the bzip2 data are not bzip2" in str(exc.value)
    with pytest.raises(CorruptFileError) as exc:
        decompress("f", first + bz2.compress(b * 50)[:50])
    assert exc.value.decoded == a and str(exc.value).startswith("the bzip2 stream is cut short")
    first = lzma.compress(a)
    with pytest.raises(CorruptFileError) as exc:
        decompress("f", first + b"not xz" * 20)
    assert (exc.value.decoded, exc.value.offset) == (a, len(first))
    assert (
        str(exc.value)
        == "120 bytes after the end of the xz data are not xz; the xz stream before them was read"
    )


def test_compressed_twice_or_in_a_format_sparkify_does_not_read_is_one_reject_on_every_engine(
    warehouse, tmp_path
):
    """Tester finding: a gzip file inside a gzip file, a raw zlib stream or a legacy .lzma file were
    read as text, each 4-6 arbitrary "invalid UTF-8" rejects with no hint of the compression."""
    from tests.conftest import source_for

    src = write_source(tmp_path / "src", songs=[plain_song()], events={"plain.json": day(1, 4)})
    log = src / "log_data"
    (log / "twice").write_bytes(gzip.compress(gzip.compress(ndjson(day(2, 5)))))
    (log / "xz-in-bz2").write_bytes(bz2.compress(lzma.compress(ndjson(day(3, 5)))))
    (log / "zl").write_bytes(zlib.compress(ndjson(day(4, 5))))
    (log / "old").write_bytes(lzma.compress(ndjson(day(5, 5)), format=lzma.FORMAT_ALONE))
    report = pipeline.run(warehouse, source_for(warehouse, src), max_errors=4)
    result = report.stage.results["events"]
    assert (result.staged, result.rejected) == (4, 4)
    reasons = {r.source.rsplit("/", 1)[-1]: (r.line, r.reason) for r in report.stage.rejects}
    assert reasons == {
        "twice": (
            None,
            "cannot be read: gzip-compressed, and what it holds is gzip-compressed again: sparkify reads one "
            "layer, as Redshift's COPY does; decompress it once more before loading",
        ),
        "xz-in-bz2": (
            None,
            "cannot be read: bzip2-compressed, and what it holds is xz-compressed again: sparkify reads one "
            "layer, as Redshift's COPY does; decompress it once more before loading",
        ),
        "zl": (
            None,
            "cannot be read: zlib-compressed (its first bytes are zlib's magic number), which sparkify does "
            "not read: decompress it, or compress it with gzip, bzip2 or xz",
        ),
        "old": (
            None,
            "cannot be read: lzma-compressed (its first bytes are lzma's magic number), which sparkify does not "
            "read: decompress it, or compress it with gzip, bzip2 or xz",
        ),
    }


def test_a_later_member_compressed_twice_keeps_the_members_before_it():
    """Tester finding: a gzip file whose second member holds gzip data again gave five "invalid UTF-8"
    rejects; now the members before it are read and the rest is one reject saying why."""
    first = gzip.compress(ndjson(day(1, 2)))
    with pytest.raises(CorruptFileError) as exc:
        decompress("f", first + gzip.compress(gzip.compress(ndjson(day(2, 2)))))
    assert (exc.value.decoded, exc.value.offset) == (ndjson(day(1, 2)), len(first))
    assert str(exc.value) == (
        "the bytes there are a gzip member holding gzip-compressed data again; the gzip member before them was read"
    )
