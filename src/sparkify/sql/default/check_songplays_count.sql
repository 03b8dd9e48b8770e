-- reconciliation: the number of songplays equals the number of distinct NextSong events of logged-in
-- users (natural key user_id, session_id, item_in_session). Returns the absolute difference.
with

events as (
    select distinct cast(user_id as integer) as user_id, session_id, item_in_session
    from staging_events
    where page = 'NextSong' and user_id is not null and user_id <> ''
)

select abs((select count(*) from events) - (select count(*) from songplays)) as offending
