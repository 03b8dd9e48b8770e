@include(_songplays_insert)

-- (not materialized: each use below reads staging again, which costs less than DuckDB keeping
-- every play of 10M events in its buffers: 1.6 s against 8 s)
logged_in_plays as not materialized (
@include(_songplays_logged_in)
),

-- Each play's natural key once: how many deliveries it has and its songplay_id. The kept delivery
-- has the key's smallest ts, so the ids follow (smallest ts, user_id, session_id, item_in_session),
-- as in default/insert_songplays.sql. Numbering these narrow rows instead of the finished plays
-- keeps the text columns out of the one sort DuckDB cannot split (42 s of a 50 s songplays
-- statement at 10M events); ranking every play by its key and all its columns (as default/ does)
-- sorted 800k rows of text per million events, where nearly every key comes once. Same rows as
-- default/ (tests/test_star_vs_reference.py, tests/test_contract_rules.py). The keys are never null
-- (sessionId and itemInSession are required keys, user_id is filtered above), so = finds them.
-- DuckDB only (`not materialized`, `* exclude`). On PostgreSQL an earlier split of this kind (the
-- once-delivered plays passed through, ids still numbered over the finished plays) ran slower than
-- default/'s one ranking, 7-8.6 s against 4.3-5.0 s at 1M; this shape was not measured there.
play_keys as (
    select
        user_id,
        session_id,
        item_in_session,
        count(*) as deliveries,
        row_number() over (
            order by min(ts), user_id, session_id, item_in_session
        ) + @id_offset(songplays) as songplay_id
    from logged_in_plays
    group by user_id, session_id, item_in_session
),

plays as (
    select l.*, k.songplay_id
    from logged_in_plays as l
    inner join play_keys as k
        on l.user_id = k.user_id and l.session_id = k.session_id
            and l.item_in_session = k.item_in_session
    where k.deliveries = 1
    union all
    select repeated.* exclude (delivery)
    from (
        select
            l.*,
            k.songplay_id,
            row_number() over (
                partition by l.user_id, l.session_id, l.item_in_session
                order by l.ts, l.level nulls last, l.song nulls last, l.artist nulls last,
                    l.length nulls last, l.location nulls last, l.user_agent nulls last
            ) as delivery
        from logged_in_plays as l
        inner join play_keys as k
            on l.user_id = k.user_id and l.session_id = k.session_id
                and l.item_in_session = k.item_in_session
        where k.deliveries > 1
    ) as repeated
    where repeated.delivery = 1
),

@include(_songplays_song_match)

select
    p.songplay_id,
@include(_songplays_select)
