with

plays as (

    select * from {{ bronze_source('spotify', 'listening_history_bronze') }}

),

final as (

    select
        play_id,
        user_id,
        played_at,
        track_id,
        track_name,
        artist_name,
        album_name,
        ms_played,
        source,
        reason_start,
        reason_end,
        skipped,
        shuffle,
        track_resolution,
        media_type,
        loaded_at
    from plays
    where play_id is not null

)

select * from final
