-- reconciliation: every NextSong event of a logged-in user has its songplay -- same user, session and
-- start time. An event delivered more than once (same user, session and item) is one play, timed by
-- its first delivery. Returns the number of events without their songplay. After an incremental
-- run it may be confined to the events the run numbered again (sparkify_scope_songplays).
with

events as (
    select
        cast(user_id as integer) as user_id,
        session_id,
        item_in_session,
        min(ts) as ts
    from @scoped(staging_events, songplays)
    where page = 'NextSong' and user_id is not null and user_id <> ''
    group by cast(user_id as integer), session_id, item_in_session
)

select count(*) as offending
from events as e
where not exists (
    select 1
    from songplays as p
    where p.user_id = e.user_id
        and p.session_id = e.session_id
        and p.start_time = @ts_to_timestamp(e.ts)
        -- scoped: those events' plays are all from the bound on (no other play can match)
        and @since(p.start_time)
)
