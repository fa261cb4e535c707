{#
    Each listener's days and weeks (weeks start on Monday), from the per-track day sums of
    int_listening__track_days: a week adds up its days per track, so a track's plays in the week beyond
    its first are the week's repeats. mood_variability is the sample standard deviation of the plays'
    valence, from their count, sum and sum of squares.
#}

{%- set additive = [
    'plays', 'ms_played', 'valence_ms', 'valence_known_ms', 'energy_ms', 'energy_known_ms', 'valence_plays',
    'valence_sum', 'valence_squares', 'late_night_plays', 'skip_known_plays', 'skipped_plays',
    'real_feature_plays', 'kaggle_feature_plays', 'synthetic_feature_plays', 'no_feature_plays',
] -%}
{%- set summed = [] -%}
{%- for column in additive -%}
    {%- do summed.append('sum(' ~ column ~ ') as ' ~ column) -%}
{%- endfor %}

with

track_days as (

    select * from {{ ref('int_listening__track_days') }}

),

track_periods as (

    select
        user_id,
        'day' as period_type,
        played_date_local as period_start,
        track_id,
        {{ additive | join(",\n        ") }}
    from track_days

    union all

    select
        user_id,
        'week' as period_type,
        cast(date_trunc('week', played_date_local) as date) as period_start,
        track_id,
        {{ summed | join(",\n        ") }}
    from track_days
    group by user_id, cast(date_trunc('week', played_date_local) as date), track_id

),

aggregated as (

    select
        user_id,
        period_type,
        period_start,
        sum(case when track_id is not null then plays - 1 else 0 end) as repeat_plays,
        {{ summed | join(",\n        ") }}
    from track_periods
    group by user_id, period_type, period_start

),

with_variance as (

    select
        *,
        case
            when valence_plays > 1
                then greatest(valence_squares - valence_sum * valence_sum / valence_plays, 0) / (valence_plays - 1)
        end as valence_variance
    from aggregated

),

final as (

    select
        user_id,
        period_type,
        period_start,
        cast(ms_played / 60000 as double) as minutes_listened,
        plays,
        cast(valence_ms / valence_known_ms as double) as valence_weighted,
        cast(energy_ms / energy_known_ms as double) as energy_weighted,
        sqrt(valence_variance) as mood_variability,
        late_night_plays / plays as late_night_share,
        repeat_plays / plays as repeat_share,
        skipped_plays / nullif(skip_known_plays, 0) as skip_rate,
        real_feature_plays / plays as share_features_real,
        kaggle_feature_plays / plays as share_features_kaggle,
        synthetic_feature_plays / plays as share_features_synthetic,
        no_feature_plays / plays as share_no_features
    from with_variance

)

select * from final
