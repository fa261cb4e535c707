{#
    Each Silver play twice: once in its local day and once in its local week (weeks start on Monday),
    flagged as a repeat when the listener already played the track earlier in the same period. A window
    flag instead of count(distinct track_id) per period: the distinct count costs a large shuffle.
#}

with

plays as (

    select * from {{ ref('listening_with_features') }}

),

by_period as (

    select
        'day' as period_type,
        played_date_local as period_start,
        *
    from plays

    union all

    select
        'week' as period_type,
        cast(date_trunc('week', played_date_local) as date) as period_start,
        *
    from plays

),

flagged as (

    select
        *,
        track_id is not null
        and row_number() over (
            partition by user_id, period_type, period_start, track_id
            order by played_at, play_id
        ) > 1 as is_repeat
    from by_period

),

final as (

    select
        period_type,
        period_start,
        play_id,
        user_id,
        played_at,
        track_id,
        ms_played,
        skipped,
        is_late_night,
        is_repeat,
        feature_source,
        valence,
        energy
    from flagged

)

select * from final
