"""The default source (the shipped sample) never mixes into a warehouse loaded from elsewhere (tester
findings: `run --log-source DAY` alone loaded the sample's 14,896 songs beside the user's events;
`run` with no --source -- a cron job in another working folder -- loaded the whole demo sample into a
production warehouse with exit 0, its only trace one line about files "no longer in the source")."""

from __future__ import annotations

import pytest

from tests.conftest import sparkify
from tests.helpers.records import event, rows, song, write_source


@pytest.fixture(params=["duckdb", "postgres"])
def target(request, tmp_path) -> list[str]:
    """The warehouse options of a fresh warehouse of each engine a local source can load."""
    if request.param == "duckdb":
        return ["-w", f"duckdb:///{tmp_path}/w.duckdb"]
    return ["-w", request.getfixturevalue("postgres_url"), "--schema", request.getfixturevalue("pg_schema")]


def _star(options: list[str]) -> dict[str, list[tuple]]:
    from sparkify.warehouse import connect

    schema = options[options.index("--schema") + 1] if "--schema" in options else None
    wh = connect(options[1], schema=schema)
    try:
        return {table: rows(wh, table) for table in ("songplays", "users", "songs", "artists", "time")}
    finally:
        wh.close()


@pytest.fixture
def sample(cli_env, tmp_path):
    """A tiny default source: ./data/sparkify-sample of the working folder (tmp_path)."""
    return write_source(
        tmp_path / "data" / "sparkify-sample",
        songs=[song(song_id="SODEMO", title="Demo")],
        events=[event(userId="99", song="Demo", itemInSession=0)],
    )


@pytest.mark.parametrize(
    "flag,named,other", [("--log-source", "events", "songs"), ("--song-source", "songs", "events")]
)
@pytest.mark.parametrize("command", ["run", "stage"])
def test_one_kind_named_without_source_is_refused_before_anything_is_made(
    capsys, sample, tmp_path, flag, named, other, command
):
    mine = write_source(tmp_path / "mine", songs=[song()], events=[event()])
    folder = mine / ("log_data" if flag == "--log-source" else "song_data")
    code, out, err = sparkify(capsys, command, flag, folder, "-w", "w.duckdb")
    other_flag = "--song-source" if flag == "--log-source" else "--log-source"
    assert (code, out, err) == (
        2,
        "",
        f"Error: {flag} names where the {named} are, but nothing names the {other}: with no --source they "
        f"would come from the shipped sample ({sample}). Pass --source (the folder or s3:// prefix holding "
        f"song_data/ and log_data/), or {other_flag} too.\n",
    )
    assert not (tmp_path / "w.duckdb").exists()
    # beside --source, they load
    if command == "stage":
        assert sparkify(capsys, "create-tables", "-q", "-w", "w.duckdb")[0] == 0
    assert sparkify(capsys, command, "-q", "--source", mine, flag, folder, "-w", "w.duckdb")[0] == 0


def test_a_variable_naming_one_kind_is_refused_too(capsys, sample, tmp_path, monkeypatch):
    mine = write_source(tmp_path / "mine", songs=[song()], events=[event()])
    monkeypatch.setenv("SPARKIFY_LOG_SOURCE", str(mine / "log_data"))
    code, _, err = sparkify(capsys, "run", "-w", "w.duckdb")
    assert code == 2 and err.startswith("Error: SPARKIFY_LOG_SOURCE names where the events are"), err


def test_no_source_for_a_warehouse_loaded_from_elsewhere_is_refused_and_changes_nothing(
    capsys, sample, tmp_path, target
):
    mine = write_source(tmp_path / "mine", songs=[song()], events=[event(), event(itemInSession=1)])
    assert sparkify(capsys, "run", "-q", "--source", mine, *target)[0] == 0
    before = _star(target)
    assert len(before["songplays"]) == 2
    for command in ("run", "stage"):
        code, out, err = sparkify(capsys, command, *target)
        assert (code, out) == (2, ""), err
        assert err == (
            f"Error: No source was given, so the source is the shipped sample ({sample}); but this warehouse "
            f"holds 2 files loaded from elsewhere (such as {mine / 'song_data' / 'A' / 'B' / 'C' / 'TR000000.json'})"
            ". Nothing was changed. Pass --source (or set SPARKIFY_SOURCE) naming this warehouse's source.\n"
        )
        assert _star(target) == before
    # the same warehouse with its source named: nothing new, nothing lost
    assert sparkify(capsys, "run", "-q", "--source", mine, *target)[0] == 0
    assert _star(target) == before


def test_no_source_for_a_warehouse_of_the_sample_loads_the_sample_again(capsys, sample, target):
    assert sparkify(capsys, "run", "-q", *target)[0] == 0
    before = _star(target)
    assert [r[0] for r in before["songs"]] == ["SODEMO"]
    assert sparkify(capsys, "run", "-q", *target)[0] == 0  # a rerun of the default: allowed, unchanged
    assert _star(target) == before


@pytest.mark.engines("duckdb", "postgres", reason="Redshift refuses every local source, the sample included")
def test_the_library_default_follows_the_same_rule(warehouse, sample, tmp_path):
    import sparkify
    from sparkify.errors import ConfigError

    mine = write_source(tmp_path / "mine", songs=[song()], events=[event()])
    sparkify.run(warehouse, mine)
    with pytest.raises(ConfigError, match=r"No source was given, so the source is the shipped sample"):
        sparkify.run(warehouse)
    assert rows(warehouse, "songs", ["song_id"]) == [("SO1",)]  # the sample's SODEMO never came in
