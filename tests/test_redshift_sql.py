"""The Redshift engine without a cluster: its SQL parses, its COPY is pinned, its rules are checked.

Nothing here fakes a Redshift result: these tests read statements, never answers. The live suite
(test_redshift_live.py) runs them on a cluster; test_merge.py runs the merge SQL on PostgreSQL.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime

import pytest
import sqlglot
from sqlglot import exp

from sparkify import analytics, pipeline
from sparkify import sql as sqlfiles
from sparkify.cli import main
from sparkify.errors import ConfigError
from sparkify.schema import STAGING_EVENTS, STAGING_SONGS, STAR_TABLES
from sparkify.warehouse import ENGINES, offline
from sparkify.warehouse.redshift import RedshiftWarehouse, json_paths_document, split_insert, staged

ROLE = "arn:aws:iam::123456789012:role/sparkify-load"


def parse(statement: str, dialect: str) -> list[exp.Expression]:
    """Parse strictly: an error, or a statement sqlglot only keeps as an opaque Command, fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trees = sqlglot.parse(statement, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    trees = [t for t in trees if t is not None]
    assert trees, f"nothing parsed in:\n{statement}"
    for tree in trees:
        assert not isinstance(tree, exp.Command) and tree.find(exp.Command) is None, (
            f"{dialect} kept this as an unparsed command:\n{statement}"
        )
    return trees


def sql_cli(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(["sql", *args])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0, err
    return out


# -- every statement parses -----------------------------------------------------------------------


@pytest.mark.parametrize("step", pipeline.STEPS)
def test_every_statement_sparkify_sql_prints_for_redshift_parses(capsys, step):
    output = sql_cli(
        capsys,
        "--engine",
        "redshift",
        step,
        "--source",
        "s3://b/p",
        "--iam-role",
        ROLE,
        "--region",
        "us-west-2",
        "--max-errors",
        "5",
    )
    wh = RedshiftWarehouse.offline(iam_role=ROLE, region="us-west-2")
    expected = pipeline.statements(wh, step, source="s3://b/p", max_errors=5)
    for statement in expected:
        assert statement.rstrip() + ";" in output
        parse(statement, "redshift")
    # and the whole output, as a user would paste it into a SQL client, is those statements, after the
    # session's setup (search_path) that makes a replay write where a run does
    assert len(parse(output, "redshift")) == len(wh.setup_statements()) + len(expected)


def test_sparkify_sql_prints_every_step_by_default_and_the_steps_statements(capsys):
    output = sql_cli(capsys, "--engine", "redshift")
    wh = offline("redshift")
    expected = [s for step in pipeline.STEPS for s in pipeline.statements(wh, step)]
    assert output.count(";\n\n") + 1 >= len(expected)
    trees = parse(output, "redshift")
    setup = len(wh.setup_statements())  # set search_path first
    assert setup == 1 and len(trees) == setup + len(expected)
    assert [type(t).__name__ for t in trees[setup : setup + 3]] == ["Create", "Create", "Create"]
    assert [line for line in output.splitlines() if line.startswith("-- ==")] == [
        f"-- == {step} " + "=" * (90 - len(step)) for step in pipeline.STEPS
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_sql_file_parses_for_each_engine_that_uses_it(engine):
    wh = offline(engine)
    # the scope an incremental transform renders with: its bound written in as a literal
    incremental = {**sqlfiles.incremental_scope(datetime(2018, 11, 30, 12, 0)), "id_offset": "42"}
    for name in sqlfiles.names():
        parse(wh.statement(name, incremental), wh.sql_dialect)  # the engine's own file, macros expanded
        if not name.startswith("scope_"):  # a full build reads no scope_ file
            parse(wh.statement(name), wh.sql_dialect)
    for query in analytics.catalog().values():  # written in Redshift SQL, translated for the engine
        parse(analytics.sql_for(wh, query), wh.sql_dialect)


# -- golden: the COPY options ---------------------------------------------------------------------


def test_copy_of_staged_events_is_pinned():
    # every column, lineage included, matched by name from the gzipped JSON lines sparkify staged
    wh = RedshiftWarehouse.offline(schema="music", iam_role=ROLE, region="us-west-2")
    assert staged.copy_sql(wh, STAGING_EVENTS, "s3://my-bucket/sparkify/_sparkify/manifests/x.manifest") == (
        "-- staging_events: the rows the record rules accepted on this machine, typed and with their lineage, "
        "staged as gzipped JSON lines\n"
        'copy "music"."staging_events" ("artist", "auth", "first_name", "gender", "item_in_session", '
        '"last_name", "length", "level", "location", "method", "page", "registration", "session_id", "song", '
        '"status", "ts", "user_agent", "user_id", "source_file")\n'
        "from 's3://my-bucket/sparkify/_sparkify/manifests/x.manifest'\n"
        "iam_role 'arn:aws:iam::123456789012:role/sparkify-load'\n"
        "region 'us-west-2'\n"
        "format as json 'auto'\n"
        "manifest\n"
        "gzip\n"
        "compupdate off statupdate off"
    )


def test_copy_of_staged_songs_has_no_maxerror():
    # a value the rules accepted and Redshift refuses is a fault, never a dropped record
    wh = RedshiftWarehouse.offline(iam_role=ROLE)
    sql = staged.copy_sql(wh, STAGING_SONGS, "s3://b/m.manifest")
    assert sql.splitlines()[1] == (
        'copy "public"."staging_songs" ("num_songs", "artist_id", "artist_latitude", "artist_longitude", '
        '"artist_location", "artist_name", "song_id", "title", "duration", "year", "source_file")'
    )
    assert "maxerror" not in sql.lower()


def test_copy_parses_with_the_options_sqlglot_sees():
    wh = RedshiftWarehouse.offline(iam_role=ROLE, region="eu-west-1")
    (tree,) = parse(staged.copy_sql(wh, STAGING_EVENTS, "s3://b/p.manifest"), "redshift")
    assert isinstance(tree, exp.Copy)
    text = tree.sql(dialect="redshift").upper()
    for option in (
        "IAM_ROLE",
        "REGION",
        "FORMAT AS JSON",
        "MANIFEST",
        "GZIP",
        "COMPUPDATE OFF",
        "STATUPDATE OFF",
    ):
        assert option in text, option


def test_stage_replaces_rows_by_lineage_with_delete_never_truncate():
    wh = RedshiftWarehouse.offline(iam_role=ROLE)
    stmts = pipeline.statements(wh, "stage", source="s3://b/p")
    assert stmts[0] == "begin" and stmts[-1] == "commit"
    # the traced run reads files never loaded before: nothing of theirs is staged, so no delete
    # (a changed object's rows leave by their lineage: test_redshift_runs, on the stand-in)
    assert not any(s.startswith("delete") for s in stmts)
    # the checked rows come in through a manifest COPY
    # the manifest under the source's staging prefix (where a run writes it: test_redshift_runs)
    assert "from 's3://b/p/_sparkify/manifests/<random id>-staging_songs.manifest'" in stmts[1]
    assert stmts[1].splitlines()[-3:] == ["manifest", "gzip", "compupdate off statupdate off"]
    assert not any("truncate" in s.lower() for step in pipeline.STEPS for s in pipeline.statements(wh, step))


def test_sparkify_sql_shows_the_manifest_prefix_or_a_placeholder(capsys, monkeypatch):
    def shown(*args: str) -> list[str]:
        output = sql_cli(capsys, "--engine", "redshift", "stage", "--iam-role", ROLE, *args)
        return [line for line in output.splitlines() if line.startswith("from 's3://")]

    # no S3 source and no manifest prefix: the place is not known
    assert shown("--source", "data/sparkify-sample") == [
        "from 's3://<staging prefix>/<random id>-staging_songs.manifest'",
        "from 's3://<staging prefix>/<random id>-staging_events.manifest'",
    ]
    assert shown("--source", "s3://bucket/some/prefix/")[1] == (
        "from 's3://bucket/some/prefix/_sparkify/manifests/<random id>-staging_events.manifest'"
    )
    # the manifest prefix wins over the source's (as in a run: test_redshift_runs)
    monkeypatch.setenv("SPARKIFY_MANIFEST_PREFIX", "s3://stage-bucket/manifests/")
    assert shown("--source", "s3://bucket/p")[0] == (
        "from 's3://stage-bucket/manifests/<random id>-staging_songs.manifest'"
    )


def test_the_json_paths_file_sparkify_ships_maps_the_staging_columns_in_order(sample_dir):
    shipped = json.loads((sample_dir / "log_json_path.json").read_text())
    assert shipped == json.loads(json_paths_document())
    assert shipped["jsonpaths"][:3] == ["$['artist']", "$['auth']", "$['firstName']"]
    assert STAGING_EVENTS.column_names[:3] == ["artist", "auth", "first_name"]


# -- DDL ------------------------------------------------------------------------------------------


def test_tables_carry_distribution_sort_keys_and_identity():
    wh = offline("redshift")
    ddl = {t.name: wh.create_table_sql(t) for t in STAR_TABLES}
    assert '"songplay_id" bigint identity(0, 1) not null' in ddl["songplays"]
    assert ddl["songplays"].endswith('diststyle key distkey ("start_time") sortkey ("start_time")')
    assert ddl["time"].endswith('diststyle key distkey ("start_time") sortkey ("start_time")')
    for small in ("users", "songs", "artists"):
        assert "\ndiststyle all sortkey (" in ddl[small]
    assert "varchar(65535)" in ddl["users"] and " text" not in ddl["users"]


# -- the rules that stay the same -----------------------------------------------------------------


def test_redshift_transform_computes_rows_with_the_same_sql_files_as_the_other_engines():
    """The merge wraps each table's insert_<table>.sql query; the rules are not rewritten."""
    rs, pg = offline("redshift"), offline("postgres")
    transform = "\n".join(pipeline.statements(rs, "transform"))
    for table in STAR_TABLES:
        _, query = split_insert(pg.statement(f"insert_{table.name}"))
        assert query in transform, table.name
    assert "timestamp '1970-01-01' + p.ts * interval '1 millisecond'" in transform
    assert "/ 1000" not in transform  # no integer division of ts


def test_redshift_from_a_local_folder_is_a_config_error(sample_dir):
    wh = RedshiftWarehouse.offline(iam_role=ROLE)
    with pytest.raises(ConfigError) as err:
        pipeline.run(wh, sample_dir)
    assert str(err.value) == (
        "Redshift loads from S3: pass --source s3://bucket/prefix (the prefix that holds song_data/ and "
        f"log_data/), not {str(sample_dir)!r}."
    )
    with pytest.raises(ConfigError, match="Redshift loads from S3"):
        pipeline.stage(wh, sample_dir)


def test_a_load_without_an_iam_role_says_how_to_give_one():
    with pytest.raises(ConfigError) as err:
        RedshiftWarehouse.offline().prepare_load(object())
    assert str(err.value) == (
        "Redshift COPY needs an IAM role that can read the bucket: pass --iam-role ARN "
        "(or set SPARKIFY_IAM_ROLE, or iam_role in sparkify.toml)."
    )


def test_per_object_counts_come_from_stl_on_clusters_and_sys_on_serverless():
    provisioned = RedshiftWarehouse("redshift://u@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev")
    serverless = RedshiftWarehouse("redshift://u@wg.123.us-west-2.redshift-serverless.amazonaws.com:5439/dev")
    assert not provisioned.is_serverless and serverless.is_serverless
    assert "from stl_load_commits" in staged.counts_sql(provisioned.is_serverless)
    assert "from sys_load_detail" in staged.counts_sql(serverless.is_serverless)
    for wh in (provisioned, serverless):
        parse(staged.counts_sql(wh.is_serverless), "redshift")
    provisioned.serverless = True  # told explicitly (a custom endpoint name)
    assert provisioned.is_serverless


def test_load_errors_come_from_stl_or_sys_views():
    provisioned = RedshiftWarehouse("redshift://u@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev")
    serverless = RedshiftWarehouse("redshift://u@wg.123.us-west-2.redshift-serverless.amazonaws.com:5439/dev")
    for wh, view, cols in (
        (provisioned, "stl_load_errors", "filename"),
        (serverless, "sys_load_error_detail", "file_name"),
    ):
        for latest_failed in (True, False):
            sql = wh.load_errors_sql(latest_failed=latest_failed)
            assert f"from {view}" in sql and cols in sql
            parse(sql, "redshift")


# -- sparkify sql: the command --------------------------------------------------------------------


def test_sparkify_sql_never_prints_a_password(capsys):
    output = sql_cli(capsys, "--warehouse", "redshift://admin:Hunter2-secret@c.example.com:5439/dev", "stage")
    assert "Hunter2-secret" not in output
    assert "-- warehouse: redshift://admin:***@c.example.com:5439/dev" in output.splitlines()
    assert "-- sparkify sql: statements for the redshift engine" in output.splitlines()


def test_sparkify_sql_names_an_unknown_step_or_engine(capsys):
    for args, message in (
        (
            ["transfrom"],
            "Error: Unknown step 'transfrom'. Did you mean 'transform'? Steps: create-tables, stage, transform, check.\n",
        ),
        (
            ["--engine", "redshfit"],
            "Error: Unknown engine 'redshfit'. Did you mean 'redshift'? Engines: duckdb, postgres, redshift.\n",
        ),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["sql", *args])
        assert exit_.value.code == 2
        assert capsys.readouterr().err == message


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_sparkify_sql_prints_what_the_engine_then_runs(engine, request, tmp_path):
    """For the engines we can run here: the printed transform and check statements are the
    statements sent, in order (seen through the tracer)."""
    from tests.conftest import open_engine
    from tests.helpers.records import NO_SONG, plain_event, plain_song, write_source

    wh = open_engine(engine, request, tmp_path)
    try:
        pipeline.create_tables(wh)
        pipeline.stage(
            wh,
            write_source(
                tmp_path / "s",
                songs=[plain_song(song_id="SOA", artist_id="ARA", artist_name="Artist A", title="A Song")],
                events={"2018-11-01-events.json": [plain_event(**NO_SONG)]},
            ),
        )
        sent: list[str] = []
        wh.tracer = sent.append
        pipeline.transform(wh)
        pipeline.check(wh)
        wh.tracer = None
    finally:
        wh.close()
    transform = [s for s in pipeline.statements(wh, "transform") if s not in ("begin", "commit")]
    checks = [s.split("\n", 1)[1] for s in pipeline.statements(wh, "check")]  # less the comment line
    assert all(c.startswith("-- ") for c in pipeline.statements(wh, "check"))
    start = sent.index(transform[0])
    assert sent[start : start + len(transform)] == transform
    start = sent.index(checks[0])
    assert sent[start : start + len(checks)] == checks


def test_an_unreachable_cluster_is_one_line_without_the_password():
    """A real connection attempt to a closed local port (no cluster, no fake): the driver's error,
    mapped in one place."""
    pytest.importorskip("redshift_connector")
    from sparkify.errors import WarehouseError
    from sparkify.warehouse import connect

    with pytest.raises(WarehouseError) as err:
        connect("redshift://admin:Secr3t-pw@127.0.0.1:9/dev", iam_role=ROLE)
    assert str(err.value) == (
        "Cannot connect to Redshift at redshift://admin:***@127.0.0.1:9/dev: communication error: "
        "Connection refused. Check that the server is running and reachable; a scheduler may retry later."
    )
