"""One row per mood cluster: centroid, size, silhouette and feature provenance of its sessions.

Aggregates `mood_session_clusters` in Spark (nothing comes to pandas). The centroid is the mean of the
member sessions' features, which is the K-means centroid in the original units.
"""

from pyspark.sql import functions as F

CENTROID_FEATURES = [
    "valence",
    "energy",
    "danceability",
    "acousticness",
    "instrumentalness",
    "loudness",
    "tempo",
]
SHARES = ["share_features_real", "share_features_kaggle", "share_features_synthetic"]


def model(dbt, session):
    dbt.config(materialized="table")
    sessions = dbt.ref("mood_session_clusters")
    featured_plays = F.col("featured_plays")

    clusters = sessions.groupBy("cluster_id", "label").agg(
        *[F.round(F.avg(name), 6).alias(f"centroid_{name}") for name in CENTROID_FEATURES],
        F.count(F.lit(1)).alias("sessions"),
        F.countDistinct("user_id").alias("users"),
        F.sum("plays").alias("plays"),
        F.round(F.sum("minutes_listened"), 3).alias("minutes_listened"),
        F.round(F.avg("silhouette"), 6).alias("silhouette"),
        F.count("silhouette").alias("silhouette_sample_sessions"),
        *[F.round(F.try_divide(F.sum(F.col(s) * featured_plays), F.sum(featured_plays)), 6).alias(s) for s in SHARES],
    )
    overall = sessions.agg(
        F.round(F.avg("silhouette"), 6).alias("overall_silhouette"),
        F.countDistinct("cluster_id").cast("int").alias("cluster_count"),
        F.count(F.lit(1)).alias("total_sessions"),
    )
    return (
        clusters.crossJoin(overall)
        .withColumn("share_of_sessions", F.round(F.try_divide(F.col("sessions"), F.col("total_sessions")), 6))
        .drop("total_sessions")
        .orderBy("cluster_id")
    )
