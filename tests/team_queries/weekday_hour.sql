-- Plays per weekday (0 = Sunday) and hour of day: DATE_PART(dow) and EXTRACT, no order by.
select
    date_part(dow, start_time)::int as weekday,
    extract(hour from start_time)::int as hour,
    count(*) as plays
from songplays
group by 1, 2
