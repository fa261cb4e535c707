{#
    Each listener's days and weeks (weeks start on Monday). The plays are first summed per listener, local
    day and track: a week adds those day rows up per track, so a track's plays in the week beyond its first
    are the week's repeats, and mood_variability, the sample standard deviation of the plays' valence, comes
    from their count, sum and sum of squares.

    Incremental (MERGE on the period key): a run recomputes, per listener with Silver rows built since its
    latest `built_at`, every day and week from the earliest week those rows fall in, and leaves the other
    periods as they are; a full refresh computes them all. Silver only adds and rewrites plays, so a period
    never loses its row.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'period_type', 'period_start'],
        on_schema_change='append_new_columns',
    )
}}

{%- set additive = [
    'plays', 'ms_played', 'valence_ms', 'valence_known_ms', 'energy_ms', 'energy_known_ms', 'valence_plays',
    'valence_sum', 'valence_squares', 'late_night_plays', 'skip_known_plays', 'skipped_plays',
    'real_feature_plays', 'kaggle_feature_plays', 'synthetic_feature_plays', 'no_feature_plays',
] -%}
{%- set summed = [] -%}
{%- for column in additive -%}
    {%- do summed.append('sum(' ~ column ~ ') as ' ~ column) -%}
{%- endfor -%}
{%- set watermark = built_at_watermark() -%}
{#- Per listener with newly built plays, the Monday of the earliest week they fall in (a sample when linting). -#}
{%- set first_changed_weeks = [('a-listener', '2026-01-05')] if var('sqlfluff_lint', false) else [] -%}
{%- if watermark is not none -%}
    {%- set first_changed_weeks = listeners_built_since(
        ref('listening_with_features'), watermark, "cast(date_trunc('week', played_date_local) as date)"
    ) -%}
{%- endif %}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

{% if watermark is not none or var('sqlfluff_lint', false) %}

    plays_to_sum as (

        select * from plays
        where
            false
            {%- for user_id, week_start in first_changed_weeks %}
                or (user_id = {{ sql_string(user_id) }} and played_date_local >= date {{ sql_string(week_start) }})
            {%- endfor %}

    ),

{% else %}

    plays_to_sum as (

        select * from plays

    ),

{% endif %}

track_days as (

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
    from plays_to_sum
    group by user_id, played_date_local, track_id

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
        no_feature_plays / plays as share_no_features,
        {{ built_at() }} as built_at
    from with_variance

)

select * from final
