"""A Redshift stand-in for the test suite: a loopback server that ``redshift_connector`` connects to
as to Amazon Redshift, backed by a real PostgreSQL server, reading S3 (moto in the tests) for COPY.

What it models, each rule citing the AWS page it follows: Redshift's start-up (``server_version``
8.0.2, Redshift-only start-up parameters accepted); DDL with DISTSTYLE/DISTKEY/SORTKEY/ENCODE,
IDENTITY(seed, step), VARCHAR lengths in bytes up to 65535; refusal of what Redshift lacks (ON
CONFLICT, advisory locks, UNLOGGED, arrays, indexes, RETURNING, PostgreSQL collations); COPY of JSON
from S3 (prefix or MANIFEST, 'auto' / 'auto ignorecase' / JSONPaths, GZIP, MAXERROR, TIMEFORMAT,
IAM_ROLE required) with load errors in STL_LOAD_ERRORS and SYS_LOAD_ERROR_DETAIL that survive the
rollback, per-file rows in STL_LOAD_COMMITS and SYS_LOAD_DETAIL, SYS_LOAD_HISTORY,
PG_LAST_COPY_COUNT() and PG_LAST_COPY_ID() (per session); TRUNCATE committing the open transaction;
the Redshift SQL the analytics use beyond PostgreSQL's (SELECT TOP, TRUNC(timestamp),
CONVERT_TIMEZONE, DATEADD/DATEDIFF/DATE_PART with a bare date part, LEN, NVL, NVL2, DECODE).

What it does not: query planning, distribution, sort order, compression, concurrency scaling,
Serverless (it serves the STL views and the SYS views alike; Serverless refuses STL), other Redshift
SQL functions, serializable isolation (PostgreSQL's read committed runs instead), SSL, COPY formats
other than JSON, IAM (the role is required, never checked against S3 permissions).

Start it with :class:`Standin` (tests) or ``python -m tests.redshift_standin`` (by hand).
"""

from tests.redshift_standin.server import SERVER_VERSION, Standin

__all__ = ["SERVER_VERSION", "Standin"]
