-- Plays in the 7 days up to the last play (Redshift DATEADD and a :: cast).
select count(*)::bigint as plays
from songplays
where start_time > dateadd(day, -7, (select max(start_time) from songplays))
