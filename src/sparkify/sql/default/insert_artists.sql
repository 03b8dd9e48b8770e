-- artists: one row per distinct artist_id. One artist_id can come with different details: take the
-- most complete record (coordinates present first, then a non-empty location), ties broken by the
-- smallest song_id, then name, location, latitude, longitude (nulls last): records that tie on
-- everything before -- one song file delivered twice with its place corrected, or copied under
-- another name -- still give one answer on every engine and after any order of loads. An empty
-- location becomes null; a coordinate of -0.0 becomes 0.0 (SQL compares the two as equal, so records
-- differing only in that sign tie, and which one a tie keeps must never show).
insert into artists (artist_id, name, location, latitude, longitude)
with

ranked as (
    select
        s.artist_id,
        s.artist_name as name,
        case when s.artist_location = '' then null else s.artist_location end as location,
        case when s.artist_latitude = 0 then 0.0 else s.artist_latitude end as latitude,
        case when s.artist_longitude = 0 then 0.0 else s.artist_longitude end as longitude,
        row_number() over (
            partition by s.artist_id
            order by
                case when s.artist_latitude is not null and s.artist_longitude is not null
                    then 0 else 1 end,
                case when s.artist_location is not null and s.artist_location <> ''
                    then 0 else 1 end,
                s.song_id nulls last,
                s.artist_name nulls last,
                case when s.artist_location = '' then null else s.artist_location end nulls last,
                s.artist_latitude nulls last,
                s.artist_longitude nulls last
        ) as pick
    from @scoped(staging_songs, artists) as s
    where s.artist_id is not null and s.artist_id <> ''
)

select artist_id, name, location, latitude, longitude
from ranked
where pick = 1
