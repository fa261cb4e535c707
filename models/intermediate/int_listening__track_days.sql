{#
    Silver's plays summed per listener, local day and track: the additive pieces the wellbeing figures of a
    day or a week are made of (sums, counts, sums of squares). A track's plays in a period beyond its first
    are repeats, so the repeat share needs no per-play window, and a week adds up its days' rows.
#}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

final as (

    select
        user_id,
        played_date_local,
        track_id,
        count(*) as plays,
        sum(ms_played) as ms_played,
        sum(valence * ms_played) as valence_ms,
        sum(case when valence is not null then ms_played end) as valence_known_ms,
        sum(energy * ms_played) as energy_ms,
        sum(case when energy is not null then ms_played end) as energy_known_ms,
        count(valence) as valence_plays,
        sum(valence) as valence_sum,
        sum(valence * valence) as valence_squares,
        count_if(is_late_night) as late_night_plays,
        count(skipped) as skip_known_plays,
        count_if(skipped) as skipped_plays,
        count_if(feature_source = 'spotify_api') as real_feature_plays,
        count_if(feature_source = 'kaggle') as kaggle_feature_plays,
        count_if(feature_source = 'synthetic') as synthetic_feature_plays,
        count_if(feature_source is null) as no_feature_plays
    from plays
    group by user_id, played_date_local, track_id

)

select * from final
