@include(_songplays_insert)

logged_in_plays as (
@include(_songplays_logged_in)
),

plays as (
    select
        l.*,
        row_number() over (
            partition by l.user_id, l.session_id, l.item_in_session
            order by l.ts, l.level nulls last, l.song nulls last, l.artist nulls last,
                l.length nulls last, l.location nulls last, l.user_agent nulls last
        ) as delivery
    from logged_in_plays as l
),

@include(_songplays_song_match)

select
    row_number() over (
        order by p.ts, cast(p.user_id as integer), p.session_id, p.item_in_session
    ) + @id_offset(songplays) as songplay_id,
@include(_songplays_select)
where p.delivery = 1
