-- sparkify_scope_users: the staged events an incremental transform ranks to find the latest event
-- of each user whose events changed (rows added, or removed with their file). For such a user the
-- latest event is at or after the earliest changed one, if any event is left there; otherwise
-- (their newest events removed) all their events are ranked again.
create temp table sparkify_scope_users as
with

changed as (
    select cast(c.user_id as integer) as user_id, min(c.ts) as since
    from sparkify_changed_events as c
    where c.user_id <> ''
    group by cast(c.user_id as integer)
),

recent as (
    select e.*
    from staging_events as e
    inner join changed as c on cast(nullif(e.user_id, '') as integer) = c.user_id
    where e.ts >= c.since
),

emptied as (
    select c.user_id
    from changed as c
    where c.user_id not in (select cast(r.user_id as integer) from recent as r)
)

select * from recent
union all
select e.*
from staging_events as e
where cast(nullif(e.user_id, '') as integer) in (select user_id from emptied)
