-- The first and last play in Los Angeles local time (CONVERT_TIMEZONE from UTC).
select
    convert_timezone('America/Los_Angeles', min(start_time)) as first_play,
    convert_timezone('America/Los_Angeles', max(start_time)) as last_play
from songplays
