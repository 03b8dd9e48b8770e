-- Artists whose name holds the word "the", any case (ILIKE), with the length of the name (LEN).
select
    artist_id,
    name,
    len(name) as name_length
from artists
where name ilike '%the %'
order by name_length desc, artist_id
limit 10
