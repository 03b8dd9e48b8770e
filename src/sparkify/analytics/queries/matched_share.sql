-- The share of plays matched to a known song (song_id not null).
-- order: ordered
select
    count(*) as plays,
    count(song_id) as matched_plays,
    case when count(*) = 0 then null
        else cast(count(song_id) as double precision) / count(*) end as matched_share
from songplays
