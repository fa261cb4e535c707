with

period_plays as (

    select * from {{ ref('int_listening__plays_by_period') }}

),

aggregated as (

    select
        user_id,
        period_type,
        period_start,
        sum(ms_played) / 60000 as minutes_listened,
        count(*) as plays,
        sum(valence * ms_played) / sum(case when valence is not null then ms_played end) as valence_weighted,
        sum(energy * ms_played) / sum(case when energy is not null then ms_played end) as energy_weighted,
        stddev_samp(valence) as mood_variability,
        avg(case when is_late_night then 1 else 0 end) as late_night_share,
        avg(case when is_repeat then 1 else 0 end) as repeat_share,
        avg(case when skipped then 1 when not skipped then 0 end) as skip_rate,
        avg(case when feature_source = 'spotify_api' then 1 else 0 end) as share_features_real,
        avg(case when feature_source = 'kaggle' then 1 else 0 end) as share_features_kaggle,
        avg(case when feature_source = 'synthetic' then 1 else 0 end) as share_features_synthetic,
        avg(case when feature_source is null then 1 else 0 end) as share_no_features
    from period_plays
    group by user_id, period_type, period_start

),

final as (

    select
        user_id,
        period_type,
        period_start,
        cast(minutes_listened as double) as minutes_listened,
        plays,
        cast(valence_weighted as double) as valence_weighted,
        cast(energy_weighted as double) as energy_weighted,
        cast(mood_variability as double) as mood_variability,
        cast(late_night_share as double) as late_night_share,
        cast(repeat_share as double) as repeat_share,
        cast(skip_rate as double) as skip_rate,
        cast(share_features_real as double) as share_features_real,
        cast(share_features_kaggle as double) as share_features_kaggle,
        cast(share_features_synthetic as double) as share_features_synthetic,
        cast(share_no_features as double) as share_no_features
    from aggregated

)

select * from final
