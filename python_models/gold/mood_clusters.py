"""One row per mood cluster: centroid, size, silhouette and feature provenance of its sessions.

Aggregates `mood_session_clusters` in Spark (nothing comes to pandas): see
`spotify_analytics.gold_models.mood_states_spark.cluster_summary`.
"""

from spotify_analytics.gold_models.mood_states_spark import cluster_summary


def model(dbt, session):
    dbt.config(materialized="table")
    return cluster_summary(dbt.ref("mood_session_clusters"))
