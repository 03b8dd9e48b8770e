-- The 10 users with the most plays, with their current level, ties by user_id.
-- order: ordered
with

plays as (
    select user_id, count(*) as plays
    from songplays
    group by user_id
)

select
    p.user_id,
    u.first_name,
    u.last_name,
    u.level,
    p.plays
from plays as p
left join users as u on p.user_id = u.user_id
order by p.plays desc, p.user_id
limit 10
