-- sparkify_scope_since: the earliest start_time an incremental transform can change (one row; null
-- when nothing can). Plays before it, and their time rows, stay as they are. It is the earliest of:
-- * a play event (NextSong, logged in) this run added or removed (sparkify_changed_events);
-- * a staged play whose (song, artist, length) equals a song record added or removed: its match
--   can change;
-- * a play matched to a song_id whose records changed: its artist_id can change.
create temp table sparkify_scope_since as
with

changed_plays as (
    select @ts_to_timestamp(c.ts) as start_time
    from sparkify_changed_events as c
    where c.page = 'NextSong' and c.user_id <> ''
),

rematched_plays as (
    select @ts_to_timestamp(e.ts) as start_time
    from staging_events as e
    inner join sparkify_changed_songs as s
        on e.song = s.title and e.artist = s.artist_name and e.length = s.duration
    where e.page = 'NextSong' and e.user_id <> ''
),

changed_song_plays as (
    select p.start_time
    from songplays as p
    where p.song_id in (select song_id from sparkify_changed_songs)
)

select min(start_time) as start_time
from (
    select start_time from changed_plays
    union all
    select start_time from rematched_plays
    union all
    select start_time from changed_song_plays
) as candidates
