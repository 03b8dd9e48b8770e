-- songplays: an incremental transform first removes the plays at or after the earliest instant a
-- change can reach (sparkify_scope_since); they come back, numbered after the kept ones, from
-- sparkify_scope_songplays.
delete from songplays
where @since(start_time)
