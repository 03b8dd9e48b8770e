-- (part of insert_songplays.sql: the select of logged_in_plays, every NextSong event of a
-- logged-in user with the columns a play keeps)

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
