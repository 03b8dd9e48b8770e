-- The 10 locations with the most plays (plays with a location), ties by location.
-- order: ordered
select top 10
    location,
    count(*) as plays
from songplays
where location is not null
group by location
order by plays desc, location
