"""Mood states: K-means over the audio features of listening sessions (one row per session with features).

Plays are aggregated to sessions in Spark; only the session table comes to pandas. k is chosen by the
mean silhouette on a bounded, seeded sample; the fit is seeded, so the same data gives the same clusters.
`spotify_analytics.evaluation.clusters` imports the functions below to print the k search.

Incremental: the clusters are refitted on every session when the fit is older than
`var('mood_cluster_refit_hours')`, when the sessions Silver rebuilt since the last build outnumber
`var('mood_cluster_refit_share')` of the fitted ones (a history import), when the settings change and on a
full refresh. Between refits a build
assigns the sessions Silver rebuilt since its latest `built_at` to the nearest centroid of the fit and writes
only those: per listener, they replace the rows from the start of the first rebuilt session on; every other
session's row stays as it was. The centroids and the standardisation come from the rows the fit wrote
(`built_at` = `fitted_at`) that the table still holds: a fitted session that new plays later joined is
replaced by its assigned row, so they drift from the fit's by that little until the next refit.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from dbt.adapters.spark_lakehouse.replacement import EVERYTHING, each_from, replace_where
from pyspark.sql import functions as F

log = logging.getLogger("spotify_analytics.mood_clusters")

CLUSTER_FEATURES = [
    "valence",
    "energy",
    "danceability",
    "acousticness",
    "instrumentalness",
    "loudness",
    "tempo",
]
FEATURE_SOURCES = {"spotify_api": "real", "kaggle": "kaggle", "synthetic": "synthetic"}
MOOD_MIDPOINT = 0.5  # the middle of Spotify's 0-1 valence and energy scales

OUTPUT_SCHEMA = (
    "session_id string, user_id string, session_start timestamp, cluster_id int, label string, "
    "valence double, energy double, danceability double, acousticness double, instrumentalness double, "
    "loudness double, tempo double, plays bigint, featured_plays bigint, minutes_listened double, "
    "share_features_real double, share_features_kaggle double, share_features_synthetic double, "
    "silhouette double"
)
# The table: the sessions' clusters, what and when they were fitted on, and when each row was written.
BUILD_SCHEMA = f"{OUTPUT_SCHEMA}, fitted_on string, fitted_at timestamp, built_at timestamp"


def session_features(plays):
    """One row per session that has featured plays: ms_played-weighted features, sizes, feature shares."""
    featured = F.col("has_features")
    weight = F.when(featured, F.greatest(F.col("ms_played"), F.lit(1)))
    weighted = [F.try_divide(F.sum(F.col(name) * weight), F.sum(weight)).alias(name) for name in CLUSTER_FEATURES]
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


def mood_label(valence: float, energy: float) -> str:
    """The centroid's quadrant of the valence-energy plane."""
    arousal = ("energetic" if valence >= MOOD_MIDPOINT else "tense") if energy >= MOOD_MIDPOINT else "calm"
    return f"{arousal}-{'positive' if valence >= MOOD_MIDPOINT else 'negative'}"


def silhouette_sample(row_count: int, sample_size: int, seed: int) -> np.ndarray:
    """Sorted row positions of a seeded sample (all rows when there are fewer)."""
    if row_count <= sample_size:
        return np.arange(row_count)
    return np.sort(np.random.default_rng(seed).choice(row_count, size=sample_size, replace=False))


SEARCH_INITS = 1  # one k-means++ start per k while searching (on 83K sessions: 4.6 s for k=2..8, not 17 s)
FINAL_INITS = 10  # the chosen k is fitted again from ten starts, the best of which is kept


def scored_fit(scaled: np.ndarray, k: int, sample: np.ndarray, seed: int, n_init: int) -> tuple | None:
    """K-means with k clusters, scored by the mean silhouette of the sample: (silhouette, kmeans, per-row);
    None when the sample falls in fewer than two clusters."""
    from sklearn.cluster import KMeans  # imported here: a build that only assigns sessions never needs it
    from sklearn.metrics import silhouette_samples

    kmeans = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(scaled)
    labels = kmeans.labels_[sample]
    if len(np.unique(labels)) < 2:
        return None
    per_row = silhouette_samples(scaled[sample], labels)
    return float(per_row.mean()), kmeans, per_row


def search_k(scaled: np.ndarray, k_values: range, sample: np.ndarray, seed: int) -> dict[int, tuple]:
    """Fit each k from one start; score it by the mean silhouette of the sample. Returns {k: (silhouette,
    kmeans, per-row)}. The inertias of one start and of ten differed by under 2% for every k on the bench's
    sessions, and the chosen k was the same."""
    results = {}
    for k in k_values:
        scored = scored_fit(scaled, k, sample, seed, SEARCH_INITS)
        if scored is not None:
            results[k] = scored
            log.info("mood clusters: k=%d silhouette=%.4f", k, scored[0])
    return results


def k_range(k_min: int, k_max: int, sessions: int) -> range:
    """The configured k values that leave at least two sessions per cluster on average (may be empty)."""
    if k_min < 2 or k_max < k_min:
        raise ValueError(f"mood cluster k range must satisfy 2 <= k_min <= k_max; got {k_min}..{k_max}")
    return range(k_min, min(k_max, sessions // 2) + 1)


def prepare(sessions: pd.DataFrame, sample_size: int, seed: int) -> tuple:
    """Sessions in a fixed order, their features, the standardised matrix and the silhouette sample."""
    sessions = sessions.sort_values("session_id", ignore_index=True)
    features = sessions[CLUSTER_FEATURES].astype(float).fillna(sessions[CLUSTER_FEATURES].median())
    return sessions, features, standardised(features), silhouette_sample(len(sessions), sample_size, seed)


def standardised(features: pd.DataFrame, reference: pd.DataFrame | None = None) -> np.ndarray:
    """Features less the reference's mean, over its standard deviation (StandardScaler's; the reference is
    the features themselves unless given)."""
    reference = features if reference is None else reference
    scale = reference.std(ddof=0).replace(0, 1.0)
    return ((features - reference.mean()) / scale).to_numpy()


def nearest_centroid(sessions: pd.DataFrame, fitted: pd.DataFrame) -> pd.DataFrame:
    """New sessions in the clusters of an earlier fit: each goes to the centroid nearest to it, the centroids
    being the means of the fitted sessions, all standardised (and missing values filled) as for the fit."""
    fitted_features = fitted[CLUSTER_FEATURES].astype(float)
    fitted_features = fitted_features.fillna(fitted_features.median())
    centroids = pd.DataFrame(standardised(fitted_features), index=fitted.index).groupby(fitted["cluster_id"]).mean()
    features = sessions[CLUSTER_FEATURES].astype(float).fillna(fitted_features.median())
    scaled = standardised(features, reference=fitted_features)
    distances = ((scaled[:, None, :] - centroids.to_numpy()[None, :, :]) ** 2).sum(axis=2)
    cluster_id = centroids.index.to_numpy()[distances.argmin(axis=1)].astype("int32")
    labels = fitted.groupby("cluster_id")["label"].first()
    return sessions.assign(cluster_id=cluster_id, label=labels.reindex(cluster_id).to_numpy(), silhouette=np.nan)


def cluster_sessions(sessions: pd.DataFrame, k_values: range, sample_size: int, seed: int) -> pd.DataFrame:
    """Assign every session to the best k's cluster; ids ordered by centroid valence, then energy."""
    sessions, features, scaled, sample = prepare(sessions, sample_size, seed)
    results = search_k(scaled, k_values, sample, seed)
    if not results:
        raise ValueError("no k in the range gives two or more clusters on these sessions")
    best_k = max(results, key=lambda k: (results[k][0], -k))
    _, kmeans, per_row = scored_fit(scaled, best_k, sample, seed, FINAL_INITS) or results[best_k]

    centroids = features.groupby(kmeans.labels_)[["valence", "energy"]].mean()
    order = centroids.sort_values(["valence", "energy"]).index.to_list()
    renumber = {old: new for new, old in enumerate(order)}
    cluster_id = np.array([renumber[label] for label in kmeans.labels_], dtype="int32")
    labels = {renumber[old]: mood_label(row.valence, row.energy) for old, row in centroids.iterrows()}

    silhouette = np.full(len(sessions), np.nan)
    silhouette[sample] = per_row
    log.info("mood clusters: chose k=%d of %s on %d sessions", best_k, list(k_values), len(sessions))
    return sessions.assign(
        cluster_id=cluster_id,
        label=[labels[c] for c in cluster_id],
        silhouette=silhouette,
    )


@dataclass(frozen=True)
class Fit:
    """The clusters a build keeps: the sessions they were fitted on, when, and the table's latest row."""

    sessions: pd.DataFrame  # cluster_id, label and the cluster features of the fitted sessions
    fitted_at: datetime
    latest_built_at: datetime


def reusable_fit(built, settings: str, refit_hours: float) -> Fit | None:
    """The built table's fit when it used these settings and is younger than refit_hours; None when the
    clusters are to be fitted again."""
    if not {"fitted_on", "fitted_at", "built_at"} <= set(built.columns):
        return None
    fits = built.groupBy("fitted_on", "fitted_at").agg(F.max("built_at").alias("latest_built_at")).collect()
    if len(fits) != 1 or fits[0].fitted_on != settings:
        return None
    if fits[0].fitted_at < datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=refit_hours):
        return None
    fitted = built.where(F.col("built_at") == F.col("fitted_at")).select("cluster_id", "label", *CLUSTER_FEATURES)
    return Fit(fitted.toPandas(), fits[0].fitted_at, fits[0].latest_built_at)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="replace_where",  # the rebuilt sessions of each listener, or every session
        on_schema_change="append_new_columns",
        packages=["scikit-learn", "pandas"],
    )
    k_min = int(dbt.config.meta_get("k_min"))
    k_max = int(dbt.config.meta_get("k_max"))
    sample_size = int(dbt.config.meta_get("silhouette_sample"))
    seed = int(dbt.config.meta_get("seed"))
    refit_hours = float(dbt.config.meta_get("refit_hours"))
    refit_share = float(dbt.config.meta_get("refit_share"))
    k_range(k_min, k_max, sessions=0)  # a bad range fails before any work
    settings = f"k {k_min}..{k_max}, silhouette sample {sample_size}, seed {seed}"
    columns = [field.split()[0] for field in BUILD_SCHEMA.split(", ")]
    now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    plays = dbt.ref("listening_with_features")

    built = session.table(str(dbt.this)) if dbt.is_incremental else None
    fit = reusable_fit(built, settings, refit_hours) if built is not None else None
    if fit is not None:
        changed = plays.where(F.col("built_at") > F.lit(fit.latest_built_at))
        sessions = session_features(changed).toPandas()
        if len(sessions) <= refit_share * len(fit.sessions):
            log.info("mood clusters: %d rebuilt sessions to the nearest of the fitted centroids", len(sessions))
            # Silver rebuilds a listener from the start of the session its earliest new play joins: every
            # session of theirs from there on is new or rebuilt, and only those
            rebuilt_from = changed.groupBy("user_id").agg(
                F.date_format(F.min("session_started_at"), "yyyy-MM-dd HH:mm:ss.SSSSSS").alias("rebuilt_from")
            )
            rebuilt = each_from(
                "user_id", "session_start", {row.user_id: row.rebuilt_from for row in rebuilt_from.collect()}
            )
            assigned = nearest_centroid(sessions, fit.sessions).assign(
                fitted_on=settings, fitted_at=fit.fitted_at, built_at=now
            )
            return replace_where(dbt, session.createDataFrame(assigned[columns], schema=BUILD_SCHEMA), rebuilt)
        log.info("mood clusters: %d rebuilt sessions outnumber %s of the fitted: refitting", len(sessions), refit_share)

    sessions = session_features(plays).toPandas()
    k_values = k_range(k_min, k_max, len(sessions))
    if not k_values:
        log.warning("mood clusters: %d sessions with features are too few for k >= %d", len(sessions), k_min)
        return replace_where(
            dbt, session.createDataFrame(pd.DataFrame(columns=columns), schema=BUILD_SCHEMA), EVERYTHING
        )
    clustered = cluster_sessions(sessions, k_values, sample_size, seed).assign(
        fitted_on=settings, fitted_at=now, built_at=now
    )
    return replace_where(dbt, session.createDataFrame(clustered[columns], schema=BUILD_SCHEMA), EVERYTHING)
