-- Prescriptive analytics.
-- Research question: which tracks should I play to move my listening toward better wellbeing? For each
-- listener, the mood-directed recommendations of the Python model, shown with the listener's latest week
-- (its mood and late-night share) so the target they aim at can be judged against where the listener is.

with

{{ import_ctes({'wellbeing_indicators': 'wellbeing_indicators', 'recommendations': 'track_recommendations'}) }}

latest_week as (

    select
        user_id,
        max(period_start) as week_start,
        max_by(valence_weighted, period_start) as week_valence,
        max_by(energy_weighted, period_start) as week_energy,
        max_by(late_night_share, period_start) as week_late_night_share
    from wellbeing_indicators
    where period_type = 'week'
    group by user_id

),

final as (

    select
        recommendations.user_id,
        recommendations.rank,
        recommendations.track_name,
        recommendations.artist_name,
        recommendations.recommendation_type,
        round(latest_week.week_valence, 3) as current_valence,
        round(recommendations.target_valence, 3) as target_valence,
        round(latest_week.week_energy, 3) as current_energy,
        round(recommendations.target_energy, 3) as target_energy,
        round(latest_week.week_late_night_share, 3) as current_late_night_share,
        recommendations.reason
    from recommendations
    inner join latest_week on recommendations.user_id = latest_week.user_id

)

select * from final
order by user_id asc, recommendation_type asc, rank asc
