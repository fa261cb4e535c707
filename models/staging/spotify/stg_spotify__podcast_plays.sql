with

podcast_plays as (

    select * from {{ bronze_source('spotify', 'podcast_history_bronze') }}

),

final as (

    select
        play_id,
        user_id,
        played_at,
        show_name,
        episode_name,
        episode_uri,
        ms_played,
        source,
        skipped,
        media_type,
        loaded_at
    from podcast_plays
    where play_id is not null

)

select * from final
