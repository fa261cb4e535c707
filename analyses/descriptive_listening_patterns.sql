-- Descriptive analytics.
-- Research question: when do I listen to music, and how much: which weekdays and hours of the day
-- carry my listening, and what is the mood of the music in each of them?

with

temporal_patterns as (

    select * from {{ ref('temporal_patterns') }}

),

listener_totals as (

    select
        user_id,
        sum(minutes_listened) as total_minutes
    from temporal_patterns
    group by user_id

),

final as (

    select
        temporal_patterns.user_id,
        temporal_patterns.day_of_week,
        temporal_patterns.hour_of_day,
        temporal_patterns.plays,
        round(temporal_patterns.minutes_listened, 1) as minutes_listened,
        round(temporal_patterns.minutes_listened / listener_totals.total_minutes, 4) as share_of_listening,
        round(temporal_patterns.mean_valence, 3) as mean_valence,
        round(temporal_patterns.mean_energy, 3) as mean_energy,
        rank() over (
            partition by temporal_patterns.user_id
            order by temporal_patterns.minutes_listened desc
        ) as busiest_rank
    from temporal_patterns
    inner join listener_totals on temporal_patterns.user_id = listener_totals.user_id

)

select * from final
order by user_id asc, busiest_rank asc
