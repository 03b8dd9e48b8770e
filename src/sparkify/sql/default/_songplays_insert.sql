-- (part of insert_songplays.sql: its header and target, shared by every engine's file)

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
