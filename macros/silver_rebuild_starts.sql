{#
    The two queries listening_with_features runs at compile time on an incremental build.

    silver_first_new_plays: per listener with new plays, their earliest one (`user_id`, `first_new_played_at`
    as a string). New plays are those Bronze loaded since `loaded_since` that Silver does not hold, as a play of
    its own or merged into another (`source_play_ids`); both sides are read with a literal bound on the load
    time, so Delta skips the files of older loads.

    silver_rebuild_starts: from those, per listener the first play to rebuild (`user_id`, `rebuild_from` as a
    string): the start of the session the earliest new play joins, or that play itself when it is more than
    the session gap after the listener's latest built play (or they have none), so the rebuilt sessions come
    out as a full refresh computes them. The listeners and times are literals, so the scan of Silver for
    their latest built plays skips the files of other listeners and of later plays. Also `read_from`: the
    rebuild start less `margin_minutes`, from which the plays are read to be matched (a play merged into one
    at the rebuild start can lie a little before it).

    silver_timezone_changes: the listeners whose Silver rows were built in another timezone than the one
    `zones` (pairs of user_id and zone) now gives them: they are rebuilt whole.
#}
{% macro silver_first_new_plays(silver, plays, loaded_since, built_loaded_at, latest_load_known) %}

    with

    recently_loaded as (

        select
            play_id,
            user_id,
            played_at
        from {{ plays }}
        where loaded_at >= {{ loaded_since }}

    ),

    recently_built as (

        select explode(coalesce(source_play_ids, array(play_id))) as play_id
        from {{ silver }}
        where
            {{ built_loaded_at }} >= {{ loaded_since }}
            {%- if not latest_load_known %} or {{ built_loaded_at }} is null{% endif %}

    ),

    new_plays as (

        select
            recently_loaded.user_id,
            recently_loaded.played_at
        from recently_loaded
        left anti join recently_built on recently_loaded.play_id = recently_built.play_id

    )

    select
        user_id,
        cast(min(played_at) as string) as first_new_played_at
    from new_plays
    group by user_id
    order by user_id

{% endmacro %}

{% macro silver_rebuild_starts(silver, first_new_plays, session_gap_micros, margin_minutes) %}

    with

    earliest_new_plays as (

        select
            user_id,
            timestamp(first_new_played_at) as first_new_played_at
        from values
            {%- for user_id, first_new_played_at in first_new_plays %}
                ({{ sql_string(user_id) }}, {{ sql_string(first_new_played_at) }}){{ "," if not loop.last }}
            {%- endfor %}
            as listeners (user_id, first_new_played_at)

    ),

    built_before_new as (

        select
            user_id,
            played_at,
            session_started_at
        from {{ silver }}
        where
            false
            {%- for user_id, first_new_played_at in first_new_plays %}
                or (
                    user_id = {{ sql_string(user_id) }}
                    and played_at <= timestamp {{ sql_string(first_new_played_at) }}
                )
            {%- endfor %}

    ),

    plays_before_new as (

        select
            earliest_new_plays.user_id,
            earliest_new_plays.first_new_played_at,
            max(built_before_new.played_at) as previous_played_at,
            max_by(built_before_new.session_started_at, built_before_new.played_at) as previous_session_started_at
        from earliest_new_plays
        left join built_before_new
            on
                earliest_new_plays.user_id = built_before_new.user_id
                and earliest_new_plays.first_new_played_at >= built_before_new.played_at
        group by earliest_new_plays.user_id, earliest_new_plays.first_new_played_at

    ),

    rebuild_starts as (

        select
            user_id,
            case
                when previous_played_at is null then first_new_played_at
                when
                    unix_micros(first_new_played_at) - unix_micros(previous_played_at)
                    > {{ session_gap_micros }}
                    then first_new_played_at
                else previous_session_started_at
            end as rebuild_from
        from plays_before_new

    )

    select
        user_id,
        cast(rebuild_from as string) as rebuild_from,
        cast(rebuild_from - interval {{ margin_minutes }} minutes as string) as read_from
    from rebuild_starts
    order by user_id

{% endmacro %}

{% macro silver_timezone_changes(silver, zones) %}

    select distinct user_id
    from {{ silver }}
    where
        false
        {%- for user_id, zone in zones %}
            or (user_id = {{ sql_string(user_id) }} and not (timezone <=> {{ sql_string(zone) }}))
        {%- endfor %}
    order by user_id

{% endmacro %}

{#- A string as a Spark SQL literal: quoted, with backslashes and quotes escaped. -#}
{% macro sql_string(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- What Silver reads to match: the sources the staged plays to read hold (`read_starts`, as listener_rows
    takes them), so the SQL leaves out the matches that cannot find anything (play_match_stages), and the latest
    load among them, as a string (none when there are no plays): Silver reads no play loaded after it, so a play
    landing during the build waits for the next one instead of being built without the matching it needed.
    Unit tests override it (it queries the lakehouse). -#}
{% macro silver_plays_to_read(plays, read_starts) %}
    {%- if not execute -%}
        {%- do return({'sources': [], 'loaded_until': none}) -%}
    {%- endif -%}
    {%- set query -%}
        select
            coalesce(array_join(array_sort(collect_set(source)), ','), '') as sources,
            cast(max(loaded_at) as string) as loaded_until
        from {{ plays }}
        where {{ listener_rows(read_starts, since_column='played_at') }}
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- do return({'sources': row[0].split(',') if row[0] else [], 'loaded_until': row[1]}) -%}
{% endmacro %}
