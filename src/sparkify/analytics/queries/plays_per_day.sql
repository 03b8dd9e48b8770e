-- Plays per calendar day (UTC), split into free and paid plays.
-- order: ordered
select
    trunc(start_time) as day,
    count(*) as plays,
    sum(case when level = 'free' then 1 else 0 end) as free_plays,
    sum(case when level = 'paid' then 1 else 0 end) as paid_plays
from songplays
group by trunc(start_time)
order by day
