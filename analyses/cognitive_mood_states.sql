-- Cognitive analytics.
-- Research question: which mood states do my listening sessions fall into (clusters learned from the
-- sessions' audio features), and how does the time I spend in each state change from week to week?

with

{{ import_ctes({'session_clusters': 'mood_session_clusters', 'clusters': 'mood_clusters'}) }}

weekly_states as (

    select
        user_id,
        cast(date_trunc('week', session_start) as date) as week_start,
        cluster_id,
        count(*) as sessions,
        sum(minutes_listened) as minutes_listened
    from session_clusters
    group by user_id, cast(date_trunc('week', session_start) as date), cluster_id

),

final as (

    select
        weekly_states.user_id,
        weekly_states.week_start,
        clusters.label as mood_state,
        weekly_states.sessions,
        round(weekly_states.minutes_listened, 1) as minutes_listened,
        round(
            weekly_states.minutes_listened
            / sum(weekly_states.minutes_listened) over (
                partition by weekly_states.user_id, weekly_states.week_start
            ),
            3
        ) as share_of_week,
        round(clusters.centroid_valence, 3) as state_valence,
        round(clusters.centroid_energy, 3) as state_energy,
        round(clusters.silhouette, 3) as state_silhouette
    from weekly_states
    inner join clusters on weekly_states.cluster_id = clusters.cluster_id

)

select * from final
order by user_id asc, week_start asc, share_of_week desc
