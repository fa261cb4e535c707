{#
    Listening per listener, local weekday and hour over all of Silver. Incremental (MERGE on the cell key):
    a run recomputes the cells of the listeners with Silver rows built since its latest `built_at` and
    leaves the other listeners' cells as they are; a full refresh computes them all. A recomputed listener's
    cell left without plays (a play merged into another, a changed timezone) is emitted with no `built_at`,
    which the MERGE takes as a deletion (`merge_delete_if_null`).
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'day_of_week', 'hour_of_day'],
        merge_delete_if_null='built_at',
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
{%- endif -%}
{#- The built cells a run replaces: the changed listeners' (every one, when unknown); none on a full build. -#}
{%- set rows_to_replace = 'false' -%}
{%- if is_incremental() -%}
    {%- set rows_to_replace = listener_rows(changed_listeners, user_column='built.user_id') -%}
{%- endif %}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

plays_to_count as (

    select * from plays
    where {{ listener_rows(changed_listeners) }}

),

cells as (

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

),

{# The recomputed listeners' cells that no longer have plays: the MERGE deletes them (none on a full build;
    every column of `cells` but the key null: a column added there and not here fails the build). #}
emptied_cells as (

    select
        built.user_id,
        built.day_of_week,
        built.hour_of_day
    from {{ this if is_incremental() else 'cells' }} as built
    where
        ({{ rows_to_replace }})
        and not exists (
            select 1 from cells
            where
                cells.user_id = built.user_id
                and cells.day_of_week = built.day_of_week
                and cells.hour_of_day = built.hour_of_day
        )

),

deletions as (

    select
        user_id,
        day_of_week,
        hour_of_day,
        null as minutes_listened,
        null as plays,
        null as mean_valence,
        null as mean_energy,
        null as feature_coverage_plays,
        null as feature_coverage_minutes,
        null as built_at
    from emptied_cells

),

final as (

    select * from cells

    union all

    select * from deletions

)

select * from final
