-- Plays matched and unmatched to a known song, per level (DECODE with a NULL search, NVL, NVL2).
-- No order by: compared as a multiset.
select
    nvl(level, 'unknown') as level,
    sum(decode(song_id, null, 1, 0)) as unmatched,
    sum(nvl2(song_id, 1, 0)) as matched
from songplays
group by 1
