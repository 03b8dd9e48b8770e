-- users: one row per distinct non-empty user_id over all events (not only NextSong).
-- Names, gender and level come from the user's latest event: largest ts, ties broken by the larger
-- session_id, then the larger item_in_session (then the other columns, so the pick is deterministic).
insert into users (user_id, first_name, last_name, gender, level)
with

ranked as (
    select
        cast(e.user_id as integer) as user_id,
        e.first_name,
        e.last_name,
        e.gender,
        e.level,
        row_number() over (
            partition by cast(e.user_id as integer)
            order by e.ts desc, e.session_id desc nulls last, e.item_in_session desc nulls last,
                e.level nulls last, e.first_name nulls last, e.last_name nulls last,
                e.gender nulls last
        ) as recency
    from @scoped(staging_events, users) as e
    where e.user_id is not null and e.user_id <> ''
)

select user_id, first_name, last_name, gender, level
from ranked
where recency = 1
