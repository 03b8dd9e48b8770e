-- Plays per day of the week (0 = Sunday ... 6 = Saturday), days with no play left out.
-- order: ordered
select
    t.weekday,
    case t.weekday
        when 0 then 'Sunday'
        when 1 then 'Monday'
        when 2 then 'Tuesday'
        when 3 then 'Wednesday'
        when 4 then 'Thursday'
        when 5 then 'Friday'
        when 6 then 'Saturday'
    end as weekday_name,
    count(*) as plays
from songplays as p
inner join time as t on p.start_time = t.start_time
group by t.weekday
order by t.weekday
