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

-- (not materialized: each use below reads staging again, which costs less than DuckDB keeping
-- every play of 10M events in its buffers: 1.6 s against 8 s)
logged_in_plays as not materialized (
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

-- Each play's natural key once: how many deliveries it has and its songplay_id. The kept delivery
-- has the key's smallest ts, so the ids follow (smallest ts, user_id, session_id, item_in_session),
-- as in default/insert_songplays.sql. Numbering these narrow rows instead of the finished plays
-- keeps the text columns out of the one sort DuckDB cannot split (42 s of a 50 s songplays
-- statement at 10M events); ranking every play by its key and all its columns (as default/ does)
-- sorted 800k rows of text per million events, where nearly every key comes once. Same rows as
-- default/ (tests/test_star_vs_reference.py, tests/test_contract_rules.py). The keys are never null
-- (sessionId and itemInSession are required keys, user_id is filtered above), so = finds them.
-- DuckDB only (`not materialized`, `* exclude`). On PostgreSQL an earlier split of this kind (the
-- once-delivered plays passed through, ids still numbered over the finished plays) ran slower than
-- default/'s one ranking, 7-8.6 s against 4.3-5.0 s at 1M; this shape was not measured there.
play_keys as (
    select
        user_id,
        session_id,
        item_in_session,
        count(*) as deliveries,
        row_number() over (
            order by min(ts), user_id, session_id, item_in_session
        ) + @id_offset(songplays) as songplay_id
    from logged_in_plays
    group by user_id, session_id, item_in_session
),

plays as (
    select l.*, k.songplay_id
    from logged_in_plays as l
    inner join play_keys as k
        on l.user_id = k.user_id and l.session_id = k.session_id
            and l.item_in_session = k.item_in_session
    where k.deliveries = 1
    union all
    select repeated.* exclude (delivery)
    from (
        select
            l.*,
            k.songplay_id,
            row_number() over (
                partition by l.user_id, l.session_id, l.item_in_session
                order by l.ts, l.level nulls last, l.song nulls last, l.artist nulls last,
                    l.length nulls last, l.location nulls last, l.user_agent nulls last
            ) as delivery
        from logged_in_plays as l
        inner join play_keys as k
            on l.user_id = k.user_id and l.session_id = k.session_id
                and l.item_in_session = k.item_in_session
        where k.deliveries > 1
    ) as repeated
    where repeated.delivery = 1
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
    p.songplay_id,
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
