"""Mood states: K-means over the audio features of listening sessions (``mood_session_clusters``), and the
rules that keep a fit between refits. Plain pandas, numpy and scikit-learn; the Spark side is
``mood_states_spark``, which assigns every session to a fit's nearest centroid, so no session table larger than
the fit's bounded sample ever leaves Spark.

The fit reads at most ``fit_sessions`` sessions (a seeded sample, all of them when there are fewer). k is chosen
by the mean silhouette on a bounded, seeded sample of those; the fit is seeded, so the same sessions give the same
clusters. Cluster ids are ordered by centroid valence, then energy; each cluster is labelled by its centroid's
quadrant of the valence-energy plane. A ``MoodFit`` is what assigning a session needs: the standardisation, the
standardised centroids and the labels.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spotify_analytics.gold_models.features import features_named

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

log = logging.getLogger(__name__)

# The session features clustered (and the fit's column order), the centroids of gold.mood_clusters.
MOOD_FEATURES = features_named(
    "valence", "energy", "danceability", "acousticness", "instrumentalness", "loudness", "tempo"
)  # fmt: skip
FEATURE_SOURCES = {"spotify_api": "real", "kaggle": "kaggle", "synthetic": "synthetic"}  # Silver's -> column's
SHARES = [f"share_features_{short}" for short in FEATURE_SOURCES.values()]
MOOD_MIDPOINT = 0.5  # the middle of Spotify's 0-1 valence and energy scales

OUTPUT_SCHEMA = ", ".join(
    [
        "session_id string, user_id string, session_start timestamp, cluster_id int, label string",
        *(f"{name} double" for name in MOOD_FEATURES),
        "plays bigint, featured_plays bigint, minutes_listened double",
        *(f"{share} double" for share in SHARES),
        "silhouette double",
    ]
)
# The table: the sessions' clusters, what and when they were fitted on, and when each row was written.
BUILD_SCHEMA = f"{OUTPUT_SCHEMA}, fitted_on string, fitted_at timestamp, built_at timestamp"
BUILD_COLUMNS = [field.split()[0] for field in BUILD_SCHEMA.split(", ")]

SEARCH_INITS = 1  # one k-means++ start per k while searching (on 83K sessions: 4.6 s for k=2..8, not 17 s)
FINAL_INITS = 10  # the chosen k is fitted again from ten starts, the best of which is kept

ScoredFit = tuple[float, "KMeans", np.ndarray]  # (mean silhouette of the sample, the fit, per-sample silhouettes)


def settings_fingerprint(k_min: int, k_max: int, sample_size: int, seed: int, fit_sessions: int) -> str:
    """``fitted_on``: the settings a fit used (a change of settings refits)."""
    return f"k {k_min}..{k_max}, silhouette sample {sample_size}, seed {seed}, fit on at most {fit_sessions} sessions"


def mood_label(valence: float, energy: float) -> str:
    """The centroid's quadrant of the valence-energy plane."""
    arousal = ("energetic" if valence >= MOOD_MIDPOINT else "tense") if energy >= MOOD_MIDPOINT else "calm"
    return f"{arousal}-{'positive' if valence >= MOOD_MIDPOINT else 'negative'}"


def silhouette_sample(row_count: int, sample_size: int, seed: int) -> np.ndarray:
    """Sorted row positions of a seeded sample (all rows when there are fewer)."""
    if row_count <= sample_size:
        return np.arange(row_count)
    return np.sort(np.random.default_rng(seed).choice(row_count, size=sample_size, replace=False))


def scored_fit(scaled: np.ndarray, k: int, sample: np.ndarray, seed: int, n_init: int) -> ScoredFit | None:
    """K-means with k clusters, scored by the mean silhouette of the sample; None when the sample falls in
    fewer than two clusters."""
    from sklearn.cluster import KMeans  # imported here: a build that only assigns sessions never needs it
    from sklearn.metrics import silhouette_samples

    kmeans = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(scaled)
    labels = kmeans.labels_[sample]
    if len(np.unique(labels)) < 2:
        return None
    per_row = silhouette_samples(scaled[sample], labels)
    return float(per_row.mean()), kmeans, per_row


def search_k(scaled: np.ndarray, k_values: range, sample: np.ndarray, seed: int) -> dict[int, ScoredFit]:
    """Fit each k from one start; score it by the mean silhouette of the sample. The inertias of one start and
    of ten differed by under 2% for every k on the bench's sessions, and the chosen k was the same."""
    results = {}
    for k in k_values:
        scored = scored_fit(scaled, k, sample, seed, SEARCH_INITS)
        if scored is not None:
            results[k] = scored
            log.info("mood clusters: k=%d silhouette=%.4f", k, scored[0])
    return results


def best_k(silhouettes: dict[int, float]) -> int:
    """The k of the highest mean silhouette; the smallest such k on a tie."""
    return max(silhouettes, key=lambda k: (silhouettes[k], -k))


def k_range(k_min: int, k_max: int, sessions: int) -> range:
    """The configured k values that leave at least two sessions per cluster on average (may be empty)."""
    if k_min < 2 or k_max < k_min:
        raise ValueError(f"mood cluster k range must satisfy 2 <= k_min <= k_max; got {k_min}..{k_max}")
    return range(k_min, min(k_max, sessions // 2) + 1)


def standardised(features: pd.DataFrame, reference: pd.DataFrame | None = None) -> np.ndarray:
    """Features less the reference's mean, over its standard deviation (StandardScaler's; the reference is
    the features themselves unless given)."""
    reference = features if reference is None else reference
    scale = reference.std(ddof=0).replace(0, 1.0)
    return ((features - reference.mean()) / scale).to_numpy()


def prepare(
    sessions: pd.DataFrame, sample_size: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Sessions in a fixed order, their features (a missing one filled with the median), the standardised matrix
    and the silhouette sample."""
    sessions = sessions.sort_values("session_id", ignore_index=True)
    features = sessions[MOOD_FEATURES].astype(float).fillna(sessions[MOOD_FEATURES].median())
    return sessions, features, standardised(features), silhouette_sample(len(sessions), sample_size, seed)


@dataclass(frozen=True)
class MoodFit:
    """What assigning a session to its mood state needs, each tuple in ``MOOD_FEATURES`` order: a missing feature
    is ``fill``ed, then standardised as ``(value - mean) / scale``; the session goes to the nearest of ``centers``
    (standardised; the index is the cluster id) and takes its label."""

    fill: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    centers: tuple[tuple[float, ...], ...]
    labels: tuple[str, ...]


def standardisation(features: pd.DataFrame) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, scale) of ``standardised``, as plain floats."""
    return tuple(map(float, features.mean())), tuple(map(float, features.std(ddof=0).replace(0, 1.0)))


def fit_moods(sessions: pd.DataFrame, k_values: range, sample_size: int, seed: int) -> tuple[MoodFit, pd.DataFrame]:
    """Fit the mood states on these sessions (the fit's sample): the fit, and the silhouette of each session of
    the silhouette sample (``session_id``, ``silhouette``)."""
    sessions, features, scaled, sample = prepare(sessions, sample_size, seed)
    results = search_k(scaled, k_values, sample, seed)
    if not results:
        raise ValueError("no k in the range gives two or more clusters on these sessions")
    chosen = best_k({k: result[0] for k, result in results.items()})
    _, kmeans, per_row = scored_fit(scaled, chosen, sample, seed, FINAL_INITS) or results[chosen]

    centroids = features.groupby(kmeans.labels_)[["valence", "energy"]].mean()
    order = centroids.sort_values(["valence", "energy"]).index.to_list()  # the new cluster ids' old labels
    mean, scale = standardisation(features)
    fit = MoodFit(
        fill=tuple(map(float, sessions[MOOD_FEATURES].astype(float).median())),
        mean=mean,
        scale=scale,
        centers=tuple(tuple(map(float, kmeans.cluster_centers_[old])) for old in order),
        labels=tuple(mood_label(centroids.loc[old, "valence"], centroids.loc[old, "energy"]) for old in order),
    )
    log.info("mood clusters: chose k=%d of %s on %d sessions", chosen, list(k_values), len(sessions))
    silhouettes = pd.DataFrame({"session_id": sessions["session_id"].iloc[sample].to_numpy(), "silhouette": per_row})
    return fit, silhouettes


@dataclass(frozen=True)
class FitMarkers:
    """One fit a built table's rows carry: its settings, when it was fitted, the latest row written since."""

    fitted_on: str | None
    fitted_at: datetime
    latest_built_at: datetime


def current_fit(fits: Sequence[FitMarkers], settings: str, refit_hours: float, now: datetime) -> FitMarkers | None:
    """The table's one fit when it used these settings and is younger than refit_hours; None when the
    clusters are to be fitted again."""
    if len(fits) != 1 or fits[0].fitted_on != settings:
        return None
    if fits[0].fitted_at < now - timedelta(hours=refit_hours):
        return None
    return fits[0]


def assigns(rebuilt_sessions: int, fitted_sessions: int, refit_share: float) -> bool:
    """Whether the rebuilt sessions go to the fit's nearest centroids (else all are refitted): they number at
    most refit_share of the fitted sessions (more is a history import)."""
    return rebuilt_sessions <= refit_share * fitted_sessions
