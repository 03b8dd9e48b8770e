-- Rows in each star table.
-- order: ordered
with

counts as (
    select 1 as position, 'songplays' as table_name, count(*) as row_count from songplays
    union all
    select 2 as position, 'users' as table_name, count(*) as row_count from users
    union all
    select 3 as position, 'songs' as table_name, count(*) as row_count from songs
    union all
    select 4 as position, 'artists' as table_name, count(*) as row_count from artists
    union all
    select 5 as position, 'time' as table_name, count(*) as row_count from time
)

select table_name, row_count
from counts
order by position
