-- The 10 most played artists (plays matched to a known song), ties by artist_id.
-- order: ordered
with

plays as (
    select artist_id, count(*) as plays
    from songplays
    where artist_id is not null
    group by artist_id
)

select
    p.artist_id,
    a.name as artist_name,
    p.plays
from plays as p
left join artists as a on p.artist_id = a.artist_id
order by p.plays desc, p.artist_id
limit 10
