with

track_rows as (

    select * from {{ bronze_source('my_tracks_features_bronze') }}

),

final as (

    select
        track_id,
        track_name,
        artist_names,
        album_name,
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
        features_source
    from track_rows
    where features_source = 'spotify_api' and valence is not null and energy is not null

)

select * from final
