-- sparkify_scope_time: the plays at or after sparkify_scope_since, whose instants insert_time.sql
-- adds again (the time rows before it belong to plays that did not change).
create temp table sparkify_scope_time as
select p.start_time
from songplays as p
where @since(p.start_time)
