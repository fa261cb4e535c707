"""K-means sound clusters over the catalog's standardised audio features (``kaggle_track_sound_clusters``).

The clusters are refitted only when the catalog or the settings change: every row carries ``fitted_on``, the
fingerprint of the catalog and of the settings they were fitted on. The fit is deterministic (seeded), so a
build that finds every row fitted on the current fingerprint keeps them.
"""

import pandas as pd

from spotify_analytics.gold_models.features import continuous_features

FEATURES = continuous_features()  # every continuous feature, in the list's order (the fit's column order)
CATALOG_COLUMNS = ["track_id", "catalog_source", *FEATURES]  # what the clusters are fitted on, and fingerprinted


def fingerprint(catalog: str, cluster_count: int, seed: int) -> str:
    """``fitted_on``: the catalog's content fingerprint (``ingest.fingerprint``) and the settings."""
    return f"catalog {catalog}; k={cluster_count}, seed={seed}"


def keeps(built_fingerprints: set[str | None], current: str) -> bool:
    """Whether the built rows stay: every one of them was fitted on the current fingerprint."""
    return built_fingerprints == {current}


def fit(catalog: pd.DataFrame, cluster_count: int, seed: int, fitted_on: str, built_at: pd.Timestamp) -> pd.DataFrame:
    """One row per catalog track (ordered by track id): its cluster, its distance to the cluster's centroid in
    standardised feature space, valence and energy for plotting, and the build markers."""
    from sklearn.cluster import KMeans  # imported here: a build that keeps the clusters never needs it
    from sklearn.preprocessing import StandardScaler

    tracks = catalog.sort_values("track_id", ignore_index=True)
    scaled = StandardScaler().fit_transform(tracks[FEATURES].astype(float))
    kmeans = KMeans(n_clusters=cluster_count, random_state=seed, n_init=10).fit(scaled)
    distances = kmeans.transform(scaled)
    return pd.DataFrame(
        {
            "track_id": tracks["track_id"],
            "cluster_id": kmeans.labels_.astype("int32"),
            "distance_to_centroid": distances[range(len(tracks)), kmeans.labels_].round(6),
            "valence": tracks["valence"],
            "energy": tracks["energy"],
            "catalog_source": tracks["catalog_source"],
            "fitted_on": fitted_on,
            "built_at": built_at,
        }
    )
