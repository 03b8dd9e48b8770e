-- The 10 sessions spanning the most minute boundaries between first and last play (Redshift
-- DATEDIFF counts boundaries crossed), ties by session_id then user_id.
select
    session_id,
    user_id,
    datediff(minute, min(start_time), max(start_time)) as minutes
from songplays
group by session_id, user_id
order by minutes desc, session_id, user_id
limit 10
