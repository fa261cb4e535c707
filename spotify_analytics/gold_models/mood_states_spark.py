"""The Spark side of the mood states: plays to session features, the bounded sample a fit reads, every session
assigned to a fit's nearest centroid, the fit a built table holds, the listeners' rebuilt sessions, and the
per-cluster summary (``mood_clusters``). Only the fit's sample (at most ``fit_sessions`` rows) comes to pandas; the
sessions are assigned and written in Spark."""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spotify_analytics.gold_models.mood_states import (
    BUILD_SCHEMA,
    FEATURE_SOURCES,
    MOOD_FEATURES,
    SHARES,
    FitMarkers,
    MoodFit,
    current_fit,
)


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


def fit_sample(sessions: DataFrame, fit_sessions: int, seed: int) -> pd.DataFrame:
    """At most ``fit_sessions`` sessions, as pandas: a seeded sample (a hash of each session id and the seed, so
    the same sessions give the same sample), all of them when there are fewer. Spark keeps only the top rows
    while it sorts, so this is bounded however many sessions there are."""
    order = F.xxhash64(F.col("session_id"), F.lit(seed))
    return sessions.orderBy(order, "session_id").limit(fit_sessions).toPandas()


def standardised_features(fit: MoodFit) -> list[Column]:
    """Each mood feature filled and standardised as the fit was."""
    return [
        (F.coalesce(F.col(name).cast("double"), F.lit(fill)) - F.lit(mean)) / F.lit(scale)
        for name, fill, mean, scale in zip(MOOD_FEATURES, fit.fill, fit.mean, fit.scale, strict=True)
    ]


def squared_distance(scaled: list[Column], center: tuple[float, ...]) -> Column:
    return sum(((value - F.lit(coordinate)) ** 2 for value, coordinate in zip(scaled, center, strict=True)), F.lit(0.0))


def assigned(sessions: DataFrame, fit: MoodFit) -> DataFrame:
    """The sessions with ``cluster_id`` (the nearest of the fit's centroids; the lower id on a tie) and its
    ``label``."""
    scaled = standardised_features(fit)
    candidates = [
        F.struct(squared_distance(scaled, center).alias("distance"), F.lit(cluster_id).alias("cluster_id"))
        for cluster_id, center in enumerate(fit.centers)
    ]
    labels = F.array(*[F.lit(label) for label in fit.labels])
    nearest = F.array_min(F.array(*candidates))["cluster_id"].cast("int")
    return sessions.withColumn("cluster_id", nearest).withColumn("label", F.element_at(labels, F.col("cluster_id") + 1))


def timestamp_literal(moment: datetime) -> Column:
    """A naive UTC time as a ``timestamp`` (the server's session time zone is UTC), whatever this process's zone."""
    return F.lit(moment.strftime("%Y-%m-%d %H:%M:%S.%f")).cast("timestamp")


def as_built(rows: DataFrame) -> DataFrame:
    """The table's columns, in order, with its types (``BUILD_SCHEMA``)."""
    fields = [field.split() for field in BUILD_SCHEMA.split(", ")]
    return rows.select(*[F.col(name).cast(kind).alias(name) for name, kind in fields])


@dataclass(frozen=True)
class Fit:
    """The clusters a build keeps: the fit as its rows hold it, how many sessions it wrote, when it was fitted,
    and the table's latest row."""

    mood: MoodFit
    fitted_sessions: int
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
    fitted = built.where(F.col("built_at") == F.col("fitted_at"))
    mood, count = fit_of_rows(fitted)
    return Fit(mood, count, fit.fitted_at, fit.latest_built_at) if mood is not None else None


def fit_of_rows(fitted: DataFrame) -> tuple[MoodFit | None, int]:
    """The fit as the rows it wrote hold it, computed in Spark (three small aggregates): missing features filled
    with the rows' medians, standardised by their mean and standard deviation, and each cluster's centroid the
    mean of its standardised rows; and the number of rows. None when no row is left."""
    medians = fitted.agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.percentile(F.col(name).cast("double"), F.lit(0.5)).alias(name) for name in MOOD_FEATURES],
    ).first()
    if medians is None or not medians["rows"]:
        return None, 0
    fill = tuple(float(medians[name]) if medians[name] is not None else 0.0 for name in MOOD_FEATURES)
    filled = [
        F.coalesce(F.col(name).cast("double"), F.lit(value)) for name, value in zip(MOOD_FEATURES, fill, strict=True)
    ]
    spread = fitted.agg(
        *[F.avg(value).alias(f"mean_{i}") for i, value in enumerate(filled)],
        *[F.stddev_pop(value).alias(f"std_{i}") for i, value in enumerate(filled)],
    ).first()
    mean = tuple(float(spread[f"mean_{i}"]) for i in range(len(MOOD_FEATURES)))
    scale = tuple(float(spread[f"std_{i}"]) or 1.0 for i in range(len(MOOD_FEATURES)))
    partial = MoodFit(fill, mean, scale, centers=(), labels=())
    clusters = (
        fitted.groupBy("cluster_id")
        .agg(
            F.first("label").alias("label"),
            *[F.avg(value).alias(f"center_{i}") for i, value in enumerate(standardised_features(partial))],
        )
        .orderBy("cluster_id")
        .collect()
    )
    by_id = {row.cluster_id: row for row in clusters}
    if sorted(by_id) != list(range(len(by_id))):
        return None, 0  # a cluster without rows left: refit
    centers = tuple(tuple(float(by_id[c][f"center_{i}"]) for i in range(len(MOOD_FEATURES))) for c in sorted(by_id))
    labels = tuple(by_id[c].label for c in sorted(by_id))
    return MoodFit(fill, mean, scale, centers, labels), int(medians["rows"])


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
