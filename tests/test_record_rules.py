"""One set of record rules on every path: a record's fate is a function of that record alone.

The property tests generate records and whole files -- valid, borderline and invalid: non-standard
literals, huge or fractional numbers in integer fields, strings in number fields, nested values,
escapes, unusual whitespace and framing -- and check that the reader (DuckDB's fast path wherever it
may take it) stages exactly the rows, and rejects exactly the records, that the rules give when
applied record by record in Python (``frame`` + ``type_record``), whether the file is alone or beside a
broken one. The hand-written tests pin the rules' own answers on each kind of input.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sparkify.sources.local import LocalSource
from sparkify.staging.framing import frame
from sparkify.staging.reader import JsonReader
from sparkify.staging.rules import RecordRules, type_record
from tests.helpers.records import event, song

T = 1541105830796
"""A plausible event time (epoch ms)."""


def write(root: Path, kind: str, files: dict[str, bytes]) -> LocalSource:
    folder = root / ("log_data" if kind == "events" else "song_data") / "2018" / "11"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (root / "log_data").mkdir(exist_ok=True)
    (root / "song_data").mkdir(exist_ok=True)
    return LocalSource(root)


def by_rules(kind: str, source: LocalSource, rules: RecordRules = RecordRules()):  # noqa: B008
    """Rows and rejects computed record by record from the rules alone, file by file."""
    rows, rejects = [], []
    for f in source.list(kind):
        for raw in frame(Path(f.name).read_bytes()):
            problem = raw.problem
            if problem is None:
                row, problem = type_record(kind, raw.record, rules)
            if problem is None:
                rows.append({**row, "source_file": f.name})
            else:
                rejects.append((f.name, raw.line, *problem))
    return rows, rejects


def by_reader(kind: str, source: LocalSource, spool: Path, rules: RecordRules = RecordRules()):  # noqa: B008
    con = duckdb.connect()
    result = JsonReader(con, spool, rules=rules).read(kind, source, source.list(kind), "out")
    cur = con.execute("select * from out")
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    rejects = [(r.source, r.line, r.field, r.reason) for r in result.rejects]
    assert result.read == result.staged + result.rejected
    assert result.staged == len(rows) and result.rejected == len(rejects)
    return rows, rejects, result


def canonical(rows):
    def key(r):
        return json.dumps(r, sort_keys=True, default=str)

    return sorted(rows, key=key)


def assert_same(kind, source, spool):
    expected_rows, expected_rejects = by_rules(kind, source)
    rows, rejects, result = by_reader(kind, source, spool)
    assert canonical(rows) == canonical(expected_rows)
    assert sorted(rejects, key=str) == sorted(expected_rejects, key=str)
    return result


# -- generated records --------------------------------------------------------------------------

SPECIAL_TEXT = [
    "",
    "Café",
    'a"b\\c',
    "\u0000",
    "x\u0000y",
    "😀",
    "\ud800",
    "[feat. X]",
    "NaN",
    "nan, inf",
    "a,}",
    "\x7f",
]
text_values = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(max_size=12),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2),
)
int_values = st.one_of(
    st.integers(-(2**33), 2**33),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -0, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, 2**64]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["7", "", "1e3", True, None, [1], {"a": 1}]),
)
ts_values = st.one_of(
    st.integers(T - 10**6, T + 10**6),
    st.sampled_from(
        [1541105830, 1541105830796000, 946684800000, 946684799999, 4102444800000, 4102444799999, 0, -1]
    ),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1541105830796", None]),
)
double_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, "1.5", None, True, 1e308]),
)
user_ids = st.one_of(
    st.sampled_from(["", "7", "007", "123456789", "1234567890", "-1", " 7", "abc"]), st.integers(0, 99)
)

FIELD_VALUES = {
    "ts": ts_values,
    "userId": user_ids,
    "sessionId": int_values,
    "itemInSession": int_values,
    "status": int_values,
    "length": double_values,
    "registration": double_values,
    "song": text_values,
    "artist": text_values,
    "firstName": text_values,
    "page": st.one_of(st.just("NextSong"), text_values),
}


HOSTILE = {
    key: st.sampled_from(
        {
            "ts": [1541105830, 1541105830796000, 946684799999, 4102444800000, 2**63, 1.5e12, 10**400],
            "length": [10**400, 1e308, 2**64, 123456789012345678901234567890, "1.5", True],
            "registration": [10**400, 0.1, 1e-320],
        }.get(key, [*SPECIAL_TEXT, 66, 1.50, 1e20, 1e-7, True, {"a": "é\u0000"}, [1.5]])
        if key not in ("sessionId", "itemInSession", "status", "userId")
        else [2**31, -(2**31) - 1, 2**63, 1.0, -0, 10**20, "7", "", True]
    )
    for key in FIELD_VALUES
}
"""Per field, values known to split JSON parsers or to sit on a rule's boundary."""


@st.composite
def events(draw):
    """A valid event with zero to two fields given a borderline or hostile value: most records are
    one step from valid, so a difference between the paths shows."""
    record = event(ts=draw(st.integers(T - 10**6, T + 10**6)), sessionId=draw(st.integers(0, 2**31 - 1)))
    for key in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=1)):
        hostile = draw(st.booleans())  # half the time a value picked to trip a parser, else any value
        record[key] = draw(HOSTILE[key] if hostile else FIELD_VALUES[key])
    return record


# How a record is written: plain, with non-standard text spliced in, or with a key dropped/duplicated.
NONSTANDARD = [
    ('"length": ', '"length": NaN, "x": '),
    ('"length": ', '"length": Infinity, "x": '),
    ('"length": ', '"length": -Infinity, "x": '),
    ('"length": ', '"length": nan, "x": '),
    ('"status": ', '"status": 1, "status": '),
    ('"ts": ', '"ts": 1, "ts": '),
    ('"userAgent": ', '"userAgent": "a", /* c */ "y": '),
    ("}", ",}"),
    ("}", "} // note"),
    ('"song": ', '"song": 01, "z": '),
    ('"auth": ', '"auth": "\\x", "z": '),
    ('"auth": ', '"a\\u0075th": "ok", "zz": '),
    ('"gender": ', '"gender": "\\ud83d\\ude00", "g2": '),
    ('"gender": ', '"gender": "\\udc00", "g2": '),
    ('"location": ', '"location": "tab\there", "l2": '),
    # at the limits of JSON readers (tester findings, test_findings_limits.py)
    ('"userId": ', '"userId": -0, "u2": '),
    ('"song": ', '"song": ' + "9" * 4301 + ', "z": '),
    ('"song": ', '"x": -' + "1" * 4400 + ', "song": '),
    ('"song": ', '"x": ' + "[" * 600 + "]" * 600 + ', "song": '),
    ('"song": ', '"x": "\\ud800", "song": '),
    ('"song": ', '"\\udc00": 1, "song": '),
]


@st.composite
def record_text(draw):
    record = draw(events())
    if draw(st.integers(0, 9)) == 5:
        # a required key (page, ts, sessionId; "song" becomes song_id in song files) missing, null or
        # "" -- as missing as null -- or an optional one (userAgent) so
        key = draw(st.sampled_from(["ts", "page", "sessionId", "userAgent", "song"]))
        how = draw(st.sampled_from(["missing", None, ""]))
        if how == "missing":
            del record[key]
        else:
            record[key] = how
    indent = draw(st.sampled_from([None, None, None, 2]))
    sep = draw(st.sampled_from([(", ", ": "), (",", ":"), (" ,\t", " :  ")]))
    text = json.dumps(
        record, indent=indent, separators=sep if indent is None else None, ensure_ascii=draw(st.booleans())
    )
    if draw(st.integers(0, 3)) == 2:
        old, new = draw(st.sampled_from(NONSTANDARD))
        if old in text:
            text = text.replace(old, new, 1)
    return text.encode("utf-8", errors="surrogatepass")


raw_lines = st.sampled_from(
    [
        b"not json",
        b"{",
        b"{oops",
        b"[1, 2]",
        b"null",
        b'"text"',
        b"42",
        b"{}",
        b"\xff\xfe",
        b'{"ts": "\xe9"}',
        b"\x0c",
    ]
)
separators = st.sampled_from([b"\n", b"\n", b"\r\n", b"\n\n", b"", b" ", b"\n  \t", b"\x0c\n"])


@st.composite
def files(draw):
    parts = draw(
        st.lists(st.one_of(record_text(), record_text(), record_text(), raw_lines), min_size=0, max_size=8)
    )
    out = b"\xef\xbb\xbf" if draw(st.integers(0, 9)) == 0 else b""
    for part in parts:
        out += part + draw(separators)
    return out


common = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(common, max_examples=80)
@given(
    parts=st.lists(st.one_of(record_text(), record_text(), raw_lines), min_size=1, max_size=6), data=files()
)
@example(parts=[json.dumps(event(page="")).encode()], data=b"")  # page "": a missing required key
def test_reader_stages_and_rejects_exactly_what_the_rules_say(tmp_path_factory, parts, data):
    # each part alone in a file (so the fast path decides on that one record), and a file of many
    root = tmp_path_factory.mktemp("one")
    written = {f"2018-11-{i:02d}-events.json": part + b"\n" for i, part in enumerate(parts, 1)}
    source = write(root, "events", written | {"all-events.json": data})
    result = assert_same("events", source, root / "spool")
    assert result.read >= len(parts)
    assert set(result.files) == {f.name for f in source.list("events")}


@common
@given(data=files(), clean=st.lists(events(), min_size=1, max_size=3))
def test_a_file_s_outcome_does_not_depend_on_a_broken_file_beside_it(tmp_path_factory, data, clean):
    alone = tmp_path_factory.mktemp("alone")
    mixed = tmp_path_factory.mktemp("mixed")
    body = b"".join(json.dumps(e).encode() + b"\n" for e in clean) + data
    src_alone = write(alone, "events", {"a.json": body})
    src_mixed = write(mixed, "events", {"a.json": body, "b.json": b'{"broken\nnot json\n'})
    rows_alone, rejects_alone, _ = by_reader("events", src_alone, alone / "spool")
    rows_mixed, rejects_mixed, _ = by_reader("events", src_mixed, mixed / "spool")

    def strip(rows):
        return canonical([{k: v for k, v in r.items() if k != "source_file"} for r in rows])

    def lines(rejects, name):
        return sorted(
            ((line, fld, reason) for src, line, fld, reason in rejects if src.endswith(name)), key=str
        )

    assert strip(rows_mixed) == strip(rows_alone)
    assert lines(rejects_mixed, "a.json") == lines(rejects_alone, "a.json")
    assert lines(rejects_mixed, "b.json")  # the broken file is rejected, not skipped
    assert_same("events", src_mixed, mixed / "spool2")


@common
@given(records=st.lists(record_text(), min_size=1, max_size=4))
@example(records=[json.dumps(event(song="")).encode()])  # song_id "": a missing required key
def test_song_like_files_too(tmp_path_factory, records):
    # song records get the event generator's values under song keys: every typing rule again
    root = tmp_path_factory.mktemp("songs")
    out = {}
    for i, text in enumerate(records):
        mapped = (
            text.replace(b'"song"', b'"song_id"')
            .replace(b'"length"', b'"duration"')
            .replace(b'"status"', b'"year"')
        )
        out[f"TR{i}.json"] = mapped
    source = write(root, "songs", out)
    assert_same("songs", source, root / "spool")


# -- the rules' answers, by hand ------------------------------------------------------------------


def reject_of(line: bytes, kind: str = "events"):
    (raw,) = list(frame(line))
    if raw.problem:
        return raw.problem
    return type_record(kind, raw.record)[1]


@pytest.mark.parametrize(
    "text,field,reason",
    [
        (b'{"ts": NaN}', "ts", "NaN is not a JSON number"),
        (
            json.dumps(event()).replace('"length": 200.5', '"length": Infinity').encode(),
            "length",
            "Infinity is not",
        ),
        (json.dumps(event()).replace('"length": 200.5', '"length": nan').encode(), None, "malformed JSON"),
        (json.dumps(event()).replace("}", ",}").encode(), None, "malformed JSON"),
        (
            json.dumps(event()).replace('"status": 200', '"status": 200, "status": 404').encode(),
            "status",
            "duplicate key",
        ),
        (json.dumps(event(song="a\u0000b")).encode(), "song", "NUL character"),
        (json.dumps(event(song="x" * 65536)).encode(), "song", "65536 bytes"),
        (json.dumps(event(song="é" * 32768)).encode(), "song", "65536 bytes"),
        (
            json.dumps(event(ts=1541105830)).encode(),
            "ts",
            "ts 1541105830 looks like epoch seconds; expected milliseconds",
        ),
        (json.dumps(event(ts=1541105830796000)).encode(), "ts", "looks like epoch microseconds"),
        (  # a tester's finding: nanoseconds were "on or after 2100-01-01"
            json.dumps(event(ts=1541105830796000000)).encode(),
            "ts",
            "ts 1541105830796000000 looks like epoch nanoseconds; expected milliseconds",
        ),
        (json.dumps(event(ts=0)).encode(), "ts", "before 2000-01-01"),
        (json.dumps(event(ts=2**63)).encode(), "ts", "out of range for BIGINT"),
        (json.dumps(event(sessionId=2**31)).encode(), "sessionId", "out of range for INTEGER"),
        (json.dumps(event(length=10**400)).encode(), "length", "out of range for DOUBLE"),
        (  # subnormal: Redshift's float8 refuses it (a tester's finding); 2.2250738585072014e-308 is kept
            json.dumps(event()).replace('"length": 200.5', '"length": 5e-324').encode(),
            "length",
            "number out of range for DOUBLE: 5e-324",
        ),
        (  # underflows to 0: PostgreSQL and Redshift refuse it; 0e-400 is kept
            json.dumps(event()).replace('"length": 200.5', '"length": 1e-400').encode(),
            "length",
            "number out of range for DOUBLE: 1e-400",
        ),
        (json.dumps(event(song="\ud800"), ensure_ascii=True).encode(), "song", "unpaired surrogate"),
        (b"[" + json.dumps(event()).encode() + b"]", None, "top-level JSON array (1 value)"),
    ],
)
def test_each_rule_names_the_field_and_the_reason(text, field, reason):
    got_field, got_reason = reject_of(text)
    assert got_field == field
    assert reason in got_reason


def test_the_longest_text_every_warehouse_stores_is_kept():
    row, problem = type_record("events", event(song="x" * 65535))
    assert problem is None and len(row["song"]) == 65535


def test_numbers_in_text_fields_take_their_text_form():
    row, problem = type_record("songs", song(title=66, artist_name=4.50, artist_location=True))
    assert problem is None
    assert (row["title"], row["artist_name"], row["artist_location"]) == ("66", "4.5", "true")


def test_a_number_in_a_text_field_is_kept_as_the_file_wrote_it():
    text = json.dumps(song()).replace('"Uprising"', "4.50").replace('"Muse"', "1e5").replace('"Paris"', "-0")
    (raw,) = list(frame(text.encode()))
    row, problem = type_record("songs", raw.record)
    assert problem is None
    assert (row["title"], row["artist_name"], row["artist_location"]) == ("4.50", "1e5", "-0")


def test_the_time_bounds_are_configurable():
    import datetime as dt

    old = RecordRules(ts_min=dt.date(1990, 1, 1))
    assert type_record("events", event(ts=700_000_000_000), old)[1] is None
    assert "before 2000-01-01" in type_record("events", event(ts=700_000_000_000))[1][1]


def test_framing_objects_over_lines_back_to_back_and_after_garbage():
    one = json.dumps(event(ts=T + 1))
    two = json.dumps(event(ts=T + 2), indent=4)
    three = json.dumps(event(ts=T + 3))
    data = f'{one}{three}\n{two}\n  {one} {three}\nnot json\n{{"ts": 5, broken\n{three}\n'.encode()
    got = [
        (r.line, r.record["ts"] if r.record else None, r.problem[1][:14] if r.problem else None)
        for r in frame(data)
    ]
    n = two.count("\n")
    assert got == [
        (1, T + 1, None),
        (1, T + 3, None),
        (2, T + 2, None),
        (3 + n, T + 1, None),
        (3 + n, T + 3, None),
        (4 + n, None, "malformed JSON"),
        (5 + n, None, "malformed JSON"),
        (6 + n, T + 3, None),
    ]


def test_a_broken_pretty_printed_object_is_one_reject():
    good = json.dumps(event(ts=T + 1), indent=2)
    broken = good.replace('"auth": "Logged In",', '"auth": "Logged In"')  # a comma missing
    data = f"{broken}\n{good}\n".encode()
    got = list(frame(data))
    assert [(r.line, r.problem is None) for r in got] == [(1, False), (good.count("\n") + 2, True)]


def test_a_bom_is_ignored_only_at_the_start():
    assert [r.problem for r in frame(b"\xef\xbb\xbf" + json.dumps(event()).encode())] == [None]
    (_, second) = list(frame(json.dumps(event()).encode() + b"\n\xef\xbb\xbf{}"))
    assert second.problem == (
        None,
        "a byte order mark (U+FEFF) where a record starts: only one, at the very start of a file, is ignored",
    )
    # a second mark right after the first is not at the very start
    (only,) = list(frame(b"\xef\xbb\xbf\xef\xbb\xbf" + json.dumps(event()).encode()))
    assert only.line == 1 and only.problem[1].startswith("a byte order mark")


def test_invalid_utf8_is_named_with_its_byte():
    (raw,) = list(frame(b'{"song": "Caf\xe9"}'))
    assert raw.problem == (None, "invalid UTF-8 at byte 13 of the record")
    assert "\\xe9" in raw.raw


def test_a_utf16_file_says_so_in_each_reject():
    """A tester's finding: a UTF-16 file (a Windows export) was rejected as "invalid UTF-8" on its first
    line and "malformed JSON: Expecting value" on the others, which did not point at the encoding. The
    same records are rejected, each reason naming the NUL bytes and the byte order mark."""
    lines = [json.dumps(event(item_in_session=i)) for i in range(3)]
    data = "\n".join(lines).encode("utf-16")  # with its byte order mark, as Windows tools write it
    records = list(frame(data))
    assert len(records) == 3 and all(r.problem is not None for r in records)
    assert records[0].problem[1].startswith("invalid UTF-8 at byte 0 of the record")
    for r in records[1:]:
        assert r.problem[1].startswith("a NUL byte at byte 0 of the record: this is not UTF-8 text")
    assert all(
        r.problem[1].endswith("(the file starts with a UTF-16 byte order mark: records are UTF-8)")
        for r in records
    )
    # without the mark, the NUL bytes alone say it
    bare = list(frame("\n".join(lines).encode("utf-16-le")))
    assert bare and all(
        r.problem is not None
        and re.fullmatch(r"a NUL byte at byte [01] of the record: this is not UTF-8 text", r.problem[1])
        for r in bare
    ), [r.problem for r in bare]


def test_doubles_are_read_as_python_reads_them():
    for text in [
        "0.1",
        "1e-7",
        "123456789012345678901234567890",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
        "0e-400",
    ]:
        row, problem = type_record("events", {**event(), "length": json.loads(text)})
        assert problem is None and row["length"] == float(text) and math.isfinite(row["length"])


def test_a_broken_pretty_printed_object_with_nested_objects_is_one_reject_and_stages_nothing_inside():
    # a comma missing in an object whose nested array holds an object on lines of its own
    data = b'{\n"song_id": "SOA" "title": "x",\n"similar": [\n{\n"song_id": "SOPHANTOM"\n}\n]\n}\n{"song_id": "SOB"}\n'
    got = [(r.line, r.record, r.problem is None) for r in frame(data)]
    assert got == [(1, None, False), (9, {"song_id": "SOB"}, True)]


def test_a_value_on_its_own_line_after_a_key_belongs_to_the_broken_object():
    data = b'{"a" 1,\n"extra":\n{"ts": 1}\n}\n{"b": 2}\n'
    assert [(r.line, r.problem is None) for r in frame(data)] == [(1, False), (5, True)]


def test_an_object_cut_off_after_a_key_does_not_swallow_the_next_object():
    # a pretty-printed day file whose second object was cut after `"song":`; the third object starts
    # on the next line: it is a record of its own (the brackets of the cut one never close)
    one = '{\n "ts": 1,\n "itemInSession": 0\n}\n'
    cut = '{\n "ts": 2,\n "song":\n'
    three = '{\n "ts": 3,\n "itemInSession": 2\n}\n'
    four = '{\n "ts": 4,\n "itemInSession": 3\n}\n'
    got = [(r.line, r.record) for r in frame((one + cut + three + four).encode())]
    assert got == [
        (1, {"ts": 1, "itemInSession": 0}),
        (5, None),
        (8, {"ts": 3, "itemInSession": 2}),
        (12, {"ts": 4, "itemInSession": 3}),
    ]
    # the same with the next object's brace indented, and with Windows line ends
    indented = one + cut + "  " + three + four
    assert [r.line for r in frame(indented.encode())] == [1, 5, 8, 12]
    assert [r.line for r in frame((one + cut + three + four).replace("\n", "\r\n").encode())] == [1, 5, 8, 12]


def test_an_object_cut_off_at_the_end_of_the_file_is_one_reject():
    # the last pretty-printed object of a file cut short: after a comma, inside a string, after a key
    whole = json.dumps(event(ts=T + 2, itemInSession=2), indent=2)
    first = json.dumps(event(ts=T + 1), indent=2)
    line = first.count("\n") + 2
    for cut in ('"sessionId": 10,', '"userAgent": "Moz', '"song":'):
        data = (first + "\n" + whole[: whole.index(cut) + len(cut)] + "\n").encode()
        got = [(r.line, r.record is not None, r.raw.startswith("{")) for r in frame(data)]
        assert got == [(1, True, True), (line, False, True)], cut


def test_lone_cr_line_ends_count_as_lines_and_one_bad_record_costs_only_itself():
    crlf = b'{"g": 0}\r\n{"bad"\r\n{"g": 1}\r\n{"g": 2}\r\n'
    for data in (crlf, crlf.replace(b"\r\n", b"\r")):
        got = [(r.line, r.record) for r in frame(data)]
        assert got == [(1, {"g": 0}), (2, None), (3, {"g": 1}), (4, {"g": 2})]


def test_an_unterminated_string_costs_only_its_line():
    got = [(r.line, r.record) for r in frame(b'{"a": "abc\n{"b": 2}\n')]
    assert got == [(1, None), (2, {"b": 2})]


def test_a_rejected_record_s_text_is_storable_on_every_engine():
    (_, bad) = list(frame(b'{"ts": 1}\n\x00\x00 \xff\n'))
    assert "\x00" not in bad.raw and bad.raw == "\\x00\\x00 \\xff"
    (dup,) = list(frame(b'{"a\\u0000": 1, "a\\u0000": 2}'))
    assert dup.problem[0] == "a\\x00"


def test_malformed_json_messages_read_as_english():
    (raw,) = list(frame(b'{"a": "abc'))
    assert raw.problem[1] == "malformed JSON: Unterminated string starting at character 7 of the record"


def test_a_ts_is_never_blamed_on_a_unit_that_moves_it_the_wrong_way():
    """A tester's finding: with ts_min 0001-01-01 a negative ts far before it was "epoch microseconds"
    (dividing a value below the range by 1000 cannot bring it up into the range of real times)."""
    import datetime as dt

    from sparkify.staging.rules import RecordRules

    wide = RecordRules(ts_min=dt.date(1, 1, 1), ts_max=dt.date(9999, 12, 31))
    assert wide.ts_problem(-62135596800001) == (
        "ts -62135596800001 is before 0001-01-01 (the earliest accepted: setting ts_min)"
    )
    assert wide.ts_problem(253402214399999) is None  # 9999-12-30 23:59:59.999: the last day accepted
    narrow = RecordRules(ts_min=dt.date(2018, 1, 1), ts_max=dt.date(2019, 1, 1))
    # seconds only below the range, smaller units only above it
    assert narrow.ts_problem(1541105830) == "ts 1541105830 looks like epoch seconds; expected milliseconds"
    assert narrow.ts_problem(1541105830796000) == (
        "ts 1541105830796000 looks like epoch microseconds; expected milliseconds"
    )
    assert narrow.ts_problem(1420070400000) == (
        "ts 1420070400000 is before 2018-01-01 (the earliest accepted: setting ts_min)"
    )
