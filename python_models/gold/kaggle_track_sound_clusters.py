"""K-means sound clusters over the catalog's standardised audio features (one row per track)."""

import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

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


def model(dbt, session):
    dbt.config(materialized="table", packages=["scikit-learn", "pandas"])
    cluster_count = int(dbt.config.meta_get("cluster_count"))
    seed = int(dbt.config.meta_get("seed"))

    tracks = (
        dbt.ref("stg_kaggle__tracks")
        .select("track_id", "catalog_source", *FEATURES)
        .toPandas()
        .sort_values("track_id", ignore_index=True)
    )
    scaled = StandardScaler().fit_transform(tracks[FEATURES].astype(float))
    kmeans = KMeans(n_clusters=cluster_count, random_state=seed, n_init=10).fit(scaled)
    distances = kmeans.transform(scaled)

    result = pd.DataFrame(
        {
            "track_id": tracks["track_id"],
            "cluster_id": kmeans.labels_.astype("int32"),
            "distance_to_centroid": distances[range(len(tracks)), kmeans.labels_].round(6),
            "valence": tracks["valence"],
            "energy": tracks["energy"],
            "catalog_source": tracks["catalog_source"],
        }
    )
    return session.createDataFrame(result)
