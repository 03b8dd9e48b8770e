-- sparkify_scope_songs: every staged record of each song_id whose records changed this run;
-- insert_songs.sql picks each such song's row again from these.
create temp table sparkify_scope_songs as
select s.*
from staging_songs as s
where s.song_id in (select c.song_id from sparkify_changed_songs as c)
