"""Running out of memory or spill space, and DuckDB settings DuckDB would take quietly (an operator
at volume, tester finding): each ends with one line saying what to set, and its own exit code --
never "unexpected ... (a bug)", exit 70 -- on the DuckDB warehouse and on the PostgreSQL warehouse's
client-side parser alike; nothing is changed, and a run with enough memory then loads everything."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from sparkify.cli import cli
from sparkify.errors import ConfigError, ExitCode, LocalIOError, WarehouseError
from sparkify.generate import generate
from sparkify.warehouse import connect
from sparkify.warehouse.duckdb import error_for
from tests.conftest import TEST_ENGINES


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """20,000 generated events: more than 16 MB of DuckDB memory can parse (seen: 'failed to
    allocate data of size 32.0 MiB' in the events scan)."""
    out = tmp_path_factory.mktemp("src")
    generate(out, events=20_000, songs=200, users=50, seed=3)
    return out


def target(engine: str, tmp_path, request, settings: str) -> list[str]:
    """The --warehouse (and --schema) arguments naming a fresh warehouse of ``engine`` with the
    DuckDB ``settings`` in its URL's query."""
    if engine == "duckdb":
        return ["-w", f"duckdb:///{tmp_path}/w.duckdb{settings}"]
    url = request.getfixturevalue("postgres_url")
    if settings and "?" in url:
        settings = "&" + settings[1:]
    return ["-w", url + settings, "--schema", request.getfixturevalue("pg_schema")]


@pytest.mark.parametrize("engine", [e for e in ("duckdb", "postgres") if e in TEST_ENGINES])
def test_running_out_of_memory_in_the_parser_says_what_to_set(engine, tmp_path, request, source):
    runner = CliRunner()
    tight = runner.invoke(
        cli,
        [
            "run",
            "-q",
            "--source",
            str(source),
            *target(engine, tmp_path, request, "?memory_limit=16MB&threads=1"),
        ],
    )
    assert tight.exit_code == ExitCode.REFUSED, tight.output
    lines = tight.output.strip().splitlines()
    assert len(lines) == 1, tight.output
    assert lines[0].startswith("Error: DuckDB ran out of memory: Out of Memory Error")
    assert "?memory_limit=4GB" in lines[0] and "nothing was changed" in lines[0]
    # a tester's finding: the advice said ?threads=1 to a run that had it; it names what the run had
    assert "it had 16MB" in lines[0] and "threads" not in lines[0], lines[0]
    assert "unexpected" not in tight.output and "SET " not in tight.output  # DuckDB's SQL advice is not ours
    # then, with the default memory, everything loads and every check passes
    ok = runner.invoke(cli, ["run", "-q", "--source", str(source), *target(engine, tmp_path, request, "")])
    assert ok.exit_code == 0, ok.output
    assert "20,000 records" in ok.output or "20,200 records" in ok.output


def test_a_spill_folder_at_its_limit_is_a_local_io_error_naming_the_settings(tmp_path):
    # a real DuckDB error: a sort bigger than memory, spilling into a folder capped at 1 MB
    con = duckdb.connect(
        config={
            "memory_limit": "16MB",
            "threads": "1",
            "temp_directory": str(tmp_path),
            "max_temp_directory_size": "1MB",
        }
    )
    with pytest.raises(duckdb.OutOfMemoryException) as raised:
        con.execute("create table t as select md5(range::varchar) as s from range(2000000) order by s")
    mapped = error_for(raised.value)
    assert isinstance(mapped, LocalIOError) and mapped.exit_code == ExitCode.IO_ERROR
    assert "could not spill to its temp folder" in str(mapped) and "max_temp_directory_size" in str(mapped)
    assert ".." not in str(mapped)


def test_plain_out_of_memory_is_a_refusal_saying_what_to_set():
    con = duckdb.connect(config={"memory_limit": "16MB", "threads": "1"})
    with pytest.raises(duckdb.OutOfMemoryException) as raised:
        con.execute("select list(range) from range(20000000)")
    mapped = error_for(raised.value)
    assert isinstance(mapped, WarehouseError) and mapped.exit_code == ExitCode.REFUSED
    assert "?memory_limit=4GB" in str(mapped) and "?threads=1" in str(mapped)
    # with the settings in effect: fewer threads only when it had more than one, more memory than it had
    had_one = str(error_for(raised.value, {"memory_limit": "16MB", "threads": "1"}))
    assert "?memory_limit=4GB; it had 16MB" in had_one and "threads" not in had_one
    had_many = str(error_for(raised.value, {"memory_limit": "6GB", "threads": "8"}))
    assert "?memory_limit=12GB; it had 6GB" in had_many and "?threads=1" in had_many
    assert "?memory_limit=8GB;" in str(error_for(raised.value, {"memory_limit": "3.75GiB"}))


@pytest.mark.parametrize(
    "settings, said",
    [
        ("?memory_limit=-5GB", "a size is not negative"),  # DuckDB takes it for 80% of RAM
        ("?max_temp_directory_size=-1GB", "a size is not negative"),
        ("?threads=2&threads=3", "sets the DuckDB setting threads twice"),
        ("?threads=10000", "more than"),  # 22,000 threads: the machine's load average went to 6,600
        ("?threads=1e5", "more than"),  # DuckDB reads it as 100000
        ("?threads=1.5", "a whole number"),  # DuckDB quietly rounds it to 2
        ("?threads=2.7", "a whole number"),
        ("?temp_directory=", "has no value"),  # DuckDB: no spilling at all
        ("?temp_directory={tmp}/a-file", "is a file, not a folder"),  # failed only at the first spill
        ("?temp_directory=/no/such/folder/spill", "the folder /no/such/folder is not there"),
    ],
)
@pytest.mark.parametrize("engine", [e for e in ("duckdb", "postgres") if e in TEST_ENGINES])
def test_settings_duckdb_would_take_quietly_are_refused(engine, settings, said, tmp_path, request):
    (tmp_path / "a-file").write_text("not a folder")
    settings = settings.replace("{tmp}", str(tmp_path))
    args = target(engine, tmp_path, request, settings)
    if engine == "duckdb":
        with pytest.raises(ConfigError, match=said):
            connect(args[1])
    result = CliRunner().invoke(cli, ["create-tables", *args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert said in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_running_out_of_memory_at_the_first_statement_is_mapped_too(tmp_path):
    # memory_limit=1KB: the first look at the tables ran unmapped: "unexpected OutOfMemoryException", exit 70
    result = CliRunner().invoke(cli, ["run", "-q", "-w", f"duckdb:///{tmp_path}/w.duckdb?memory_limit=1KB"])
    assert result.exit_code == ExitCode.REFUSED, result.output
    assert result.output.startswith("Error: DuckDB ran out of memory") and "unexpected" not in result.output
