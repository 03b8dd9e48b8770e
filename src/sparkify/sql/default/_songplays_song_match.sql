-- (part of insert_songplays.sql: the song_match and song_artist CTEs, the last of its with list)

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
