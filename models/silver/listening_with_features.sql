{#
    One row per real play (the sources' plays of it reconciled: macros/play_matching.sql) with its track's
    audio features and time dimensions in the participant's timezone.

    Incremental (MERGE on play_id). New plays are those Bronze loaded since the last build (its latest
    `bronze_loaded_at`, less `incremental_lookback_minutes` for clock steps) that Silver does not hold, as a
    play of its own or merged into one (`source_play_ids`), so a run compares only recent loads, not every
    play. A run rebuilds, per listener with new plays, only the plays from the start of the session the
    earliest new play joins (or from that play itself when it opens a new session), so sessions come out
    exactly as a full refresh computes them; the plays are matched again from a session gap before that
    start, since a play merged into one at the start can lie just before it. A play the rebuild merged into
    another leaves Silver: the build emits it with no `built_at`, which the MERGE takes as a deletion
    (`merge_delete_if_null`). A participant whose timezone changed (`stg_participants__timezones`) is rebuilt
    whole. Deletion vectors let the MERGE mark a rebuilt session's old rows instead of rewriting the file that
    holds them. A Silver built before plays were reconciled is rebuilt whole by the next build. Changing the
    feature priority, ALLOW_SYNTHETIC, TIMEZONE, the session gap, the matching vars or the part-of-day seed
    needs `--full-refresh`.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='play_id',
        merge_delete_if_null='built_at',
        on_schema_change='append_new_columns',
        tblproperties={'delta.enableDeletionVectors': 'true'},
        pre_hook="{{ apply_tblproperties() }}",
    )
}}

{%- set session_gap_micros = (var('session_gap_minutes') | int) * 60 * 1000000 -%}
{%- set lookback_minutes = var('incremental_lookback_minutes') | int -%}
{#- The latest Bronze load Silver has built, less the lookback, as a literal: Delta skips the files of
    Bronze and Silver whose loaded_at lies wholly before it (a subquery bound would read every file).
    An empty Silver reads as loaded in 1970: every play is compared once. -#}
{%- set loaded_since = "timestamp '1970-01-01 00:00:00'" -%}
{%- set latest_load_known = false -%}
{#- Per listener to rebuild, the first play to rebuild and the first to read for matching, as literals: the
    plays are then read with a filter Delta skips Bronze files by (a join would read every file, twice in the
    MERGE). None on a full build, and on a Silver built before plays were reconciled: every play. -#}
{%- set rebuild_starts = none -%}
{%- set read_starts = none -%}
{%- if is_incremental() -%}
    {%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'seen_in' in built_columns and 'timezone' in built_columns -%}
        {%- set latest = run_query(
            "select cast(max(bronze_loaded_at) - interval " ~ lookback_minutes ~ " minutes as string) from " ~ this
        ).columns[0].values()[0] -%}
        {%- if latest is not none -%}
            {%- set loaded_since = "timestamp '" ~ latest ~ "'" -%}
            {%- set latest_load_known = true -%}
        {%- endif -%}
        {#- Two queries, so the second reads only those listeners' Silver plays (macros/silver_rebuild_starts.sql). #}
        {%- set first_new_plays = run_query(silver_first_new_plays(
            this, ref('stg_spotify__plays'), loaded_since, 'bronze_loaded_at', latest_load_known
        )).rows -%}
        {%- set starts = {} -%}
        {%- if first_new_plays | length > 0 -%}
            {%- for user_id, rebuild_from, read_from in run_query(silver_rebuild_starts(
                this, first_new_plays, session_gap_micros, var('session_gap_minutes') | int
            )).rows -%}
                {%- do starts.update({user_id: (rebuild_from, read_from)}) -%}
            {%- endfor -%}
        {%- endif -%}
        {#- Participants whose timezone changed: every play, from before the first. #}
        {%- set zones = run_query('select user_id, timezone from ' ~ ref('stg_participants__timezones')).rows -%}
        {%- if zones | length > 0 -%}
            {%- for row in run_query(silver_timezone_changes(this, zones)).rows -%}
                {%- do starts.update({row[0]: ('1970-01-01 00:00:00', '1970-01-01 00:00:00')}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- set rebuild_starts = [] -%}
        {%- set read_starts = [] -%}
        {%- for user_id in starts | sort -%}
            {%- do rebuild_starts.append((user_id, starts[user_id][0])) -%}
            {%- do read_starts.append((user_id, starts[user_id][1])) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endif %}
{#- The built plays a run replaces: those from each rebuilt listener's start (every one, when unknown); none on
    a full build. -#}
{%- set rows_to_replace = 'false' -%}
{%- if is_incremental() -%}
    {%- set rows_to_replace = listener_rows(
        rebuild_starts, user_column='built.user_id', since_column='built.played_at'
    ) -%}
{%- endif -%}
{%- set to_read = silver_plays_to_read(ref('stg_spotify__plays'), read_starts) -%}
{%- set match_stages = play_match_stages(to_read.sources) -%}
{%- set plays_to_read = listener_rows(read_starts, user_column='plays.user_id', since_column='plays.played_at') -%}
{%- if to_read.loaded_until is not none -%}
    {%- set loaded_until = "plays.loaded_at <= timestamp '" ~ to_read.loaded_until ~ "'" -%}
    {%- set plays_to_read = loaded_until ~ " and (" ~ plays_to_read ~ ")" -%}
{%- endif -%}
{%- set default_timezone = var('listener_timezone') %}

with

plays as (

    select * from {{ ref('stg_spotify__plays') }}

),

participant_timezones as (

    select * from {{ ref('stg_participants__timezones') }}

),

track_features as (

    select * from {{ ref('int_track_features__resolved') }}

),

part_of_day_hours as (

    select * from {{ ref('part_of_day_hours') }}

),

plays_to_match as (

    select plays.*
    from plays
    where {{ plays_to_read }}

),
{{ matched_plays('plays_to_match', 'matched', match_stages) }},
{{ reconciled_plays('matched', 'reconciled', match_stages) }},

plays_to_build as (

    select *
    from reconciled
    where {{ listener_rows(rebuild_starts, since_column='played_at') }}

),

ordered as (

    select
        *,
        lag(played_at) over listener_plays as previous_played_at,
        row_number() over listener_plays as listener_play_number
    from plays_to_build
    window listener_plays as (partition by user_id order by played_at, play_id)

),

session_starts as (

    select
        *,
        coalesce(
            unix_micros(played_at) - unix_micros(previous_played_at) > {{ session_gap_micros }},
            true
        ) as is_session_start
    from ordered

),

sessionised as (

    select
        *,
        max(case when is_session_start then played_at end) over listener_so_far as session_started_at,
        max(case when is_session_start then listener_play_number end)
            over listener_so_far
            as session_first_play_number
    from session_starts
    window listener_so_far as (
        partition by user_id order by played_at, play_id
        rows between unbounded preceding and current row
    )

),

localised as (

    select
        sessionised.*,
        coalesce(participant_timezones.timezone, '{{ default_timezone }}') as timezone,
        from_utc_timestamp(
            sessionised.played_at, coalesce(participant_timezones.timezone, '{{ default_timezone }}')
        ) as played_at_local
    from sessionised
    left join participant_timezones on sessionised.user_id = participant_timezones.user_id

),

joined as (

    select /*+ broadcast(track_features, part_of_day_hours) */
        localised.play_id,
        localised.user_id,
        localised.played_at,
        localised.played_at_local,
        localised.timezone,
        to_date(localised.played_at_local) as played_date_local,
        hour(localised.played_at_local) as hour_of_day,
        weekday(localised.played_at_local) + 1 as day_of_week,
        part_of_day_hours.part_of_day,
        part_of_day_hours.is_late_night,
        weekday(localised.played_at_local) >= 5 as is_weekend,
        localised.track_id,
        localised.track_name,
        localised.artist_name,
        localised.album_name,
        localised.ms_played,
        cast(localised.ms_played as double) / 60000 as minutes_played,
        localised.source,
        localised.seen_in,
        localised.field_sources,
        localised.source_play_ids,
        localised.skipped,
        localised.reason_start,
        localised.reason_end,
        localised.shuffle,
        localised.media_type,
        localised.loaded_at as bronze_loaded_at,
        {{ built_at() }} as built_at,
        concat(localised.user_id, '-', cast(unix_seconds(localised.session_started_at) as string)) as session_id,
        localised.session_started_at,
        cast(localised.listener_play_number - localised.session_first_play_number + 1 as int)
            as session_play_number,
        track_features.feature_source,
        track_features.feature_source is not null as has_features,
        track_features.danceability,
        track_features.energy,
        track_features.valence,
        track_features.acousticness,
        track_features.instrumentalness,
        track_features.speechiness,
        track_features.liveness,
        track_features.loudness,
        track_features.tempo,
        track_features.musical_key,
        track_features.musical_mode,
        track_features.time_signature
    from localised
    left join track_features on localised.track_id = track_features.track_id
    left join part_of_day_hours on hour(localised.played_at_local) = part_of_day_hours.hour_of_day

),

{#- The plays Silver held in the rebuilt range that no longer stand alone (merged into another play): the
    MERGE deletes them (none on a full build). Their other columns are null: one per column of `joined` after play_id and user_id,
    in its order (a column added there and not here fails the build, UNION's column count). #}
{%- set deleted_play_columns = [
    'played_at', 'played_at_local', 'timezone', 'played_date_local', 'hour_of_day', 'day_of_week', 'part_of_day',
    'is_late_night', 'is_weekend', 'track_id', 'track_name', 'artist_name', 'album_name', 'ms_played',
    'minutes_played', 'source', 'seen_in', 'field_sources', 'source_play_ids', 'skipped', 'reason_start',
    'reason_end', 'shuffle', 'media_type', 'bronze_loaded_at', 'built_at', 'session_id', 'session_started_at',
    'session_play_number', 'feature_source', 'has_features', 'danceability', 'energy', 'valence', 'acousticness',
    'instrumentalness', 'speechiness', 'liveness', 'loudness', 'tempo', 'musical_key', 'musical_mode',
    'time_signature',
] -%}
{%- set deleted_play_values = [] -%}
{%- for column in deleted_play_columns -%}
    {%- do deleted_play_values.append('null as ' ~ column) -%}
{%- endfor %}

absorbed as (

    select
        built.play_id,
        built.user_id
    from {{ this if is_incremental() else 'plays_to_build' }} as built
    where
        ({{ rows_to_replace }})
        and not exists (
            select 1 from plays_to_build
            where plays_to_build.play_id = built.play_id
        )

),

deletions as (

    select
        play_id,
        user_id,
        {{ deleted_play_values | join(",\n        ") }}
    from absorbed

),

final as (

    select * from joined

    union all

    select * from deletions

)

select * from final
{%- if not is_incremental() %}
    {#- a full refresh writes each listener's plays together, in time order: a read of one listener's plays
        skips the files of the others (later MERGEs add small files of their own) #}
    order by user_id, played_at
{%- endif %}
