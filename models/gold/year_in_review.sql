{#
    A year in review per listener and calendar year (local dates): minutes, the top artists, tracks and genres by
    listening time (genres from the Kaggle catalog's `track_genre`, every genre the catalog lists a track under),
    the mix of mood states (mood_session_clusters) by listening time, and the biggest changes of the listening-rhythm
    indicators against the year before, each in units of the indicator's month-to-month spread over the two years.
    Lists are arrays of structs ordered by their `rank`; an artist, track or genre with no listening time (plays of
    0 ms) is in no list.

    Incremental (MERGE on listener and year): a run recomputes, per listener with Silver rows or session mood states
    built since its latest `built_at`, the year holding the day before the earliest of those rows' days (a play
    merged away lies just before the play it joined) and every later year (a year's biggest changes compare it with
    the year before; a refit of the mood states relabels every listener's sessions, so every year). A session counts
    from the UTC date of its start less a day, as its local date can be a day earlier. Its biggest changes read the
    rhythm changes from that year on and their monthly values from the year before. A full refresh computes every
    year. After the catalog is loaded again, run `--full-refresh` for the genres to follow.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'calendar_year'],
        on_schema_change='append_new_columns',
    )
}}

{%- set first_years = rhythm_years_to_recompute([
    (ref('listening_with_features'), 'date_sub(played_date_local, 1)'),
    (ref('mood_session_clusters'), 'date_sub(to_date(session_start), 1)'),
]) -%}
{#- The monthly values of a year's changes span it and the year before (spread_changes keeps to those months). -#}
{%- set spread_starts = days_before(first_years, 366) -%}
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
        year(played_date_local) as calendar_year,
        played_date_local,
        session_id,
        track_id,
        coalesce(track_id, concat_ws(' — ', artist_name, track_name)) as track_key,
        track_name,
        artist_name,
        ms_played as ms,
        {{ measured_time() }} as measured_ms
    from plays
    where {{ listener_rows(first_years, since_column='played_date_local', since_type='date') }}

),

-- three chains from the plays, each read once (Spark computes a CTE again for every reference): tracks (totals, top
-- artists, tracks and genres), sessions (the mood-state mix) and days

year_tracks as (

    select
        user_id,
        calendar_year,
        track_key,
        track_id,
        track_name,
        artist_name,
        count(*) as plays,
        sum(ms) as ms
    from year_plays
    group by user_id, calendar_year, track_key, track_id, track_name, artist_name

),

titled_tracks as (

    -- a track's title and artist in its lists: the largest of its plays' (a track id can carry several); a window
    -- here, over one row per track and name, lets the groups below be hashed (a string aggregate sorts every group)
    select
        *,
        max(track_name) over track_years as track_title,
        max(artist_name) over track_years as track_artist
    from year_tracks
    window track_years as (partition by user_id, calendar_year, track_key)

),

catalogued_tracks as (

    select /*+ broadcast(catalog) */
        titled_tracks.*,
        catalog.track_genres
    from titled_tracks
    left join catalog on titled_tracks.track_id = catalog.track_id

),

track_genre_rows as (

    -- one row per genre the catalog lists the track under (one row with no genre when it lists none)
    select
        *,
        posexplode_outer(track_genres) as (genre_position, genre)
    from catalogued_tracks

),

year_groups as (

    -- one pass for the year, each artist, each track and each genre
    select
        user_id,
        calendar_year,
        artist_name,
        track_key,
        genre,
        case
            when grouping(genre) = 0 then 'genre'
            when grouping(track_key) = 0 then 'track'
            when grouping(artist_name) = 0 then 'artist'
            else 'year'
        end as group_kind,
        -- a track's time counts once for the year, its artist and itself, and for every genre it is listed under
        case
            when grouping(genre) = 0 then sum(case when genre is not null then ms end)
            else sum(case when coalesce(genre_position, 0) = 0 then ms end)
        end as ms,
        sum(case when coalesce(genre_position, 0) = 0 then plays end) as plays,
        sum(case when coalesce(genre_position, 0) = 0 and genre is not null then ms end) as genre_known_ms,
        track_title,
        track_artist
    from track_genre_rows
    group by user_id, calendar_year, grouping sets ((), (artist_name), (track_key, track_title, track_artist), (genre))

),

named_groups as (

    select
        *,
        case group_kind when 'genre' then genre when 'track' then track_title else artist_name end as list_name
    from year_groups

),

ranked_groups as (

    select
        *,
        list_name is not null and ms > 0 as is_listed,
        row_number() over (
            partition by user_id, calendar_year, group_kind order by ms desc, list_name asc, track_artist asc
        ) as list_rank
    from named_groups

),

year_lists as (

    select
        user_id,
        calendar_year,
        max(case when group_kind = 'year' then plays end) as plays,
        max(case when group_kind = 'year' then ms end) as ms,
        max(case when group_kind = 'year' then genre_known_ms end) as genre_known_ms,
        count_if(group_kind = 'track') as distinct_tracks,
        count_if(group_kind = 'artist' and artist_name is not null) as distinct_artists,
        sort_array(collect_list(
            case
                when group_kind = 'artist' and is_listed and list_rank <= {{ top }}
                    then named_struct(
                            'rank', list_rank, 'artist_name', artist_name, 'minutes', cast(ms / 60000 as double)
                        )
            end
        )) as top_artists,
        sort_array(collect_list(
            case
                when group_kind = 'track' and is_listed and list_rank <= {{ top }}
                    then named_struct(
                            'rank', list_rank, 'track_name', track_title, 'artist_name', track_artist,
                            'minutes', cast(ms / 60000 as double)
                        )
            end
        )) as top_tracks,
        sort_array(collect_list(
            case
                when group_kind = 'genre' and is_listed and list_rank <= {{ top }}
                    then named_struct('rank', list_rank, 'genre', genre, 'minutes', cast(ms / 60000 as double))
            end
        )) as top_genres
    from ranked_groups
    group by user_id, calendar_year

),

year_sessions as (

    select
        user_id,
        calendar_year,
        session_id,
        sum(ms) as ms,
        sum(measured_ms) as measured_ms
    from year_plays
    group by user_id, calendar_year, session_id

),

session_moods as (

    select
        year_sessions.user_id,
        year_sessions.calendar_year,
        sessions.label,
        year_sessions.ms,
        year_sessions.measured_ms
    from year_sessions
    inner join sessions on year_sessions.session_id = sessions.session_id

),

mood_minutes as (

    select
        user_id,
        calendar_year,
        label,
        sum(ms) as ms,
        sum(sum(ms)) over (partition by user_id, calendar_year) as mood_ms,
        sum(sum(measured_ms)) over (partition by user_id, calendar_year) as mood_measured_ms
    from session_moods
    group by user_id, calendar_year, label

),

mood_mixes as (

    select
        user_id,
        calendar_year,
        max(mood_ms) as mood_ms,
        max(mood_measured_ms) as mood_measured_ms,
        sort_array(collect_list(
            case
                when {{ rhythm_rests_on_enough('mood_ms', 'mood_measured_ms') }}
                    then named_struct('label', label, 'share', try_divide(ms, mood_ms))
            end
        )) as mood_state_mix
    from mood_minutes
    group by user_id, calendar_year

),

year_days as (

    select
        user_id,
        calendar_year,
        count(distinct played_date_local) as days_listened
    from year_plays
    group by user_id, calendar_year

),

year_changes as (

    select
        user_id,
        year(period_start) as calendar_year,
        period_start,
        indicator,
        value,
        previous_value,
        change_from_previous
    from changes
    where
        period_type = 'year'
        and ({{ listener_rows(first_years, since_column='period_start', since_type='date') }})

),

month_values as (

    select
        user_id,
        period_start,
        indicator,
        value
    from changes
    where
        period_type = 'month'
        and value is not null
        and ({{ listener_rows(spread_starts, since_column='period_start', since_type='date') }})

),

spread_changes as (

    select
        year_changes.user_id,
        year_changes.calendar_year,
        year_changes.indicator,
        year_changes.value,
        year_changes.previous_value,
        year_changes.change_from_previous,
        count(month_values.value) as month_count,
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
        year_changes.calendar_year,
        year_changes.indicator,
        year_changes.value,
        year_changes.previous_value,
        year_changes.change_from_previous

),

standardised_changes as (

    select
        *,
        {{ sample_sd('month_count', 'month_sum', 'month_squares') }} as monthly_sd
    from spread_changes

),

sized_changes as (

    select
        *,
        case
            when month_count >= {{ var('rhythm_baseline_min_periods') | int }} and monthly_sd > 0
                then try_divide(change_from_previous, monthly_sd)
        end as change_in_sds
    from standardised_changes

),

ranked_changes as (

    select
        *,
        row_number() over (
            partition by user_id, calendar_year order by abs(change_in_sds) desc, indicator asc
        ) as list_rank
    from sized_changes
    where change_in_sds is not null

),

biggest_changes as (

    select
        user_id,
        calendar_year,
        sort_array(collect_list(named_struct(
            'rank', list_rank,
            'indicator', indicator,
            'value', value,
            'previous_value', previous_value,
            'change', change_from_previous,
            'change_in_sds', change_in_sds
        ))) as biggest_changes
    from ranked_changes
    where list_rank <= {{ var('year_in_review_changes') | int }}
    group by user_id, calendar_year

),

final as (

    select
        year_lists.user_id,
        year_lists.calendar_year,
        year_lists.plays,
        cast(year_lists.ms / 60000 as double) as minutes_listened,
        year_days.days_listened,
        year_lists.distinct_tracks,
        year_lists.distinct_artists,
        case when size(year_lists.top_artists) > 0 then year_lists.top_artists end as top_artists,
        case when size(year_lists.top_tracks) > 0 then year_lists.top_tracks end as top_tracks,
        case when size(year_lists.top_genres) > 0 then year_lists.top_genres end as top_genres,
        try_divide(coalesce(year_lists.genre_known_ms, 0), year_lists.ms) as genre_known_share,
        cast(coalesce(mood_mixes.mood_ms, 0) / 60000 as double) as mood_state_minutes,
        try_divide(mood_mixes.mood_measured_ms, mood_mixes.mood_ms) as mood_state_measured_share,
        case when size(mood_mixes.mood_state_mix) > 0 then mood_mixes.mood_state_mix end as mood_state_mix,
        biggest_changes.biggest_changes,
        {{ built_at() }} as built_at
    from year_lists
    inner join year_days
        on year_lists.user_id = year_days.user_id and year_lists.calendar_year = year_days.calendar_year
    left join mood_mixes
        on year_lists.user_id = mood_mixes.user_id and year_lists.calendar_year = mood_mixes.calendar_year
    left join biggest_changes
        on year_lists.user_id = biggest_changes.user_id and year_lists.calendar_year = biggest_changes.calendar_year

)

select * from final
