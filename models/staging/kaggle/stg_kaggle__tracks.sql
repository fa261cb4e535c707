with

catalog_rows as (

    select * from {{ source('kaggle', 'kaggle_tracks_bronze') }}

),

ranked as (

    select
        *,
        row_number() over (partition by track_id order by catalog_row_id) as genre_rank,
        collect_set(track_genre) over (partition by track_id) as track_genres
    from catalog_rows

),

final as (

    select
        track_id,
        track_name,
        artists as artist_names,
        album_name,
        track_genre as primary_genre,
        array_sort(track_genres) as track_genres,
        popularity,
        duration_ms,
        explicit as is_explicit,
        {{- stage_audio_features() }},
        catalog_source,
        loaded_at
    from ranked
    where genre_rank = 1

)

select * from final
