-- The 10 most played songs (plays matched to a known song), ties by song_id.
-- order: ordered
with

plays as (
    select song_id, count(*) as plays
    from songplays
    where song_id is not null
    group by song_id
)

select
    p.song_id,
    s.title,
    a.name as artist_name,
    p.plays
from plays as p
inner join songs as s on p.song_id = s.song_id
left join artists as a on s.artist_id = a.artist_id
order by p.plays desc, p.song_id
limit 10
