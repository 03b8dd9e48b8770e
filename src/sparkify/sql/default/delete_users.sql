-- users: an incremental transform first removes the users whose events changed this run; the
-- ones with events left come back from sparkify_scope_users.
delete from users
where user_id in (
    select cast(c.user_id as integer) from sparkify_changed_events as c where c.user_id <> ''
)
