{#
    Listening rhythms: indicators as the research literature defines them, per listener and local week (from
    Monday), calendar month and calendar year. Every figure is weighted by listening time (`ms_played`) and uses
    only measured audio features (`var('measured_feature_sources')`); `rhythm_figure` makes it null when too little
    listening or too few measured features stand behind it. Each column's description gives its formula and source.

    Three chains from the plays, each read once (Spark computes a CTE again for every reference): per listener,
    local day and part of the day (the diurnal figures, late night); per listener and local day (the days listened,
    the daily valence of low-valence persistence); per listener, period and track (repeats, the top 10,
    favourites). Each sum is then added up per period; the three meet in one row per period. Every division is a
    try_divide (ANSI SQL on).

    Incremental (MERGE on the period key): a run recomputes, per listener with Silver rows built since its latest
    `built_at`, every period from the earlier of the starts of the week and of the year that hold the day before
    the earliest of those rows' days (a play merged away lies just before the play it joined; every week, month and
    year holding a changed day starts there or later). It reads the plays from as far before that as a day's
    figures reach back (the low-valence baseline, the favourites' window), and writes only the periods from that
    start on. The other periods and listeners keep their rows; a full refresh computes them all.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'period_type', 'period_start'],
        on_schema_change='append_new_columns',
    )
}}

{%- set baseline_days = var('low_valence_baseline_days') | int -%}
{%- set favourite_days = var('favourite_window_days') | int -%}
{%- set recompute_from = rhythm_starts_to_recompute(
    [(ref('listening_with_features'), 'date_sub(played_date_local, 1)')],
    "least(cast(date_trunc('week', {}) as date), trunc({}, 'year'))",
) -%}
{%- set read_from = days_before(recompute_from, [baseline_days, favourite_days - 1] | max) -%}
{%- set parts = ['night', 'morning', 'afternoon', 'evening'] -%}
{%- set day_types = {'weekday': 'not is_weekend', 'weekend': 'is_weekend'} -%}
{#- The sums each part of the day and each day type keeps, and the ones the favourites keep. -#}
{%- set mood_sums = ['ms', 'measured_ms', 'valence_ms', 'energy_ms'] -%}
{%- set favourite_sums = ['ms', 'measured_ms', 'valence_ms', 'tempo_known_ms', 'tempo_ms'] %}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

weighted_plays as (

    select
        user_id,
        played_at,
        played_date_local,
        part_of_day,
        is_weekend,
        is_late_night,
        ms_played as ms,
        -- a track is its Spotify id, or its artist and title when the play has none (classic exports)
        coalesce(track_id, concat_ws(' — ', artist_name, track_name)) as track_key,
        {{ measured_time() }} as measured_ms,
        {{ measured_time('valence') }} as valence_ms,
        {{ measured_time('energy') }} as energy_ms,
        case when {{ is_measured_play() }} and tempo > 0 then ms_played else 0 end as tempo_known_ms,
        case when {{ is_measured_play() }} and tempo > 0 then tempo * ms_played else 0 end as tempo_ms
    from plays
    where {{ listener_rows(read_from, since_column='played_date_local', since_type='date') }}

),

-- the diurnal side: per listener, local day and part of the day

day_parts as (

    select
        user_id,
        played_date_local,
        part_of_day,
        is_weekend,
        is_late_night,
        count(*) as plays,
        {%- for column in mood_sums %}
            sum({{ column }}) as {{ column }},
        {%- endfor %}
        sum(case when is_late_night then ms else 0 end) as late_night_ms
    from weighted_plays
    group by user_id, played_date_local, part_of_day, is_weekend, is_late_night

),

day_part_periods as (

    select
        *,
        {{ rhythm_periods('played_date_local') }}
    from day_parts

),

diurnal_sums as (

    select
        user_id,
        period_type,
        period_start,
        sum(plays) as plays,
        {%- for column in mood_sums %}
            sum({{ column }}) as {{ column }},
        {%- endfor %}
        {%- for part in parts %}
            {%- for column in mood_sums %}
                sum(case when part_of_day = '{{ part }}' then {{ column }} else 0 end) as {{ part }}_{{ column }},
            {%- endfor %}
        {%- endfor %}
        {%- for day_type, condition in day_types.items() %}
            {%- for column in mood_sums %}
                sum(case when {{ condition }} then {{ column }} else 0 end) as {{ day_type }}_{{ column }},
            {%- endfor %}
        {%- endfor %}
        sum(late_night_ms) as late_night_ms
    from day_part_periods
    group by user_id, period_type, period_start

),

-- low-valence persistence: per listener and local day

days as (

    select
        user_id,
        played_date_local,
        sum(ms) as ms,
        sum(measured_ms) as measured_ms,
        sum(valence_ms) as valence_ms
    from weighted_plays
    group by user_id, played_date_local

),

day_valences as (

    select
        *,
        {{ rhythm_figure('valence_ms', 'measured_ms', 'ms', 'measured_ms') }} as valence
    from days

),

day_baselines as (

    select
        *,
        try_divide(sum(valence_ms) over days_before, sum(measured_ms) over days_before) as baseline_valence,
        count(valence) over days_before as baseline_days
    from day_valences
    window days_before as (
        partition by user_id
        order by unix_date(played_date_local)
        range between {{ baseline_days }} preceding and 1 preceding
    )

),

judged_days as (

    select
        user_id,
        played_date_local,
        coalesce(
            valence is not null
            and baseline_valence is not null
            and baseline_days >= {{ var('low_valence_baseline_min_days') | int }},
            false
        ) as is_judged,
        coalesce(valence < baseline_valence - {{ var('low_valence_margin') | float }}, false) as is_below
    from day_baselines

),

judged_day_periods as (

    select
        user_id,
        played_date_local,
        is_judged,
        is_judged and is_below as is_low,
        {{ rhythm_periods('played_date_local') }}
    from judged_days

),

low_day_runs as (

    -- consecutive low days share a run id: their date less their rank among the period's low days
    select
        *,
        unix_date(played_date_local)
        - row_number() over (partition by user_id, period_type, period_start, is_low order by played_date_local)
            as run_id
    from judged_day_periods

),

low_run_sums as (

    -- per period and run of low days (run_key null: the days in no run)
    select
        user_id,
        period_type,
        period_start,
        case when is_low then run_id end as run_key,
        count(*) as run_days,
        count_if(is_judged) as judged_days,
        count_if(is_low) as low_days
    from low_day_runs
    group by user_id, period_type, period_start, case when is_low then run_id end

),

low_valence_sums as (

    select
        user_id,
        period_type,
        period_start,
        -- every day of the period is in one run row (the days in no run in the row with run_key null): the days
        -- listened, counted without a distinct aggregate, which would make Spark expand the diurnal side's rows
        sum(run_days) as days_listened,
        sum(judged_days) as judged_days,
        sum(low_days) as low_days,
        max(case when run_key is not null then run_days end) as longest_run_days
    from low_run_sums
    group by user_id, period_type, period_start

),

-- the tracks' side: per play, whether its track was a favourite that day

favourite_plays as (

    -- a favourite on a day: played at least favourite_min_plays times in the favourite_window_days days to it
    select
        *,
        count(*) over (
            partition by user_id, track_key
            order by unix_date(played_date_local)
            range between {{ favourite_days - 1 }} preceding and current row
        ) >= {{ var('favourite_min_plays') | int }} as is_favourite
    from weighted_plays

),

play_periods as (

    select
        user_id,
        track_key,
        played_at,
        {%- for column in favourite_sums %}
            {{ column }},
        {%- endfor %}
        is_favourite,
        {{ rhythm_periods('played_date_local') }}
    from favourite_plays

),

track_periods as (

    select
        user_id,
        period_type,
        period_start,
        track_key,
        sum(ms) as ms,
        -- the period's first play of the track: one play, as a play's key holds its listener, time and track
        -- (min_by keeps the aggregation hashed: a struct's min makes Spark sort every group)
        min_by(ms, played_at) as first_play_ms,
        {%- for column in favourite_sums %}
            sum(case when is_favourite then {{ column }} else 0 end) as favourite_{{ column }},
        {%- endfor %}
        max(is_favourite) as was_favourite
    from play_periods
    group by user_id, period_type, period_start, track_key

),

track_sums as (

    select
        user_id,
        period_type,
        period_start,
        count(*) as distinct_tracks,
        -- every play of a track after its first in the period repeats it
        sum(ms - first_play_ms) as repeat_ms,
        -- the 10 largest track times, whichever of tied tracks they are
        aggregate(
            slice(sort_array(collect_list(ms), false), 1, 10), cast(0 as bigint), (total, track_ms) -> total + track_ms
        ) as top10_ms,
        {%- for column in favourite_sums %}
            sum(favourite_{{ column }}) as favourite_{{ column }},
        {%- endfor %}
        count_if(was_favourite) as favourite_tracks
    from track_periods
    group by user_id, period_type, period_start

),

joined as (

    select
        diurnal_sums.*,
        track_sums.distinct_tracks,
        track_sums.repeat_ms,
        track_sums.top10_ms,
        track_sums.favourite_tracks,
        {%- for column in favourite_sums %}
            track_sums.favourite_{{ column }},
        {%- endfor %}
        low_valence_sums.days_listened,
        low_valence_sums.judged_days,
        low_valence_sums.low_days,
        low_valence_sums.longest_run_days
    from diurnal_sums
    left join track_sums
        on
            diurnal_sums.user_id = track_sums.user_id
            and diurnal_sums.period_type = track_sums.period_type
            and diurnal_sums.period_start = track_sums.period_start
    left join low_valence_sums
        on
            diurnal_sums.user_id = low_valence_sums.user_id
            and diurnal_sums.period_type = low_valence_sums.period_type
            and diurnal_sums.period_start = low_valence_sums.period_start

),

final as (

    select
        user_id,
        period_type,
        period_start,
        days_listened,
        plays,
        cast(ms / 60000 as double) as minutes_listened,
        try_divide(measured_ms, ms) as measured_share,
        {{ rhythm_figure('valence_ms', 'measured_ms', 'ms', 'measured_ms') }} as valence,
        {{ rhythm_figure('energy_ms', 'measured_ms', 'ms', 'measured_ms') }} as energy,
        {%- for part in parts + day_types.keys() | list %}
            cast({{ part }}_ms / 60000 as double) as minutes_{{ part }},
            try_divide({{ part }}_measured_ms, {{ part }}_ms) as measured_share_{{ part }},
            {%- for feature in ['valence', 'energy'] %}
                {{ rhythm_figure(
                    part ~ '_' ~ feature ~ '_ms', part ~ '_measured_ms', part ~ '_ms', part ~ '_measured_ms'
                ) }} as {{ feature }}_{{ part }},
            {%- endfor %}
        {%- endfor %}
        {{ rhythm_figure('late_night_ms', 'ms', 'ms') }} as late_night_share,
        distinct_tracks,
        {{ rhythm_figure('repeat_ms', 'ms', 'ms') }} as repeat_share,
        {{ rhythm_figure('top10_ms', 'ms', 'ms') }} as top10_share,
        judged_days,
        low_days as low_valence_days,
        case
            when judged_days >= {{ var('low_valence_min_judged_days') | int }} then coalesce(longest_run_days, 0)
        end as low_valence_run_days,
        favourite_tracks,
        cast(favourite_ms / 60000 as double) as favourite_minutes,
        try_divide(favourite_measured_ms, favourite_ms) as favourite_measured_share,
        {{ rhythm_figure('favourite_valence_ms', 'favourite_measured_ms', 'favourite_ms', 'favourite_measured_ms') }}
            as favourite_valence,
        {{ rhythm_figure(
            'favourite_tempo_ms', 'favourite_tempo_known_ms', 'favourite_ms', 'favourite_tempo_known_ms'
        ) }} as favourite_tempo,
        {{ built_at() }} as built_at
    from joined
    where {{ listener_rows(recompute_from, since_column='period_start', since_type='date') }}

)

select * from final
