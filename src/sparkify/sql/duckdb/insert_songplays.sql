-- songplays: one row per NextSong event of a logged-in user (non-empty user_id).
-- * The same event delivered twice is one play: the natural key is (user_id, session_id,
--   item_in_session); of duplicates the one with the smallest ts (then the other columns) is kept.
-- * A play matches a song when song = title and artist = artist_name and length = duration;
--   of several matching songs the smallest song_id wins; with no match song_id/artist_id are null.
--   Only songs the songs dimension holds match (song_id not null and not ''), so a play never
--   names a song_id that songs left out.
-- * songplay_id is numbered in (start_time, user_id, session_id, item_in_session) order, so a
--   re-run on the same input gives the same ids. (On Redshift the IDENTITY column numbers the plays
--   a merge inserts, unique but in no set order; kept plays keep their ids: redshift/merge.py.)
-- An incremental transform reads only the plays from its earliest change on (macro scoped) and
-- numbers them after the plays it kept (macro id_offset); a full build reads all of staging from 1.
insert into songplays (
    songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent
)
with

logged_in_plays as (
    select
        cast(e.user_id as integer) as user_id,
        e.session_id,
        e.item_in_session,
        e.ts,
        e.level,
        e.song,
        e.artist,
        e.length,
        e.location,
        e.user_agent
    from @scoped(staging_events, songplays) as e
    where e.page = 'NextSong' and e.user_id is not null and e.user_id <> ''
),

-- Of the plays that share a natural key, the first delivery. Ranking every play by its natural key
-- and all its columns sorts 800k rows of text per million events (1.7 s of CPU on DuckDB); only a
-- key delivered more than once needs it, and nearly all keys come once, so they pass straight
-- through. Same rows as default/insert_songplays.sql (tests/test_star_vs_reference.py). The keys
-- are never null (sessionId and itemInSession are required keys, user_id is filtered above), so
-- = finds every repeat. (PostgreSQL runs this shape slower -- 7-8.6 s against 4.3-5.0 s for 1M
-- events -- so default/ keeps the one ranking.)
repeated_keys as (
    select user_id, session_id, item_in_session
    from logged_in_plays
    group by user_id, session_id, item_in_session
    having count(*) > 1
),

plays as (
    select l.*, 1 as delivery
    from logged_in_plays as l
    where not exists (
        select 1 from repeated_keys as r
        where r.user_id = l.user_id and r.session_id = l.session_id
            and r.item_in_session = l.item_in_session
    )
    union all
    select
        l.*,
        row_number() over (
            partition by l.user_id, l.session_id, l.item_in_session
            order by l.ts, l.level nulls last, l.song nulls last, l.artist nulls last,
                l.length nulls last, l.location nulls last, l.user_agent nulls last
        ) as delivery
    from logged_in_plays as l
    where exists (
        select 1 from repeated_keys as r
        where r.user_id = l.user_id and r.session_id = l.session_id
            and r.item_in_session = l.item_in_session
    )
),

song_match as (
    -- the song a (title, artist name, duration) names: of several, the smallest song_id. A play's
    -- match depends only on those three values, so they are matched once each, not once per play.
    select
        s.title,
        s.artist_name,
        s.duration,
        min(s.song_id) as song_id
    from staging_songs as s
    where s.song_id is not null and s.song_id <> ''
    group by s.title, s.artist_name, s.duration
),

song_artist as (
    -- one artist per song_id: the one the songs dimension shows
    select song_id, artist_id from songs
)

select
    row_number() over (
        order by p.ts, cast(p.user_id as integer), p.session_id, p.item_in_session
    ) + @id_offset(songplays) as songplay_id,
    @ts_to_timestamp(p.ts) as start_time,
    p.user_id,
    p.level,
    m.song_id,
    sa.artist_id,
    p.session_id,
    p.location,
    p.user_agent
from plays as p
left join song_match as m
    on p.song = m.title and p.artist = m.artist_name and p.length = m.duration
left join song_artist as sa on m.song_id = sa.song_id
where p.delivery = 1
