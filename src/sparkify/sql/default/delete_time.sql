-- time: an incremental transform first removes the instants at or after sparkify_scope_since; those
-- of the plays there come back from sparkify_scope_time.
delete from time
where @since(start_time)
