{#
    The diurnal rhythm hour by hour: per listener, calendar month and calendar year, local hour and day type (all
    days, weekdays, weekends), the listening time and its valence and energy weighted by listening time over the
    plays with measured audio features; null where too little listening or too few measured features stand behind
    a cell (`rhythm_figure`). No weeks: a week's hour of weekend listening rests on too little to be read.

    Incremental (MERGE on the cell key): a run recomputes, per listener with Silver rows built since its latest
    `built_at`, the cells of the year holding the day before the earliest of those rows' days (a play merged away
    lies just before the play it joined) and of every later year (a cell's figures rest on its own period's plays
    alone), and leaves the other cells as they are; a full refresh computes them all.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'period_type', 'period_start', 'day_type', 'hour_of_day'],
        on_schema_change='append_new_columns',
    )
}}

{%- set first_years = rhythm_years_to_recompute([
    (ref('listening_with_features'), 'date_sub(played_date_local, 1)'),
]) %}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

weighted_plays as (

    select
        user_id,
        played_date_local,
        hour_of_day,
        part_of_day,
        is_weekend,
        ms_played as ms,
        {{ measured_time() }} as measured_ms,
        {{ measured_time('valence') }} as valence_ms,
        {{ measured_time('energy') }} as energy_ms
    from plays
    where {{ listener_rows(first_years, since_column='played_date_local', since_type='date') }}

),

day_hours as (

    select
        user_id,
        played_date_local,
        hour_of_day,
        part_of_day,
        is_weekend,
        count(*) as plays,
        sum(ms) as ms,
        sum(measured_ms) as measured_ms,
        sum(valence_ms) as valence_ms,
        sum(energy_ms) as energy_ms
    from weighted_plays
    group by user_id, played_date_local, hour_of_day, part_of_day, is_weekend

),

day_hour_periods as (

    select
        *,
        {{ rhythm_periods('played_date_local', ['month', 'year']) }}
    from day_hours

),

day_hour_cells as (

    -- each day's hours count for all days and for the day's own type
    select
        *,
        explode(array('all', case when is_weekend then 'weekend' else 'weekday' end)) as day_type
    from day_hour_periods

),

cells as (

    select
        user_id,
        period_type,
        period_start,
        day_type,
        hour_of_day,
        part_of_day,
        -- one row per day here (day_hours is per day and hour; the hour fixes the part of the day, the day its
        -- type), so rows count days without a distinct aggregate, which would make Spark expand every row
        count(*) as days_listened,
        sum(plays) as plays,
        sum(ms) as ms,
        sum(measured_ms) as measured_ms,
        sum(valence_ms) as valence_ms,
        sum(energy_ms) as energy_ms
    from day_hour_cells
    group by user_id, period_type, period_start, day_type, hour_of_day, part_of_day

),

final as (

    select
        user_id,
        period_type,
        period_start,
        day_type,
        hour_of_day,
        part_of_day,
        days_listened,
        plays,
        cast(ms / 60000 as double) as minutes_listened,
        try_divide(measured_ms, ms) as measured_share,
        {{ rhythm_figure('valence_ms', 'measured_ms', 'ms', 'measured_ms') }} as valence,
        {{ rhythm_figure('energy_ms', 'measured_ms', 'ms', 'measured_ms') }} as energy,
        {{ built_at() }} as built_at
    from cells

)

select * from final
