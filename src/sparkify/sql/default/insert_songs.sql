-- songs: one row per distinct non-empty song_id; year is null where the source says 0, artist_id
-- where the source says "" (an empty id is as missing as null: artists leaves it out too).
-- If a song_id comes more than once, the record with the smallest (title, artist_id, duration, year)
-- is kept, so the pick is deterministic. A duration of -0.0 is stored as 0.0: SQL compares the two as
-- equal, so records differing only in that sign tie, and which one a tie keeps must never show.
insert into songs (song_id, title, artist_id, year, duration)
with

ranked as (
    select
        s.song_id,
        s.title,
        case when s.artist_id = '' then null else s.artist_id end as artist_id,
        case when s.year = 0 then null else s.year end as year,
        case when s.duration = 0 then 0.0 else s.duration end as duration,
        row_number() over (
            partition by s.song_id
            order by s.title nulls last,
                case when s.artist_id = '' then null else s.artist_id end nulls last,
                s.duration nulls last,
                s.year nulls last
        ) as pick
    from @scoped(staging_songs, songs) as s
    where s.song_id is not null and s.song_id <> ''
)

select song_id, title, artist_id, year, duration
from ranked
where pick = 1
