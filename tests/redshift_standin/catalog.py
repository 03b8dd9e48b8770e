"""The stand-in's system tables, views and functions, in schema ``sparkify_standin`` of each
database a client uses. Redshift keeps them in its catalog; here client SQL naming them is pointed
at this schema (see ``rewrite.py``). Written by the stand-in over a connection of its own, so load
errors survive the rollback of the COPY that failed, as on Redshift.
"""

from __future__ import annotations

from tests.redshift_standin.rewrite import SCHEMA

STATEMENTS = [
    f"create schema if not exists {SCHEMA}",
    f"create sequence if not exists {SCHEMA}.query_ids start with 1000",
    # one row per COPY the stand-in prepared; run_copy() performs it in the client's session
    f"""create table if not exists {SCHEMA}.copy_jobs (
        query bigint primary key, pid integer not null, target regclass, columns text, select_list text,
        rows_loaded bigint, error_code text, error_message text, started timestamp default now())""",
    f"create table if not exists {SCHEMA}.copy_rows (query bigint not null, record json not null)",
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html (CHAR columns, blank-padded)
    f"""create table if not exists {SCHEMA}.stl_load_errors (
        userid integer, slice integer, tbl integer, starttime timestamp, session integer, query integer,
        filename char(256), line_number bigint, colname char(127), type char(10), col_length char(10),
        position integer, raw_line char(1024), raw_field_value char(1024), err_code integer,
        err_reason char(100), is_partial integer, start_offset bigint)""",
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html
    f"""create or replace view {SCHEMA}.sys_load_error_detail as
        select userid as user_id, query::bigint as query_id, session as session_id,
            current_database()::char(64) as database_name, tbl as table_id, starttime as start_time,
            filename as file_name, line_number, colname as column_name, type as column_type,
            col_length as column_length, position, err_code as error_code,
            err_reason::char(512) as error_message, raw_line, raw_field_value
        from {SCHEMA}.stl_load_errors""",
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html (one row per file)
    f"""create table if not exists {SCHEMA}.stl_load_commits (
        userid integer, query integer, slice integer, name char(256), filename char(256),
        byte_offset integer, lines_scanned integer, errors integer, curtime timestamp, status integer,
        file_format char(16), is_partial integer, start_offset bigint)""",
    # Serverless has no STL views; its per-file counts are in SYS_LOAD_DETAIL (one row per file of a
    # COPY: query_id, file_name, lines_scanned, ...), and its per-COPY totals in SYS_LOAD_HISTORY.
    # The stand-in serves both families from the same rows.
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_DETAIL.html
    f"""create or replace view {SCHEMA}.sys_load_detail as
        select userid as user_id, query::bigint as query_id, filename::char(256) as file_name,
            0::bigint as bytes_scanned, lines_scanned::bigint as lines_scanned, curtime as record_time,
            1 as splits_scanned, curtime as start_time, curtime as end_time
        from {SCHEMA}.stl_load_commits""",
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_HISTORY.html
    f"""create or replace view {SCHEMA}.sys_load_history as
        select 100 as user_id, query as query_id, pid as session_id, current_database()::char(128) as database_name,
            case when error_message is null then 'completed' else 'failed' end::char(30) as status,
            target::text::char(136) as table_name, started as start_time, rows_loaded as loaded_rows,
            (select count(*) from {SCHEMA}.stl_load_commits as c where c.query = j.query) as file_count
        from {SCHEMA}.copy_jobs as j""",
    # PG_LAST_COPY_COUNT / PG_LAST_COPY_ID: the last COPY of this session that completed; -1 if none.
    # https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_COUNT.html
    # https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html
    # A backend pid is reused by later sessions: "this session" is this pid since its backend started
    # (in UTC, the time zone of the side connection that records copy_jobs.started).
    f"""create or replace function {SCHEMA}.session_start() returns timestamp language sql stable as $f$
        select backend_start at time zone 'UTC' from pg_stat_activity where pid = pg_backend_pid() $f$""",
    f"""create or replace function {SCHEMA}.pg_last_copy_count() returns bigint language sql stable as $f$
        select coalesce((select rows_loaded from {SCHEMA}.copy_jobs
            where pid = pg_backend_pid() and started >= {SCHEMA}.session_start() and error_message is null order by query desc limit 1), -1)::bigint $f$""",
    f"""create or replace function {SCHEMA}.pg_last_copy_id() returns integer language sql stable as $f$
        select coalesce((select query from {SCHEMA}.copy_jobs
            where pid = pg_backend_pid() and started >= {SCHEMA}.session_start() and error_message is null order by query desc limit 1), -1)::integer $f$""",
    # Redshift's date and text functions the analytics queries use, as documented:
    # TRUNC(timestamp) returns the date; TRUNC of a number truncates it, as in PostgreSQL.
    # https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNC_date.html
    f"""create or replace function {SCHEMA}.trunc(t timestamp) returns date language sql immutable
        as $f$ select t::date $f$""",
    f"""create or replace function {SCHEMA}.trunc(n numeric, d integer default 0) returns numeric
        language sql immutable as $f$ select pg_catalog.trunc(n, d) $f$""",
    f"""create or replace function {SCHEMA}.trunc(n double precision) returns double precision
        language sql immutable as $f$ select pg_catalog.trunc(n) $f$""",
    # CONVERT_TIMEZONE([source,] target, timestamp): source defaults to UTC.
    # https://docs.aws.amazon.com/redshift/latest/dg/CONVERT_TIMEZONE.html
    f"""create or replace function {SCHEMA}.convert_timezone(target text, t timestamp) returns timestamp
        language sql stable as $f$ select (t at time zone 'UTC') at time zone target $f$""",
    f"""create or replace function {SCHEMA}.convert_timezone(source text, target text, t timestamp)
        returns timestamp language sql stable as $f$ select (t at time zone source) at time zone target $f$""",
    # DATEADD(part, n, timestamp). https://docs.aws.amazon.com/redshift/latest/dg/r_DATEADD_function.html
    f"""create or replace function {SCHEMA}.dateadd(part text, n bigint, t timestamp) returns timestamp
        language sql immutable as $f$ select t + n * ('1 ' || part)::interval $f$""",
    # DATEDIFF(part, a, b): the number of part boundaries crossed from a to b (not elapsed whole parts).
    # https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html
    f"""create or replace function {SCHEMA}.datediff(part text, a timestamp, b timestamp) returns bigint
        language sql immutable as $f$ select case lower(part)
            when 'year' then extract(year from b) - extract(year from a)
            when 'month' then (extract(year from b) - extract(year from a)) * 12 + extract(month from b) - extract(month from a)
            when 'week' then (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7
            when 'day' then b::date - a::date
            when 'hour' then extract(epoch from date_trunc('hour', b) - date_trunc('hour', a)) / 3600
            when 'minute' then extract(epoch from date_trunc('minute', b) - date_trunc('minute', a)) / 60
            when 'second' then extract(epoch from date_trunc('second', b) - date_trunc('second', a))
            end::bigint $f$""",
    # LEN(text): characters. https://docs.aws.amazon.com/redshift/latest/dg/r_LEN.html
    f"""create or replace function {SCHEMA}.len(t text) returns integer language sql immutable
        as $f$ select length(t) $f$""",
    # DECODE(expression, search, result [, search, result]... [, default]): a NULL search matches a
    # NULL expression. https://docs.aws.amazon.com/redshift/latest/dg/r_DECODE_expression.html
    f"""create or replace function {SCHEMA}.decode(e anyelement, s anyelement, r anycompatible)
        returns anycompatible language sql immutable as $f$ select case when e is not distinct from s then r end $f$""",
    f"""create or replace function {SCHEMA}.decode(e anyelement, s anyelement, r anycompatible, d anycompatible)
        returns anycompatible language sql immutable
        as $f$ select case when e is not distinct from s then r else d end $f$""",
    # NVL2(expression, not_null_return, null_return). https://docs.aws.amazon.com/redshift/latest/dg/r_NVL2.html
    f"""create or replace function {SCHEMA}.nvl2(e anyelement, a anycompatible, b anycompatible)
        returns anycompatible language sql immutable as $f$ select case when e is not null then a else b end $f$""",
    # Runs in the client's session and transaction: fails it with the COPY's error (so the
    # transaction aborts, as on Redshift), or inserts the rows the stand-in prepared.
    f"""create or replace function {SCHEMA}.run_copy() returns bigint language plpgsql as $f$
        declare j record; n bigint;
        begin
            select * into j from {SCHEMA}.copy_jobs where pid = pg_backend_pid() order by query desc limit 1;
            if not found then raise exception 'stand-in: no COPY was prepared for this session'; end if;
            if j.error_message is not null then
                raise exception using message = j.error_message, errcode = j.error_code;
            end if;
            execute format('insert into %s (%s) select %s from {SCHEMA}.copy_rows as r '
                           'cross join lateral json_populate_record(null::%s, r.record) as x where r.query = %s',
                           j.target, j.columns, j.select_list, j.target, j.query);
            get diagnostics n = row_count;
            return n;
        end $f$""",
]
