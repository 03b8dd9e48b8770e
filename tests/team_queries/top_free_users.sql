-- The 5 users with the most plays on the free level, ties by user_id (Redshift TOP).
select top 5
    user_id,
    count(*) as free_plays
from songplays
where level = 'free'
group by user_id
order by free_plays desc, user_id
