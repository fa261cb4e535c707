{#
    Listening per listener, local weekday and hour over all of Silver. Incremental (MERGE on the cell key):
    a run recomputes the cells of the listeners with Silver rows built since its latest `built_at` and
    leaves the other listeners' cells as they are; a full refresh computes them all.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'day_of_week', 'hour_of_day'],
        on_schema_change='append_new_columns',
    )
}}

{%- set watermark = built_at_watermark() -%}
{#- The listeners with Silver rows built since the watermark; none on a full build (every listener). -#}
{%- set changed_listeners = none -%}
{%- if watermark is not none -%}
    {%- set changed_listeners = listeners_changed_since([
        (ref('listening_with_features'), 'built_at', watermark, 'played_at'),
    ]) -%}
{%- endif %}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

plays_to_count as (

    select * from plays
    where {{ listener_rows(changed_listeners) }}

),

final as (

    select
        user_id,
        day_of_week,
        hour_of_day,
        cast(sum(ms_played) / 60000 as double) as minutes_listened,
        count(*) as plays,
        avg(valence) as mean_valence,
        avg(energy) as mean_energy,
        try_divide(count(feature_source), count(*)) as feature_coverage_plays,
        try_divide(sum(case when feature_source is not null then ms_played else 0 end), sum(ms_played))
            as feature_coverage_minutes,
        {{ built_at() }} as built_at
    from plays_to_count
    group by user_id, day_of_week, hour_of_day

)

select * from final
