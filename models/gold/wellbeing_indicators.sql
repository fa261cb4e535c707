{#
    Each listener's days and weeks (weeks start on Monday). The music plays are first summed per listener,
    local day and track: a week adds those day rows up per track, so a track's plays in the week beyond its
    first are the week's repeats, and mood_variability, the sample standard deviation of the plays' valence,
    comes from their count, sum and sum of squares. Podcast and audiobook plays (spoken word) are summed per
    listener and local day beside them: a day or week of spoken word only has a row with no music plays.
    Every division is a try_divide: a period with no music, no listening time or no features gives null,
    never an error (the server runs with ANSI SQL on).

    Spoken word's local days follow each participant's timezone (`stg_participants__timezones`, else
    TIMEZONE), as Silver's do.

    Incremental (MERGE on the period key): a run recomputes, per listener with Silver rows built since its
    latest `built_at`, spoken-word plays loaded since then or a timezone set since then, every day and week
    from the earliest week those rows fall in (a day earlier: a Silver play a rebuild merged into another, and
    so deleted, lies just before it; spoken word's day is taken in TIMEZONE, at most a day off), and leaves the
    other periods as they are; a full refresh computes them all. A recomputed period left without plays (a
    play merged into another, a changed timezone) is emitted with no `built_at`, which the MERGE takes as a
    deletion (`merge_delete_if_null`), so the table ends as a full refresh leaves it.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'period_type', 'period_start'],
        merge_delete_if_null='built_at',
        on_schema_change='append_new_columns',
    )
}}

{#- Sums over a listener-day-track (music) or a listener-day (spoken word), added up per period. #}
{%- set music_additive = [
    'plays', 'ms_played', 'featured_plays', 'featured_ms', 'valence_ms', 'valence_known_ms', 'energy_ms',
    'energy_known_ms', 'valence_plays', 'valence_sum', 'valence_squares', 'late_night_plays', 'skip_known_plays',
    'skipped_plays', 'real_feature_plays', 'kaggle_feature_plays', 'synthetic_feature_plays', 'no_feature_plays',
] -%}
{%- set spoken_additive = ['podcast_plays', 'podcast_ms', 'audiobook_plays', 'audiobook_ms'] -%}
{#- Each kind of spoken word and its staging model. -#}
{%- set spoken_models = [('podcast', 'stg_spotify__podcast_plays'), ('audiobook', 'stg_spotify__audiobook_plays')] -%}
{%- set additive = music_additive + spoken_additive -%}
{%- set summed = [] -%}
{%- for column in additive -%}
    {%- do summed.append('sum(' ~ column ~ ') as ' ~ column) -%}
{%- endfor -%}
{%- set timezone = var('listener_timezone') -%}
{%- set watermark = built_at_watermark() -%}
{#- Per listener with newly built music plays or newly loaded spoken-word plays, the Monday of the earliest week
    they fall in; none on a full build (every period). Spoken word is read from staging by when it was loaded,
    less the lookback Silver uses for clock steps. -#}
{%- set first_changed_weeks = none -%}
{%- if watermark is not none -%}
    {%- set loaded_since = watermark ~ ' - interval ' ~ (var('incremental_lookback_minutes') | int) ~ ' minutes' -%}
    {%- set first_changed_weeks = listeners_changed_since([
        (ref('listening_with_features'), 'built_at', watermark, 'date_sub(played_date_local, 1)'),
        (ref('stg_spotify__podcast_plays'), 'loaded_at', loaded_since, 'date_sub(' ~ local_date('played_at', timezone) ~ ', 1)'),
        (ref('stg_spotify__audiobook_plays'), 'loaded_at', loaded_since, 'date_sub(' ~ local_date('played_at', timezone) ~ ', 1)'),
        (ref('stg_participants__timezones'), 'set_at', watermark, "date'1970-01-01'"),
    ], "cast(date_trunc('week', {}) as date)") -%}
{%- endif -%}
{#- A full build recomputes every period; an incremental one the changed listeners' weeks (from the first changed). -#}
{%- set in_periods_to_sum = listener_rows(first_changed_weeks, since_column='played_date_local', since_type='date') -%}
{#- The built periods a run replaces, those in periods_to_sum (every one, when unknown); none on a full build. -#}
{%- set rows_to_replace = 'false' -%}
{%- if is_incremental() -%}
    {%- set rows_to_replace = listener_rows(
        first_changed_weeks, user_column='built.user_id', since_column='built.period_start', since_type='date'
    ) -%}
{%- endif -%}
{%- set music_zeros, spoken_zeros = [], [] -%}
{%- for column in music_additive -%}
    {%- do music_zeros.append('0 as ' ~ column) -%}
{%- endfor -%}
{%- for column in spoken_additive -%}
    {%- do spoken_zeros.append('0 as ' ~ column) -%}
{%- endfor %}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

participant_timezones as (

    select * from {{ ref('stg_participants__timezones') }}

),

spoken_plays as (
    {%- for spoken_kind, staged in spoken_models %}

        select
            spoken.user_id,
            to_date(from_utc_timestamp(
                spoken.played_at, coalesce(participant_timezones.timezone, '{{ timezone }}')
            )) as played_date_local,
            spoken.ms_played,
            '{{ spoken_kind }}' as spoken_kind
        from {{ ref(staged) }} as spoken
        left join participant_timezones on spoken.user_id = participant_timezones.user_id
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

),

plays_to_sum as (

    select * from plays
    where {{ in_periods_to_sum }}

),

spoken_plays_to_sum as (

    select * from spoken_plays
    where {{ in_periods_to_sum }}

),

music_track_days as (

    select
        user_id,
        played_date_local,
        track_id,
        count(*) as plays,
        sum(ms_played) as ms_played,
        count(feature_source) as featured_plays,
        sum(case when feature_source is not null then ms_played else 0 end) as featured_ms,
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
        count_if(feature_source is null) as no_feature_plays,
        {{ spoken_zeros | join(",\n        ") }}
    from plays_to_sum
    group by user_id, played_date_local, track_id

),

spoken_days as (

    select
        user_id,
        played_date_local,
        cast(null as string) as track_id,
        {{ music_zeros | join(",\n        ") }},
        count_if(spoken_kind = 'podcast') as podcast_plays,
        coalesce(sum(case when spoken_kind = 'podcast' then ms_played end), 0) as podcast_ms,
        count_if(spoken_kind = 'audiobook') as audiobook_plays,
        coalesce(sum(case when spoken_kind = 'audiobook' then ms_played end), 0) as audiobook_ms
    from spoken_plays_to_sum
    group by user_id, played_date_local

),

track_days as (

    select * from music_track_days

    union all

    select * from spoken_days

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
                then try_divide(
                        greatest(valence_squares - try_divide(valence_sum * valence_sum, valence_plays), 0),
                        valence_plays - 1
                    )
        end as valence_variance
    from aggregated

),

indicators as (

    select
        user_id,
        period_type,
        period_start,
        cast(ms_played / 60000 as double) as minutes_listened,
        plays,
        try_divide(valence_ms, valence_known_ms) as valence_weighted,
        try_divide(energy_ms, energy_known_ms) as energy_weighted,
        sqrt(valence_variance) as mood_variability,
        try_divide(late_night_plays, plays) as late_night_share,
        try_divide(repeat_plays, plays) as repeat_share,
        try_divide(skipped_plays, skip_known_plays) as skip_rate,
        try_divide(real_feature_plays, plays) as share_features_real,
        try_divide(kaggle_feature_plays, plays) as share_features_kaggle,
        try_divide(synthetic_feature_plays, plays) as share_features_synthetic,
        try_divide(no_feature_plays, plays) as share_no_features,
        try_divide(featured_plays, plays) as feature_coverage_plays,
        try_divide(featured_ms, ms_played) as feature_coverage_minutes,
        cast(podcast_ms / 60000 as double) as podcast_minutes,
        podcast_plays,
        cast(audiobook_ms / 60000 as double) as audiobook_minutes,
        audiobook_plays,
        {{ built_at() }} as built_at
    from with_variance

),

{# The recomputed periods that no longer have plays: the MERGE deletes them (none on a full build; every column
    of `indicators` but the key null: a column added there and not here fails the build). #}
emptied_periods as (

    select
        built.user_id,
        built.period_type,
        built.period_start
    from {{ this if is_incremental() else 'indicators' }} as built
    where
        ({{ rows_to_replace }})
        and not exists (
            select 1 from indicators
            where
                indicators.user_id = built.user_id
                and indicators.period_type = built.period_type
                and indicators.period_start = built.period_start
        )

),

deletions as (

    select
        user_id,
        period_type,
        period_start,
        null as minutes_listened,
        null as plays,
        null as valence_weighted,
        null as energy_weighted,
        null as mood_variability,
        null as late_night_share,
        null as repeat_share,
        null as skip_rate,
        null as share_features_real,
        null as share_features_kaggle,
        null as share_features_synthetic,
        null as share_no_features,
        null as feature_coverage_plays,
        null as feature_coverage_minutes,
        null as podcast_minutes,
        null as podcast_plays,
        null as audiobook_minutes,
        null as audiobook_plays,
        null as built_at
    from emptied_periods

),

final as (

    select * from indicators

    union all

    select * from deletions

)

select * from final
