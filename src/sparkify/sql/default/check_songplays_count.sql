-- reconciliation: the number of songplays equals the number of distinct NextSong events of logged-in
-- users (natural key user_id, session_id, item_in_session). Returns the absolute difference.
-- After an incremental run the check may be confined to what the run rebuilt: the events of
-- sparkify_scope_songplays against the plays from sparkify_scope_since on (macros scoped, since).
with

events as (
    select distinct cast(user_id as integer) as user_id, session_id, item_in_session
    from @scoped(staging_events, songplays)
    where page = 'NextSong' and user_id is not null and user_id <> ''
)

select abs((select count(*) from events) - (select count(*) from songplays where @since(start_time))) as offending
