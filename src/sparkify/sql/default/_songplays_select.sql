-- (part of insert_songplays.sql: after the songplay_id, each play's columns and its song match, to
-- the end of the from clause; the plays are p, one row per natural key)

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
