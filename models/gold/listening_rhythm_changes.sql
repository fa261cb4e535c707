{#
    Each listening-rhythm indicator of a period against the listener's previous period and against their own
    baseline: one row per listener, period and indicator (`var('rhythm_indicators')`). The previous period is the
    calendar one before (the week 7 days earlier, the month or year before), whether or not the listener listened
    then. The baseline is the listener's weekly values over the `var('rhythm_baseline_weeks')` whole weeks before
    the week the period starts in; a year has no z-score (eight weeks say nothing of a year).

    Incremental (MERGE on the row key): a run recomputes, per listener with listening_rhythms rows built since its
    latest `built_at`, every row of a period from the earliest of those rows' periods on (a period's row reads the
    period before it and the weeks of its baseline, so a changed period changes only later ones). It reads the
    rhythms from a year before that (the year before, the weeks of a baseline). A full refresh computes them all.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'period_type', 'period_start', 'indicator'],
        on_schema_change='append_new_columns',
    )
}}

{%- set indicators = var('rhythm_indicators') | map(attribute='name') | list -%}
{%- set baseline_week_count = var('rhythm_baseline_weeks') | int -%}
{%- set recompute_from = rhythm_starts_to_recompute([(ref('listening_rhythms'), 'period_start')]) -%}
{#- A year's previous period is 12 months back; a baseline's weeks end before the week the period starts in. -#}
{%- set read_from = days_before(recompute_from, [366, 7 * (baseline_week_count + 1)] | max) %}

with

rhythms as (

    select * from {{ ref('listening_rhythms') }}

),

indicator_values as (

    select
        user_id,
        period_type,
        period_start,
        stack(
            {{ indicators | length }},
            {%- for indicator in indicators %}
                '{{ indicator }}', cast({{ indicator }} as double){{ "," if not loop.last }}
            {%- endfor %}
        ) as (indicator, value)
    from rhythms
    where {{ listener_rows(read_from, since_column='period_start', since_type='date') }}

),

with_previous as (

    select
        indicator_values.*,
        previous.value as previous_value
    from indicator_values
    left join indicator_values as previous
        on
            indicator_values.user_id = previous.user_id
            and indicator_values.period_type = previous.period_type
            and indicator_values.indicator = previous.indicator
            and previous.period_start = case indicator_values.period_type
                when 'week' then date_sub(indicator_values.period_start, 7)
                when 'month' then add_months(indicator_values.period_start, -1)
                else add_months(indicator_values.period_start, -12)
            end

),

baseline_weeks as (

    select
        user_id,
        period_start as week_start,
        indicator,
        value
    from indicator_values
    where period_type = 'week' and value is not null

),

baseline_slots as (

    -- each row beside the weeks of its baseline, one row per week (a year: one row with none), for an equality
    -- join on the week below instead of a range join that compares each row with every week of its listener
    select
        *,
        explode_outer(
            case
                when period_type != 'year'
                    then transform(
                            sequence(1, {{ baseline_week_count }}),
                            weeks_back -> date_sub(cast(date_trunc('week', period_start) as date), 7 * weeks_back)
                        )
            end
        ) as baseline_week_start
    from with_previous

),

with_baseline as (

    select
        baseline_slots.user_id,
        baseline_slots.period_type,
        baseline_slots.period_start,
        baseline_slots.indicator,
        baseline_slots.value,
        baseline_slots.previous_value,
        count(baseline_weeks.value) as baseline_periods,
        sum(baseline_weeks.value) as baseline_sum,
        sum(baseline_weeks.value * baseline_weeks.value) as baseline_squares
    from baseline_slots
    left join baseline_weeks
        on
            baseline_slots.user_id = baseline_weeks.user_id
            and baseline_slots.indicator = baseline_weeks.indicator
            and baseline_slots.baseline_week_start = baseline_weeks.week_start
    group by
        baseline_slots.user_id,
        baseline_slots.period_type,
        baseline_slots.period_start,
        baseline_slots.indicator,
        baseline_slots.value,
        baseline_slots.previous_value

),

with_spread as (

    select
        *,
        try_divide(baseline_sum, baseline_periods) as baseline_mean,
        {{ sample_sd('baseline_periods', 'baseline_sum', 'baseline_squares') }} as baseline_sd
    from with_baseline

),

final as (

    select
        user_id,
        period_type,
        period_start,
        indicator,
        value,
        previous_value,
        value - previous_value as change_from_previous,
        baseline_periods,
        baseline_mean,
        baseline_sd,
        case
            when baseline_periods >= {{ var('rhythm_baseline_min_periods') | int }} and baseline_sd > 0
                then try_divide(value - baseline_mean, baseline_sd)
        end as z_score,
        {{ built_at() }} as built_at
    from with_spread
    where {{ listener_rows(recompute_from, since_column='period_start', since_type='date') }}

)

select * from final
