-- sparkify_scope_songplays: the staged play events an incremental transform numbers again: every
-- delivery (NextSong, logged in) of each natural key whose earliest delivery is at or after
-- sparkify_scope_since (macro since_bound). A play's start_time is its earliest delivery's, so these
-- are exactly the plays at or after that instant; a key delivered before it too keeps its older play.
create temp table sparkify_scope_songplays as
with

recent as (
    select e.*
    from staging_events as e
    where e.page = 'NextSong' and e.user_id <> ''
        -- the bound on ts alone first: an index on ts reads only the rows from there on
        and e.ts >= @since_ms() and @ts_to_timestamp(e.ts) >= @since_bound()
),

recent_keys as (
    select distinct cast(r.user_id as integer) as user_id, r.session_id, r.item_in_session
    from recent as r
),

delivered_before as (
    select distinct k.user_id, k.session_id, k.item_in_session
    from staging_events as e
    inner join recent_keys as k
        on cast(nullif(e.user_id, '') as integer) = k.user_id
        and e.session_id = k.session_id
        and e.item_in_session = k.item_in_session
    where e.page = 'NextSong' and e.user_id <> ''
        and @ts_to_timestamp(e.ts) < @since_bound()
)

select r.*
from recent as r
left join delivered_before as b
    on cast(r.user_id as integer) = b.user_id
    and r.session_id = b.session_id
    and r.item_in_session = b.item_in_session
where b.user_id is null
