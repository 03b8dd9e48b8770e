-- Plays per hour of day (UTC), hours with no play left out.
-- order: ordered
select
    t.hour,
    count(*) as plays
from songplays as p
inner join time as t on p.start_time = t.start_time
group by t.hour
order by t.hour
