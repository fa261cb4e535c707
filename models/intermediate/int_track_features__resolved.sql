{#
    One row per track id with the audio features of the most preferred source that has them.
    Order: var('feature_source_priority'); sources not listed are never used. Synthetic features are
    left out entirely when var('allow_synthetic') (env ALLOW_SYNTHETIC) is false.
#}
{%- set priority = "'" ~ var('feature_source_priority') | join("', '") ~ "'" -%}
{%- set allow_synthetic_setting = var('allow_synthetic') | string | trim | lower -%}
{%- set allow_synthetic = allow_synthetic_setting not in ['false', '0', 'no', 'off', 'f', 'n'] -%}

with

real_features as (

    select * from {{ ref('stg_spotify__track_features') }}

),

catalog_tracks as (

    select * from {{ ref('stg_kaggle__tracks') }}

),

synthetic_features as (

    select * from {{ ref('stg_synthetic__track_features') }}

),

candidates as (

    select
        track_id,
        'spotify_api' as feature_source,
        danceability,
        energy,
        valence,
        acousticness,
        instrumentalness,
        speechiness,
        liveness,
        loudness,
        tempo,
        musical_key,
        musical_mode,
        time_signature
    from real_features

    union all

    select
        track_id,
        'kaggle' as feature_source,
        danceability,
        energy,
        valence,
        acousticness,
        instrumentalness,
        speechiness,
        liveness,
        loudness,
        tempo,
        musical_key,
        musical_mode,
        time_signature
    from catalog_tracks

    {%- if allow_synthetic %}

        union all

        select
            track_id,
            'synthetic' as feature_source,
            danceability,
            energy,
            valence,
            acousticness,
            instrumentalness,
            speechiness,
            liveness,
            loudness,
            tempo,
            musical_key,
            musical_mode,
            time_signature
        from synthetic_features
    {%- endif %}

),

ranked as (

    select
        *,
        array_position(
            array({{ priority }}),
            feature_source
        ) as priority_rank
    from candidates
    where track_id is not null

),

chosen as (

    select
        *,
        row_number() over (partition by track_id order by priority_rank) as choice
    from ranked
    where priority_rank > 0

),

final as (

    select
        track_id,
        feature_source,
        danceability,
        energy,
        valence,
        acousticness,
        instrumentalness,
        speechiness,
        liveness,
        loudness,
        tempo,
        musical_key,
        musical_mode,
        time_signature
    from chosen
    where choice = 1

)

select * from final
