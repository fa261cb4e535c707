{#
    A year in review per listener and calendar year (local dates): minutes, the top artists, tracks and genres by
    listening time (genres from the Kaggle catalog's `track_genre`, every genre the catalog lists a track under),
    the mix of mood states (mood_session_clusters) by listening time, and the biggest changes of the listening-rhythm
    indicators against the year before, each in units of the indicator's month-to-month spread over the two years.
    Lists are arrays of structs ordered by `rank`.

    Incremental (MERGE on listener and year): a run recomputes every year of each listener with Silver rows or
    session mood states built since its latest `built_at` (a refit of the mood states relabels every listener's
    sessions); a full refresh computes them all. After the catalog is loaded again, run `--full-refresh` for the
    genres to follow.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'year'],
        on_schema_change='append_new_columns',
    )
}}

{%- set listeners = rhythm_listeners_to_recompute([
    ref('listening_with_features'), ref('mood_session_clusters'),
]) -%}
{%- set top = var('year_in_review_top') | int %}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

catalog as (

    select * from {{ ref('stg_kaggle__tracks') }}

),

sessions as (

    select * from {{ ref('mood_session_clusters') }}

),

changes as (

    select * from {{ ref('listening_rhythm_changes') }}

),

year_plays as (

    select
        user_id,
        year(played_date_local) as year,
        played_date_local,
        session_id,
        track_id,
        coalesce(track_id, concat_ws(' — ', artist_name, track_name)) as track_key,
        track_name,
        artist_name,
        ms_played as ms,
        case when {{ is_measured_play() }} then ms_played else 0 end as measured_ms
    from plays
    where {{ listener_rows(listeners) }}

),

totals as (

    select
        user_id,
        year,
        count(*) as plays,
        sum(ms) as ms,
        count(distinct played_date_local) as days_listened,
        count(distinct track_key) as distinct_tracks,
        count(distinct artist_name) as distinct_artists
    from year_plays
    group by user_id, year

),

artist_minutes as (

    select
        user_id,
        year,
        artist_name,
        sum(ms) as ms
    from year_plays
    where artist_name is not null
    group by user_id, year, artist_name

),

track_minutes as (

    select
        user_id,
        year,
        track_name,
        artist_name,
        sum(ms) as ms
    from year_plays
    where track_name is not null
    group by user_id, year, track_name, artist_name

),

genre_plays as (

    select /*+ broadcast(catalog) */
        year_plays.user_id,
        year_plays.year,
        year_plays.ms,
        catalog.track_genres
    from year_plays
    inner join catalog on year_plays.track_id = catalog.track_id
    where size(catalog.track_genres) > 0

),

genre_play_genres as (

    select
        user_id,
        year,
        ms,
        explode(track_genres) as genre
    from genre_plays

),

genre_minutes as (

    select
        user_id,
        year,
        genre,
        sum(ms) as ms
    from genre_play_genres
    group by user_id, year, genre

),

genre_coverage as (

    select
        user_id,
        year,
        sum(ms) as genre_known_ms
    from genre_plays
    group by user_id, year

),

top_artists as (

    select
        user_id,
        year,
        artist_name,
        cast(ms / 60000 as double) as minutes,
        row_number() over (partition by user_id, year order by ms desc, artist_name) as rank
    from artist_minutes

),

top_tracks as (

    select
        user_id,
        year,
        track_name,
        artist_name,
        cast(ms / 60000 as double) as minutes,
        row_number() over (partition by user_id, year order by ms desc, track_name, artist_name) as rank
    from track_minutes

),

top_genres as (

    select
        user_id,
        year,
        genre,
        cast(ms / 60000 as double) as minutes,
        row_number() over (partition by user_id, year order by ms desc, genre) as rank
    from genre_minutes

),

artist_lists as (

    select
        user_id,
        year,
        sort_array(collect_list(named_struct('rank', rank, 'artist_name', artist_name, 'minutes', minutes)))
            as top_artists
    from top_artists
    where rank <= {{ top }}
    group by user_id, year

),

track_lists as (

    select
        user_id,
        year,
        sort_array(collect_list(named_struct(
            'rank', rank, 'track_name', track_name, 'artist_name', artist_name, 'minutes', minutes
        ))) as top_tracks
    from top_tracks
    where rank <= {{ top }}
    group by user_id, year

),

genre_lists as (

    select
        user_id,
        year,
        sort_array(collect_list(named_struct('rank', rank, 'genre', genre, 'minutes', minutes))) as top_genres
    from top_genres
    where rank <= {{ top }}
    group by user_id, year

),

session_plays as (

    select
        year_plays.user_id,
        year_plays.year,
        sessions.label,
        year_plays.ms,
        year_plays.measured_ms
    from year_plays
    inner join sessions on year_plays.session_id = sessions.session_id

),

mood_minutes as (

    select
        user_id,
        year,
        label,
        sum(ms) as ms
    from session_plays
    group by user_id, year, label

),

mood_totals as (

    select
        user_id,
        year,
        sum(ms) as mood_ms,
        sum(measured_ms) as mood_measured_ms
    from session_plays
    group by user_id, year

),

mood_mixes as (

    select
        mood_minutes.user_id,
        mood_minutes.year,
        sort_array(collect_list(named_struct(
            'label', mood_minutes.label,
            'share', try_divide(mood_minutes.ms, mood_totals.mood_ms)
        ))) as mood_state_mix
    from mood_minutes
    inner join mood_totals
        on mood_minutes.user_id = mood_totals.user_id and mood_minutes.year = mood_totals.year
    where {{ rhythm_rests_on_enough('mood_totals.mood_ms', 'mood_totals.mood_measured_ms') }}
    group by mood_minutes.user_id, mood_minutes.year

),

year_changes as (

    select
        user_id,
        year(period_start) as year,
        period_start,
        indicator,
        value,
        previous_value,
        change
    from changes
    where period_type = 'year' and {{ listener_rows(listeners) }}

),

month_values as (

    select
        user_id,
        period_start,
        indicator,
        value
    from changes
    where period_type = 'month' and value is not null and {{ listener_rows(listeners) }}

),

spread_changes as (

    select
        year_changes.user_id,
        year_changes.year,
        year_changes.indicator,
        year_changes.value,
        year_changes.previous_value,
        year_changes.change,
        count(month_values.value) as months,
        sum(month_values.value) as month_sum,
        sum(month_values.value * month_values.value) as month_squares
    from year_changes
    left join month_values
        on
            year_changes.user_id = month_values.user_id
            and year_changes.indicator = month_values.indicator
            and month_values.period_start >= add_months(year_changes.period_start, -12)
            and month_values.period_start < add_months(year_changes.period_start, 12)
    group by
        year_changes.user_id,
        year_changes.year,
        year_changes.indicator,
        year_changes.value,
        year_changes.previous_value,
        year_changes.change

),

standardised_changes as (

    select
        *,
        {{ sample_sd('months', 'month_sum', 'month_squares') }} as monthly_sd
    from spread_changes

),

sized_changes as (

    select
        *,
        case
            when months >= {{ var('rhythm_baseline_min_periods') | int }} and monthly_sd > 0
                then try_divide(change, monthly_sd)
        end as change_in_sds
    from standardised_changes

),

ranked_changes as (

    select
        *,
        row_number() over (partition by user_id, year order by abs(change_in_sds) desc, indicator) as rank
    from sized_changes
    where change_in_sds is not null

),

biggest_changes as (

    select
        user_id,
        year,
        sort_array(collect_list(named_struct(
            'rank', rank,
            'indicator', indicator,
            'value', value,
            'previous_value', previous_value,
            'change', change,
            'change_in_sds', change_in_sds
        ))) as biggest_changes
    from ranked_changes
    where rank <= {{ var('year_in_review_changes') | int }}
    group by user_id, year

),

final as (

    select
        totals.user_id,
        totals.year,
        totals.plays,
        cast(totals.ms / 60000 as double) as minutes_listened,
        totals.days_listened,
        totals.distinct_tracks,
        totals.distinct_artists,
        artist_lists.top_artists,
        track_lists.top_tracks,
        genre_lists.top_genres,
        try_divide(coalesce(genre_coverage.genre_known_ms, 0), totals.ms) as genre_known_share,
        cast(coalesce(mood_totals.mood_ms, 0) / 60000 as double) as mood_state_minutes,
        try_divide(mood_totals.mood_measured_ms, mood_totals.mood_ms) as mood_state_measured_share,
        mood_mixes.mood_state_mix,
        biggest_changes.biggest_changes,
        {{ built_at() }} as built_at
    from totals
    left join artist_lists on totals.user_id = artist_lists.user_id and totals.year = artist_lists.year
    left join track_lists on totals.user_id = track_lists.user_id and totals.year = track_lists.year
    left join genre_lists on totals.user_id = genre_lists.user_id and totals.year = genre_lists.year
    left join genre_coverage on totals.user_id = genre_coverage.user_id and totals.year = genre_coverage.year
    left join mood_totals on totals.user_id = mood_totals.user_id and totals.year = mood_totals.year
    left join mood_mixes on totals.user_id = mood_mixes.user_id and totals.year = mood_mixes.year
    left join biggest_changes on totals.user_id = biggest_changes.user_id and totals.year = biggest_changes.year

)

select * from final
