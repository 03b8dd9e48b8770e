"""Real-world input cases (tests/cases/, README there): the record rules on every engine.

DuckDB and PostgreSQL read the case folder; Redshift (the stand-in) reads the same files from S3
(``source_for`` syncs the folder before each run) and must stage and reject exactly the same records.

Each case is a small source in the real layout rebuilt from a kind of input that broke JSON loaders.
The expected figures come from the case README and from counting the case files here with Python's
own json module, independently of sparkify's reader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.errors import BadInputError
from tests.conftest import source_for

CASES = Path(__file__).parent / "cases"
DAY = "log_data/2018/11/2018-11-01-events.json"


def copy_case(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(CASES / name, target)
    for p in [target, *target.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return target


def run(wh, src: Path, **options):
    """``pipeline.run`` of the case folder ``src`` as ``wh`` loads it: the folder, or its S3 copy."""
    return pipeline.run(wh, source_for(wh, src), **options)


def plays(path: Path, skip_lines: set[int] = frozenset()) -> int:
    """NextSong events of logged-in users in a one-object-per-line file (Python's lenient json)."""
    count = 0
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip() and number not in skip_lines:
            record = json.loads(line)
            count += record["page"] == "NextSong" and record["userId"] != ""
    return count


def rejected(wh, load_id: str) -> list[tuple]:
    """The run's rejects as the warehouse recorded them (load_errors): (file name, line, field)."""
    _, rows = wh.query(
        f"select source, line, field from load_errors where load_id = {wh.param} order by source, line",
        [load_id],
    )
    return [(Path(s).name, line, field) for s, line, field in rows]


def star_count(wh, table: str) -> int:
    return int(wh.query(f"select count(*) from {wh.qualified(table)}")[1][0][0])


def test_pretty_printed_log_objects_load_with_the_line_each_object_starts_on(warehouse, tmp_path):
    src = copy_case("pretty-printed-log-objects", tmp_path)
    report = run(warehouse, src)
    assert (report.stage.read, report.stage.staged, report.stage.rejected) == (17, 17, 0)
    assert report.rows["songplays"] == 11 and not report.checks_failed
    # the same file with its fifth object broken: one reject, named at the line that object starts on
    text = (src / DAY).read_text()
    starts = [i for i, line in enumerate(text.splitlines(), 1) if line == "{"]
    lines = text.splitlines()
    lines[starts[4]] = lines[starts[4]].replace('"artist":', '"artist"')  # its first key loses its colon
    (src / DAY).write_text("\n".join(lines) + "\n")
    with pytest.raises(BadInputError, match=rf"2018-11-01-events.json:{starts[4]}: malformed JSON"):
        run(warehouse, src, full_refresh=True)
    assert star_count(warehouse, "songplays") == 11  # a failed run changes nothing


def test_nan_and_infinity_are_rejected_whatever_else_is_in_the_source(warehouse, tmp_path):
    src = copy_case("nan-infinity-literals", tmp_path)
    expected_plays = plays(src / DAY, skip_lines={3, 5})
    with pytest.raises(BadInputError) as caught:
        run(warehouse, src)
    assert "2018-11-01-events.json:3: field 'length': NaN is not a JSON number" in str(caught.value)
    assert "2018-11-01-events.json:5: field 'registration': Infinity is not a JSON number" in str(
        caught.value
    )
    report = run(warehouse, src, max_errors=2)
    assert (report.stage.staged, report.stage.rejected) == (15, 2)
    assert report.rows["songplays"] == expected_plays
    alone = rejected(warehouse, report.load_id)
    # an unrelated broken line beside it changes nothing about these two records
    shutil.copy(src / "extra" / "2018-11-02-events.json", src / "log_data" / "2018" / "11")
    report = run(warehouse, src, max_errors=3, full_refresh=True)
    assert report.stage.rejected == 3 and report.rows["songplays"] == expected_plays
    assert [r for r in rejected(warehouse, report.load_id) if r[0] == "2018-11-01-events.json"] == alone
    assert alone == [("2018-11-01-events.json", 3, "length"), ("2018-11-01-events.json", 5, "registration")]


def test_ts_in_seconds_is_flagged_and_kept_out_of_the_star_schema(warehouse, tmp_path):
    src = copy_case("ts-in-seconds", tmp_path)
    seconds_day = src / DAY
    n_seconds = sum(1 for line in seconds_day.read_text().splitlines() if line.strip())
    with pytest.raises(
        BadInputError,
        match=r"2018-11-01-events.json:1: field 'ts': ts 1541105830 looks like epoch "
        r"seconds; expected milliseconds",
    ):
        run(warehouse, src)
    assert not warehouse.table_exists("songplays") or star_count(warehouse, "songplays") == 0
    report = run(warehouse, src, max_errors=n_seconds)
    assert report.stage.rejected == n_seconds
    assert report.rows["songplays"] == plays(src / "log_data/2018/11/2018-11-02-events.json")
    _, years = warehouse.query("select min(year) from time")
    assert years[0][0] == 2018  # never a play in January 1970


def test_a_nul_character_is_a_rejected_record_on_every_engine(warehouse, tmp_path):
    src = copy_case("nul-escape", tmp_path)
    with pytest.raises(
        BadInputError, match=r"2018-11-01-events.json:3: field 'song': text holds a NUL character"
    ):
        run(warehouse, src)
    report = run(warehouse, src, max_errors=1)
    assert (report.stage.staged, report.stage.rejected) == (16, 1)
    assert report.rows["songplays"] == plays(src / DAY, skip_lines={3})
    assert rejected(warehouse, report.load_id) == [("2018-11-01-events.json", 3, "song")]
    if warehouse.name == "duckdb":  # DuckDB could store a NUL: it must not
        assert warehouse.query("select count(*) from staging_events where contains(song, chr(0))")[1] == [
            (0,)
        ]


def test_a_byte_order_mark_is_read_as_if_absent(warehouse, tmp_path):
    src = copy_case("utf8-bom", tmp_path)
    assert (src / DAY).read_bytes().startswith(b"\xef\xbb\xbf")
    report = run(warehouse, src)
    assert (report.stage.read, report.stage.rejected) == (17, 0)
    assert report.rows["songplays"] == 11 and not report.checks_failed


def test_a_rejected_record_holding_nul_bytes_is_recorded_on_every_engine(warehouse, tmp_path):
    # NUL-padded tail of a log left by a crashed writer: one rejected record, stored escaped
    src = copy_case("utf8-bom", tmp_path)
    day = src / DAY
    day.write_bytes(day.read_bytes().rstrip(b"\n") + b"\n\x00\x00\x00\n")  # line 16
    report = run(warehouse, src, max_errors=1)
    assert (report.stage.staged, report.stage.rejected) == (17, 1)
    _, rows = warehouse.query("select line, raw_text from load_errors")
    assert rows == [(16, "\\x00\\x00\\x00")]


def test_an_underflow_without_a_large_exponent_is_rejected_in_a_file_of_its_own(warehouse, tmp_path):
    """A tester's finding: in a file with nothing else suspicious (the fast path), ``0.`` + 400 zeros +
    ``1`` and ``0.`` + 100 zeros + ``1e-250`` were staged as 0.0, while beside a broken line (the
    precise path) the same records were rejected. A record's fate is its own: rejected either way."""
    src = copy_case("utf8-bom", tmp_path)
    first = json.loads((src / DAY).read_bytes().splitlines()[0].decode("utf-8-sig"))
    forms = {
        "2018-11-05-events.json": "0." + "0" * 400 + "1",
        "2018-11-06-events.json": "0." + "0" * 100 + "1e-250",
    }
    for i, (name, value) in enumerate(forms.items()):
        good = json.dumps({**first, "sessionId": 7000 + i, "itemInSession": 0})
        bad = json.dumps({**first, "sessionId": 7000 + i, "itemInSession": 1, "length": 0.5})
        (src / "log_data" / "2018" / "11" / name).write_text(good + "\n" + bad.replace("0.5", value) + "\n")
    song_dir = next(p for p in (src / "song_data").rglob("*.json")).parent
    song = json.loads(next(song_dir.glob("*.json")).read_bytes().decode("utf-8-sig"))
    song = {**song, "song_id": "SOTINY", "artist_latitude": 0.5}
    (song_dir / "TINY.json").write_text(
        json.dumps(song).replace("0.5", forms["2018-11-05-events.json"]) + "\n"
    )
    report = run(warehouse, src, max_errors=3)
    assert sorted(rejected(warehouse, report.load_id)) == [
        ("2018-11-05-events.json", 2, "length"),
        ("2018-11-06-events.json", 2, "length"),
        ("TINY.json", 1, "artist_latitude"),
    ]


def test_a_number_that_underflows_to_zero_is_rejected_on_every_engine_and_path(warehouse, tmp_path):
    # PostgreSQL refuses '1e-400'::float8 (out of range) and Redshift 5e-324 (the least subnormal):
    # every engine rejects both and stages 2.2250738585072014e-308 (the least normal double), on the
    # fast path and on the precise one
    src = copy_case("utf8-bom", tmp_path)
    day = src / DAY
    lines = day.read_bytes().splitlines()
    first = json.loads(lines[0].decode("utf-8-sig"))
    # and written as a long fraction, or a fraction with a moderate exponent (a tester's finding: the
    # fast path staged these as 0.0, the precise one rejected them); 1e-26 and 1e-150 do not underflow
    long_fraction, mixed = "0." + "0" * 400 + "1", "0." + "0" * 100 + "1e-250"
    values = ["1e-400", "-1E-400", long_fraction, mixed, "0e-400", "-0.0", "5e-324", "2.5e-8"]
    values += ["0." + "0" * 25 + "1", "1e-150", "2.2250738585072014e-308", "2.225e-308"]
    extra = [
        json.dumps({**first, "itemInSession": 900 + i, "length": 0.5}).replace(
            '"length": 0.5', f'"length": {v}'
        )
        for i, v in enumerate(values)
    ]
    day.write_bytes(b"\n".join(lines) + b"\n" + "\n".join(extra).encode() + b"\n")
    n = len(lines)
    expected_rejects = [("2018-11-01-events.json", n + k, "length") for k in (1, 2, 3, 4, 7, 12)]
    for broken in (False, True):  # a broken line beside them sends the file to the precise path
        if broken:
            day.write_bytes(day.read_bytes() + b"{broken\n")
        report = run(warehouse, src, max_errors=6 + broken, full_refresh=True)
        rejects = [r for r in rejected(warehouse, report.load_id) if r[1] != n + 1 + len(values)]
        assert rejects == expected_rejects
        _, reasons = warehouse.query(
            f"select reason from load_errors where load_id = {warehouse.param} and line = {warehouse.param}",
            [report.load_id, n + 1],
        )
        assert reasons == [("number out of range for DOUBLE: 1e-400",)]
        _, staged = warehouse.query(
            f"select item_in_session, length from {warehouse.qualified('staging_events')} "
            "where item_in_session >= 900 order by 1"
        )
        assert staged == [
            (904, 0.0),
            (905, -0.0),
            (907, 2.5e-8),
            (908, 1e-26),
            (909, 1e-150),
            (910, 2.2250738585072014e-308),
        ]
