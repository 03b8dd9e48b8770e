-- Plays per calendar month (UTC), as YYYY-MM text (Redshift TO_CHAR).
select
    to_char(start_time, 'YYYY-MM') as month,
    count(*) as plays
from songplays
group by 1
order by 1
