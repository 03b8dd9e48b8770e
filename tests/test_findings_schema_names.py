"""A schema name longer than the server keeps (fresh tester's finding): PostgreSQL cut a 70-byte
``--schema`` to 63 bytes silently, so the run reported a schema that does not exist and two different
names reached the same tables (and took different locks). Now refused (exit 2) before anything is
connected; a name of exactly the limit is taken."""

from __future__ import annotations

import psycopg
import pytest

from sparkify.errors import ConfigError
from sparkify.warehouse import offline
from tests.conftest import SAMPLE, sparkify

pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.mark.parametrize(
    "engine, longest, letter",
    [("postgres", 63, "s"), ("redshift", 127, "s"), ("postgres", 63, "é")],  # é: 2 bytes in UTF-8
)
def test_a_schema_name_longer_than_the_server_keeps_is_refused(engine, longest, letter):
    fits = letter * (longest // len(letter.encode()))
    too_long = fits + "s" * (longest - len(fits.encode()) + 1)
    assert len(fits.encode()) <= longest < len(too_long.encode())
    assert offline(engine, schema=fits).schema == fits
    with pytest.raises(ConfigError, match=f"{len(too_long.encode())} bytes long; .* at most {longest}"):
        offline(engine, schema=too_long)


def test_the_cli_refuses_it_before_connecting_and_leaves_no_schema(capsys, postgres_url):
    name = "sparkify_long_" + "x" * 60  # 74 bytes: PostgreSQL would keep the first 63
    try:
        code, out, err = sparkify(capsys, "run", "-q", "-s", SAMPLE, "-w", postgres_url, "--schema", name)
        with psycopg.connect(postgres_url) as con:
            cut = con.execute("select count(*) from pg_namespace where nspname = %s", [name[:63]]).fetchone()
    finally:  # a run that was let through made the schema under its cut name
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f'drop schema if exists "{name[:63]}" cascade')
    assert code == 2 and out == ""
    assert (
        err.startswith("Error: The schema name ") and "74 bytes long; PostgreSQL names are at most 63" in err
    )
    assert cut == (0,)
