-- songs: an incremental transform first removes the songs whose records changed this run; the
-- ones with records left come back from sparkify_scope_songs.
delete from songs
where song_id in (select c.song_id from sparkify_changed_songs as c)
