-- time: one row per distinct songplays.start_time, broken into calendar parts (UTC).
-- week is the ISO-8601 week (1-53); weekday is 0 = Sunday ... 6 = Saturday, as Redshift's DOW.
insert into time (start_time, hour, day, week, month, year, weekday)
with

instants as (
    select distinct start_time from @scoped(songplays, time)
)

select
    start_time,
    cast(extract(hour from start_time) as integer) as hour,
    cast(extract(day from start_time) as integer) as day,
    cast(extract(week from start_time) as integer) as week,
    cast(extract(month from start_time) as integer) as month,
    cast(extract(year from start_time) as integer) as year,
    cast(extract(dow from start_time) as integer) as weekday
from instants
