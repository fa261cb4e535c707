"""The Spark side of the mood states: plays to session features, the fit a built table holds, the listeners'
rebuilt sessions, and the per-cluster summary (``mood_clusters``). Only session-sized tables come to pandas."""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spotify_analytics.gold_models.mood_states import FEATURE_SOURCES, MOOD_FEATURES, SHARES, FitMarkers, current_fit


def session_features(plays: DataFrame) -> DataFrame:
    """One row per session that has featured plays: ms_played-weighted features, sizes, feature shares."""
    featured = F.col("has_features")
    weight = F.when(featured, F.greatest(F.col("ms_played"), F.lit(1)))
    weighted = [F.try_divide(F.sum(F.col(name) * weight), F.sum(weight)).alias(name) for name in MOOD_FEATURES]
    featured_plays = F.count(F.when(featured, 1))
    shares = [
        F.try_divide(F.count(F.when(F.col("feature_source") == source, 1)), featured_plays).alias(
            f"share_features_{short}"
        )
        for source, short in FEATURE_SOURCES.items()
    ]
    return (
        plays.groupBy("session_id", "user_id")
        .agg(
            F.min("played_at").alias("session_start"),
            F.count(F.lit(1)).alias("plays"),
            F.count(F.when(featured, 1)).alias("featured_plays"),
            F.sum("minutes_played").alias("minutes_listened"),
            *weighted,
            *shares,
        )
        .where(F.col("featured_plays") > 0)
    )


@dataclass(frozen=True)
class Fit:
    """The clusters a build keeps: the sessions they were fitted on, when, and the table's latest row."""

    sessions: pd.DataFrame  # cluster_id, label and the cluster features of the fitted sessions
    fitted_at: datetime
    latest_built_at: datetime


def reusable_fit(built: DataFrame, settings: str, refit_hours: float, now: datetime) -> Fit | None:
    """The built table's fit when ``current_fit`` keeps it; None when the clusters are to be fitted again. The
    fitted sessions are the rows the fit wrote (``built_at`` = ``fitted_at``) that the table still holds."""
    if not {"fitted_on", "fitted_at", "built_at"} <= set(built.columns):
        return None  # built by a version without the markers
    rows = built.groupBy("fitted_on", "fitted_at").agg(F.max("built_at").alias("latest_built_at")).collect()
    fits = [FitMarkers(row.fitted_on, row.fitted_at, row.latest_built_at) for row in rows]
    fit = current_fit(fits, settings, refit_hours, now)
    if fit is None:
        return None
    fitted = built.where(F.col("built_at") == F.col("fitted_at")).select("cluster_id", "label", *MOOD_FEATURES)
    return Fit(fitted.toPandas(), fit.fitted_at, fit.latest_built_at)


def plays_since(plays: DataFrame, built_at: datetime) -> DataFrame:
    """The plays Silver built after built_at."""
    return plays.where(F.col("built_at") > F.lit(built_at))


def rebuilt_from(changed: DataFrame) -> dict[str, str]:
    """Per listener, the start of the first session their changed plays belong to: Silver rebuilds a listener
    from the start of the session its earliest new play joins, so every session of theirs from there on is new
    or rebuilt, and only those."""
    starts = changed.groupBy("user_id").agg(
        F.date_format(F.min("session_started_at"), "yyyy-MM-dd HH:mm:ss.SSSSSS").alias("rebuilt_from")
    )
    return {row.user_id: row.rebuilt_from for row in starts.collect()}


def cluster_summary(sessions: DataFrame) -> DataFrame:
    """One row per mood cluster of ``mood_session_clusters``: centroid (the mean of the member sessions'
    features, the K-means centroid in the original units), size, silhouette and feature provenance."""
    featured_plays = F.col("featured_plays")
    clusters = sessions.groupBy("cluster_id", "label").agg(
        *[F.round(F.avg(name), 6).alias(f"centroid_{name}") for name in MOOD_FEATURES],
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
