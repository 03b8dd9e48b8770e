-- Free vs paid: plays at each level (the level of the play), distinct users who played at it, and
-- the level's share of all plays.
-- order: ordered
select
    level,
    count(*) as plays,
    count(distinct user_id) as users,
    cast(count(*) as double precision) / (select count(*) from songplays) as share_of_plays
from songplays
group by level
order by level
