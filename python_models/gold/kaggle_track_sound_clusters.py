"""K-means sound clusters over the catalog's standardised audio features (one row per track).

Refitted only when its inputs change. Every row carries `fitted_on`: the fingerprint of the catalog (see
`ingest.fingerprint`) and of the settings (cluster count, seed) the clusters were fitted on. A build that
finds every row fitted on the fingerprint it computes keeps the rows as they are and writes nothing: the fit
is deterministic, so refitting would give the same clusters. A refit replaces every row. A full refresh
always refits.
"""

import logging
from datetime import UTC, datetime

import pandas as pd
from dbt.adapters.spark_lakehouse.replacement import EVERYTHING, KEEP, replace_where

from ingest.fingerprint import content_fingerprint, fitted_on

log = logging.getLogger("spotify_analytics.kaggle_track_sound_clusters")

FEATURES = [
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
]


def fit(catalog, cluster_count: int, seed: int, fingerprint_: str) -> pd.DataFrame:
    from sklearn.cluster import KMeans  # imported here: a build that keeps the clusters never needs it
    from sklearn.preprocessing import StandardScaler

    tracks = catalog.toPandas().sort_values("track_id", ignore_index=True)
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
            "fitted_on": fingerprint_,
            "built_at": pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)),
        }
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="replace_where",  # nothing when kept, every row after a refit
        on_schema_change="append_new_columns",
        packages=["scikit-learn", "pandas"],
    )
    cluster_count = int(dbt.config.meta_get("cluster_count"))
    seed = int(dbt.config.meta_get("seed"))

    catalog = dbt.ref("stg_kaggle__tracks").select("track_id", "catalog_source", *FEATURES)
    current = f"catalog {content_fingerprint(catalog, catalog.columns)}; k={cluster_count}, seed={seed}"
    if dbt.is_incremental:
        built = session.table(str(dbt.this))
        if fitted_on(built) == {current}:
            log.info("catalog sound clusters: kept (fitted on %s)", current)
            return replace_where(dbt, built.limit(0), KEEP)
    log.info("catalog sound clusters: fitting on %s", current)
    return replace_where(dbt, session.createDataFrame(fit(catalog, cluster_count, seed, current)), EVERYTHING)
