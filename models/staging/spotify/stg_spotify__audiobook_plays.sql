with

audiobook_plays as (

    select * from {{ bronze_source('spotify', 'audiobook_history_bronze') }}

),

final as (

    select
        play_id,
        user_id,
        played_at,
        audiobook_title,
        chapter_title,
        author_name,
        ms_played,
        source,
        skipped,
        loaded_at
    from audiobook_plays
    where play_id is not null

)

select * from final
