{#
    The query listening_with_features runs at compile time on an incremental build: per listener with new
    plays, the first play to rebuild (`user_id`, `rebuild_from` as a string). New plays are those Bronze loaded
    since `loaded_since` that Silver does not hold; a listener is rebuilt from the start of the session their
    earliest new play joins, or from that play itself when it is more than the session gap after their latest
    built play (or they have none), so the rebuilt sessions come out as a full refresh computes them.
#}
{% macro silver_rebuild_starts(silver, plays, loaded_since, built_loaded_at, latest_load_known, session_gap_micros) %}

    with

    built as (

        select
            play_id,
            user_id,
            played_at,
            session_started_at,
            {{ built_loaded_at }} as bronze_loaded_at
        from {{ silver }}

    ),

    recently_loaded as (

        select
            play_id,
            user_id,
            played_at
        from {{ plays }}
        where loaded_at >= {{ loaded_since }}

    ),

    recently_built as (

        select play_id
        from built
        where
            bronze_loaded_at >= {{ loaded_since }}
            {%- if not latest_load_known %} or bronze_loaded_at is null{% endif %}

    ),

    new_plays as (

        select
            recently_loaded.user_id,
            recently_loaded.played_at
        from recently_loaded
        left anti join recently_built on recently_loaded.play_id = recently_built.play_id

    ),

    earliest_new_plays as (

        select
            user_id,
            min(played_at) as first_new_played_at
        from new_plays
        group by user_id

    ),

    plays_before_new as (

        select
            earliest_new_plays.user_id,
            earliest_new_plays.first_new_played_at,
            max(built.played_at) as previous_played_at,
            max_by(built.session_started_at, built.played_at) as previous_session_started_at
        from earliest_new_plays
        left join built
            on
                earliest_new_plays.user_id = built.user_id
                and earliest_new_plays.first_new_played_at >= built.played_at
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
        cast(rebuild_from as string) as rebuild_from
    from rebuild_starts
    order by user_id

{% endmacro %}

{#- A string as a Spark SQL literal: quoted, with backslashes and quotes escaped. -#}
{% macro sql_string(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
