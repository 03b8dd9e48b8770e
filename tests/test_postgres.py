"""The PostgreSQL engine against the real server: URLs, schemas, COPY, error mapping, atomicity."""

from __future__ import annotations

import json
import os

import psycopg
import pytest

from sparkify import pipeline
from sparkify.cli import main
from sparkify.errors import BadInputError, MissingTableError, WarehouseError
from sparkify.warehouse import connect, engine_of, pgcopy
from tests.conftest import source_for
from tests.helpers.records import NO_SONG, NOW, event, plain_event, plain_song, rows, song, write_source

pytestmark = pytest.mark.usefixtures("postgres_url")


def cli(capsys, *args: str, env: dict | None = None, monkeypatch=None) -> tuple[int, str, str]:
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_both_url_schemes_name_postgres(postgres_url, pg_schema):
    assert engine_of("postgresql://u@h/db") == engine_of("postgres://u@h/db") == "postgres"
    url = "postgres://" + postgres_url.split("://", 1)[1]
    with connect(url, schema=pg_schema) as wh:
        assert pipeline.create_tables(wh)[:2] == ["staging_events", "staging_songs"]


def test_schema_is_created_and_holds_every_table(postgres_url, pg_schema):
    with connect(postgres_url, schema=pg_schema) as wh:
        created = pipeline.create_tables(wh)
        assert pipeline.create_tables(wh) == []  # safe to run twice
    assert sorted(created) == sorted(
        [
            "staging_events",
            "staging_songs",
            "users",
            "songs",
            "artists",
            "songplays",
            "time",
            "load_runs",
            "load_files",
            "load_errors",
            "load_schema",
        ]
    )
    with psycopg.connect(postgres_url) as con:
        found = con.execute(
            "select table_name from information_schema.tables where table_schema = %s", [pg_schema]
        ).fetchall()
    assert sorted(r[0] for r in found) == sorted(created)


def test_text_columns_sort_bytewise(postgres_url, pg_schema):
    """COLLATE "C" on every text column, so ORDER BY agrees with DuckDB whatever the server's locale."""
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.create_tables(wh)
        _, result = wh.query(
            "select table_name, column_name, collation_name from information_schema.columns "
            "where table_schema = %s and data_type = 'text'",
            [pg_schema],
        )
    # every text column: staging_events (12 fields + source_file), staging_songs (5 + source_file),
    # users 4, songs 3, artists 3, songplays 5, load_runs 6, load_files 6 (content_hash, rules), load_errors 5
    assert len(result) == 13 + 6 + 4 + 3 + 3 + 5 + 6 + 6 + 5
    assert {r[2] for r in result} == {"C"}


def test_default_schema_is_public():
    from sparkify.warehouse import offline

    assert offline("postgres").schema == "public"
    assert offline("postgres", schema="music").schema == "music"


def test_schema_from_the_environment_through_the_cli(postgres_url, pg_schema, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(
        capsys,
        "create-tables",
        "--warehouse",
        postgres_url,
        env={"SPARKIFY_SCHEMA": pg_schema},
        monkeypatch=monkeypatch,
    )
    assert (code, err) == (0, "")
    assert out.startswith(
        "Created 11 tables: staging_events, staging_songs, users, songs, artists, songplays, time, "
        "load_runs, load_files, load_errors, load_schema"
    )
    with psycopg.connect(postgres_url) as con:
        n = con.execute("select count(*) from information_schema.tables where table_schema = %s", [pg_schema])
        assert n.fetchone()[0] == 11


def test_sparkify_run_on_postgres_through_the_cli(postgres_url, pg_schema, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    src = write_source(
        tmp_path / "src",
        songs=[plain_song(song_id="SOA", title="S", artist_name="A", duration=2.0, artist_id="ARA")],
        events={
            "2018-11-01-events.json": [
                plain_event(song="S", artist="A", length=2.0),
                plain_event(**NO_SONG, itemInSession=1, page="Home"),
            ]
        },
    )
    code, out, err = cli(
        capsys, "run", "-q", "--source", str(src), "--warehouse", postgres_url, "--schema", pg_schema
    )
    assert (code, err) == (0, "")
    lines = out.strip().splitlines()
    assert len(lines) == 1  # quiet: only the final line
    assert lines[0].startswith(
        f"Loaded 3 records (0 rejected) from {src} into {postgres_url} (schema {pg_schema}) in "
    )


def test_password_is_never_shown(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    url = "postgresql://someone:s3cret-pw@127.0.0.1:9/nowhere"  # port 9: nothing listens
    with pytest.raises(WarehouseError) as err:
        connect(url)
    message = str(err.value)
    assert "s3cret-pw" not in message and "someone:***@127.0.0.1:9" in message
    assert message.startswith(
        "Cannot connect to PostgreSQL at postgresql://someone:***@127.0.0.1:9/nowhere: "
    )
    code, out, errtext = cli(capsys, "check", "--warehouse", url)
    assert code == 75 and "s3cret-pw" not in out + errtext  # refused: worth retrying later
    assert errtext.count("\n") == 1 and errtext.startswith("Error: Cannot connect to PostgreSQL")


def test_missing_tables_say_what_to_run(postgres_url, pg_schema):
    with connect(postgres_url, schema=pg_schema) as wh:
        with pytest.raises(MissingTableError, match="Run `sparkify run` first|: pass --schema "):
            pipeline.transform(wh)  # other tests' schemas on the server may hold the tables
        with pytest.raises(MissingTableError) as err:
            wh.query("select * from songplays")
    assert str(err.value) == (
        f'PostgreSQL ({postgres_url}, schema {pg_schema}): relation "songplays" does not exist. '
        "Run `sparkify run` first."
    )


def test_other_errors_are_one_line_warehouse_errors(postgres_url, pg_schema):
    with connect(postgres_url, schema=pg_schema) as wh, pytest.raises(WarehouseError) as err:
        wh.query("select 1 +")
    assert str(err.value) == f"PostgreSQL ({postgres_url}): syntax error at end of input"
    assert not isinstance(err.value, MissingTableError)


def test_copy_streams_in_blocks_and_keeps_every_value(
    postgres_url, pg_schema, tmp_path, monkeypatch, duckdb_wh
):
    monkeypatch.setattr(pgcopy, "COPY_BLOCK_BYTES", 97)  # lines cut across blocks
    events = [
        plain_event(
            itemInSession=i,
            ts=NOW + i,
            song=f'"q{i}",\n\\.',
            length=i / 7,
            firstName=None if i % 2 else "",
            artist=None,
        )
        for i in range(50)
    ]
    src = write_source(
        tmp_path / "src",
        songs=[plain_song(song_id="SOA", artist_id="ARA", artist_name="Artist A", title="A Song")],
        events={"2018-11-01-events.json": events},
    )
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.create_tables(wh)
        report = pipeline.stage(wh, src)
        assert report.rows == {"staging_songs": 1, "staging_events": 50}
        got = rows(wh, "staging_events")
    pipeline.create_tables(duckdb_wh)
    pipeline.stage(duckdb_wh, src)
    assert got == rows(duckdb_wh, "staging_events")
    firsts = sorted({r[2] for r in got}, key=lambda v: (v is not None, v))  # first_name: "" and NULL survive
    assert firsts == [None, ""]


def test_nul_characters_are_refused_with_a_clear_message_and_nothing_changes(
    postgres_url, pg_schema, tmp_path
):
    good = write_source(
        tmp_path / "good",
        songs=[plain_song(song_id="SOA", artist_id="ARA", artist_name="Artist A", title="A Song")],
        events={"2018-11-01-events.json": [plain_event(**NO_SONG)]},
    )
    bad = tmp_path / "bad"
    write_source(
        bad,
        songs=[plain_song(song_id="SOA", artist_id="ARA", artist_name="Artist A", title="A Song")],
        events={"2018-11-01-events.json": [plain_event(song="nul\u0000here", artist=None, length=None)]},
    )
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.run(wh, good)
        before = {t: rows(wh, t) for t in ("staging_events", "staging_songs", "songplays")}
        # a rejected record naming file, line and field (the record rules), not an engine error
        with pytest.raises(
            BadInputError, match=r"2018-11-01-events.json:1: field 'song': text holds a NUL character"
        ):
            pipeline.run(wh, bad)
        assert {t: rows(wh, t) for t in before} == before


def test_a_failed_transform_changes_nothing_visible(warehouse, tmp_path):
    src = write_source(
        tmp_path / "a",
        songs=[plain_song(song_id="SOA", title="S", artist_name="A", duration=1.0, artist_id="ARA")],
        events={"2018-11-01-events.json": [plain_event(song="S", artist="A", length=1.0)]},
    )
    pipeline.run(warehouse, source_for(warehouse, src))
    before = {t: rows(warehouse, t) for t in ("users", "songs", "songplays", "time")}
    b = write_source(
        tmp_path / "b",
        songs=[plain_song(song_id="SOB", artist_id="ARA", artist_name="Artist A", title="A Song")],
        events={"2018-11-01-events.json": [plain_event(**NO_SONG, userId="42", itemInSession=3)]},
    )
    pipeline.stage(warehouse, source_for(warehouse, b))

    def fail_on_time(statement):
        # the last star table's insert: a rebuild's insert_time.sql, or a merge's insert (Redshift)
        if "insert into time" in statement or ("insert into" in statement and '"time"' in statement):
            raise RuntimeError("boom")

    warehouse.tracer = fail_on_time
    with pytest.raises(RuntimeError):
        pipeline.transform(warehouse)
    warehouse.tracer = None
    assert {t: rows(warehouse, t) for t in before} == before


def test_rows_loaded_are_counted_by_copy(postgres_url, pg_schema, sample_dir):
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.create_tables(wh)
        report = pipeline.stage(wh, sample_dir)
        _, n = wh.query(f"select count(*) from {wh.qualified('staging_events')}")
    assert report.rows["staging_events"] == n[0][0] == 8056
    assert report.read == report.staged == 8056 + 14896


def test_insert_from_reader_sql_is_copy_then_analyze():
    from sparkify.schema import STAGING_SONGS
    from sparkify.warehouse import offline

    wh = offline("postgres", schema="music")
    assert wh.insert_from_reader_sql(STAGING_SONGS, "r") == [
        (
            'copy "music"."staging_songs" ("num_songs", "artist_id", "artist_latitude", "artist_longitude", '
            '"artist_location", "artist_name", "song_id", "title", "duration", "year", "source_file") '
            "from stdin (format csv)"
        ),
        'analyze "music"."staging_songs"',
    ]


def test_csv_copy_renders_postgres_csv(duckdb_wh, tmp_path):
    """Each row as PostgreSQL's CSV parser reads it: text always quoted, NULL the empty field."""
    from sparkify.schema import STAGING_SONGS

    con = duckdb_wh.con
    con.execute(
        "create table r as select 1 as num_songs, 'A\"R' as artist_id, 0.1 as artist_latitude, "
        "null::double as artist_longitude, '' as artist_location, null as artist_name, "
        "'line\nbreak' as song_id, 'a,b' as title, 1e300 as duration, null::integer as year, "
        "'x' as source_file"
    )
    out = tmp_path / "r.csv"
    con.execute(pgcopy.csv_copy_sql(STAGING_SONGS, "r", str(out)))
    assert out.read_text() == '1,"A""R",0.1,,"",,"line\nbreak","a,b",1e+300,,"x"\n'
    assert json.loads("1e+300") == 1e300


def test_pipe_rows_hands_over_every_byte_and_stops_both_sides_on_an_error(duckdb_wh, monkeypatch):
    con = duckdb_wh.con
    con.execute("create table big as select range as n, repeat('x', 90) as t from range(200000)")
    monkeypatch.setattr(pgcopy, "COPY_BLOCK_BYTES", 4096)
    blocks: list[bytes] = []
    pgcopy.pipe_rows(con, lambda p: f"copy big to '{p}' (format csv, header false)", blocks.append)
    text = b"".join(blocks).decode()
    assert len(text) == sum(len(f"{n},{'x' * 90}\n") for n in range(200000))  # every line, whole
    assert sorted(int(line.split(",")[0]) for line in text.splitlines()) == list(range(200000))

    def refuse(block: bytes) -> None:  # the server side fails at the first block
        raise RuntimeError("server said no")

    with pytest.raises(RuntimeError, match="server said no"):
        pgcopy.pipe_rows(con, lambda p: f"copy big to '{p}' (format csv, header false)", refuse)
    with pytest.raises(Exception, match="no_such_table"):  # DuckDB's own error, not a hang
        pgcopy.pipe_rows(con, lambda p: f"copy no_such_table to '{p}' (format csv)", blocks.append)
    assert con.execute("select count(*) from big").fetchone() == (200000,)  # the connection still works


def test_the_client_side_parser_keeps_the_memory_setting_of_the_url(postgres_url, pg_schema, sample_dir):
    import os

    import duckdb

    def limit(config: dict) -> str:  # DuckDB's own rendering of a limit, from a connection of its own
        con = duckdb.connect(config=config)
        try:
            return con.execute("select current_setting('memory_limit')").fetchone()[0]
        finally:
            con.close()

    sep = "&" if "?" in postgres_url else "?"
    with connect(postgres_url, schema=pg_schema) as wh:  # the default: as a DuckDB warehouse's
        assert wh.reader_connection().execute("select current_setting('memory_limit')").fetchone()[
            0
        ] == limit({"memory_limit": "1GB"})
    url = f"{postgres_url}{sep}memory_limit=300MB&options=-c%20work_mem%3D7MB"
    with connect(url, schema=pg_schema) as wh:
        reader = wh.reader_connection()
        assert reader.execute("select current_setting('memory_limit')").fetchone()[0] == limit(
            {"memory_limit": "300MB"}
        )
        spill = reader.execute("select current_setting('temp_directory')").fetchone()[0]
        assert os.path.isdir(spill) and not spill.startswith(os.getcwd())  # not ./.tmp
        # libpq got the rest of the query, and a load works with the setting
        assert wh.query("select current_setting('work_mem')")[1] == [("7MB",)]
        report = pipeline.run(wh, sample_dir)
        assert report.stage.results["events"].staged == 8056
    assert not os.path.exists(spill)  # removed with the warehouse


def test_a_bad_memory_setting_is_a_config_error_naming_it(postgres_url, pg_schema):
    from sparkify.errors import ConfigError

    sep = "&" if "?" in postgres_url else "?"
    # refused as the warehouse opens, before anything is connected or created
    with pytest.raises(ConfigError, match="memory_limit"):
        connect(f"{postgres_url}{sep}memory_limit=lots", schema=pg_schema)


def test_split_reader_settings_leaves_libpq_parameters_as_written():
    split = pgcopy.split_reader_settings
    assert split("postgresql://me@h/db?sslmode=require&memory_limit=4GB&options=-c%20a%3Db") == (
        "postgresql://me@h/db?sslmode=require&options=-c%20a%3Db",
        {"memory_limit": "4GB"},
    )
    assert split("postgresql://me@h/db?threads=2") == ("postgresql://me@h/db", {"threads": "2"})
    assert split("postgresql://me@h/db") == ("postgresql://me@h/db", {})


def test_analyze_follows_a_load_that_changes_the_table_not_a_small_addition(
    postgres_url, pg_schema, tmp_path
):
    first = write_source(
        tmp_path / "src",
        songs=[song(song_id="SOA")],
        events={"2018-11-01-events.json": [event(itemInSession=i, ts=NOW + i) for i in range(40)]},
    )
    with connect(postgres_url, schema=pg_schema) as wh:
        pipeline.create_tables(wh)
        seen: list[str] = []
        wh.tracer = seen.append
        pipeline.stage(wh, first)  # into empty tables: statistics needed
        assert f'analyze "{pg_schema}"."staging_events"' in seen
        seen.clear()
        day = tmp_path / "src" / "log_data" / "2018-11-02-events.json"
        day.write_text(json.dumps(event(itemInSession=99, ts=NOW + 86_400_000)) + "\n")
        pipeline.stage(wh, first)  # 1 event beside 40: under a tenth
        assert not [s for s in seen if s.startswith("analyze") and "staging_events" in s]
        seen.clear()
        day.write_text(
            "".join(
                json.dumps(event(itemInSession=100 + i, ts=NOW + 86_400_000 + i)) + "\n" for i in range(5)
            )
        )
        os.utime(day, (NOW // 1000 + 10, NOW // 1000 + 10))
        pipeline.stage(wh, first)  # 5 events beside 40: over a tenth
        assert f'analyze "{pg_schema}"."staging_events"' in seen
