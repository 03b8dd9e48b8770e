-- artists: an incremental transform first removes the artists whose records changed this run; the
-- ones with records left come back from sparkify_scope_artists.
delete from artists
where artist_id in (select c.artist_id from sparkify_changed_songs as c)
