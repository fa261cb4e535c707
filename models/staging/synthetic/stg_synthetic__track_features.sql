with

generated as (

    select * from {{ bronze_source('synthetic', 'my_tracks_features_bronze_synthetic') }}

),

final as (

    select
        track_id,
        {{- stage_audio_features() }},
        generator_version
    from generated

)

select * from final
