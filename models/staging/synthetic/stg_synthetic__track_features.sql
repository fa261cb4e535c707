with

generated as (

    select * from {{ bronze_source('my_tracks_features_bronze_synthetic') }}

),

final as (

    select
        track_id,
        danceability,
        energy,
        key as musical_key,
        loudness,
        mode as musical_mode,
        speechiness,
        acousticness,
        instrumentalness,
        liveness,
        valence,
        tempo,
        time_signature,
        generator_version
    from generated

)

select * from final
