-- Diagnostic analytics.
-- Research question: why do certain moods occur at certain times? How far does the mood of the music
-- (valence, energy) in each part of the day and on weekends differ from my usual mood, and do days with
-- more late-night listening or more repeats go with a lower mood?

with

{{ import_ctes({
    'temporal_patterns': 'temporal_patterns',
    'part_of_day_hours': 'part_of_day_hours',
    'wellbeing_indicators': 'wellbeing_indicators',
}) }}

by_part_of_day as (

    select
        temporal_patterns.user_id,
        part_of_day_hours.part_of_day,
        temporal_patterns.day_of_week >= 6 as is_weekend,
        sum(temporal_patterns.plays) as plays,
        sum(temporal_patterns.mean_valence * temporal_patterns.plays) / sum(temporal_patterns.plays) as mean_valence,
        sum(temporal_patterns.mean_energy * temporal_patterns.plays) / sum(temporal_patterns.plays) as mean_energy
    from temporal_patterns
    inner join part_of_day_hours on temporal_patterns.hour_of_day = part_of_day_hours.hour_of_day
    group by temporal_patterns.user_id, part_of_day_hours.part_of_day, temporal_patterns.day_of_week >= 6

),

listener_baseline as (

    select
        user_id,
        avg(valence_weighted) as usual_valence,
        avg(energy_weighted) as usual_energy,
        round(corr(late_night_share, valence_weighted), 3) as late_night_valence_correlation,
        round(corr(repeat_share, valence_weighted), 3) as repeat_valence_correlation,
        round(corr(skip_rate, valence_weighted), 3) as skip_valence_correlation
    from wellbeing_indicators
    where period_type = 'day'
    group by user_id

),

final as (

    select
        by_part_of_day.user_id,
        by_part_of_day.part_of_day,
        by_part_of_day.is_weekend,
        by_part_of_day.plays,
        round(by_part_of_day.mean_valence - listener_baseline.usual_valence, 3) as valence_vs_usual,
        round(by_part_of_day.mean_energy - listener_baseline.usual_energy, 3) as energy_vs_usual,
        listener_baseline.late_night_valence_correlation,
        listener_baseline.repeat_valence_correlation,
        listener_baseline.skip_valence_correlation
    from by_part_of_day
    inner join listener_baseline on by_part_of_day.user_id = listener_baseline.user_id

)

select * from final
order by user_id asc, valence_vs_usual asc
