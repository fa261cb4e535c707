with

track_rows as (

    select * from {{ bronze_source('spotify', 'my_tracks_features_bronze') }}

),

final as (

    select
        track_id,
        track_name,
        artist_names,
        album_name,
        {{- stage_audio_features() }},
        features_source
    from track_rows
    where features_source = 'spotify_api' and valence is not null and energy is not null

)

select * from final
