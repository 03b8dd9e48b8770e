-- The 3 users with the most plays at each level (RANK over a partition), ties share a rank.
with

plays as (
    select user_id, level, count(*) as plays
    from songplays
    group by user_id, level
),

ranked as (
    select
        user_id,
        level,
        plays,
        rank() over (partition by level order by plays desc) as rank_in_level
    from plays
)

select level, rank_in_level, user_id, plays
from ranked
where rank_in_level <= 3
order by level, rank_in_level
