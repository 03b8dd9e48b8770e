-- Per day, the percentage of plays on the paid level, rounded down: integer division, as Redshift
-- computes it (DuckDB's / would give a fraction).
select
    start_time::date as day,
    sum(case when level = 'paid' then 1 else 0 end) * 100 / count(*) as paid_percent
from songplays
group by 1
order by 1
