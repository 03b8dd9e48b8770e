-- reconciliation: every NextSong event of a logged-in user has a songplay with its user, session and
-- start time. Returns the number of events without one.
with

events as (
    select distinct
        cast(user_id as integer) as user_id,
        session_id,
        @ts_to_timestamp(ts) as start_time
    from staging_events
    where page = 'NextSong' and user_id is not null and user_id <> ''
)

select count(*) as offending
from events as e
where not exists (
    select 1
    from songplays as p
    where p.user_id = e.user_id and p.session_id = e.session_id and p.start_time = e.start_time
)
