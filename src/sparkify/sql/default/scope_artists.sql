-- sparkify_scope_artists: every staged record of each artist_id whose records changed this run;
-- insert_artists.sql picks each such artist's row again from these.
create temp table sparkify_scope_artists as
select s.*
from staging_songs as s
where s.artist_id in (select c.artist_id from sparkify_changed_songs as c)
