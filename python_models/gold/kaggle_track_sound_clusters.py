"""K-means sound clusters over the catalog's standardised audio features (one row per track).

Refitted only when its inputs change. Every row carries `fitted_on`: the fingerprint of the catalog (see
`ingest.fingerprint`) and of the settings (cluster count, seed) the clusters were fitted on. A build that
finds every row fitted on the fingerprint it computes keeps the rows as they are and writes nothing: the fit
is deterministic, so refitting would give the same clusters. A refit replaces every row. A full refresh
always refits. The logic: `spotify_analytics.gold_models.sound_clusters`.
"""

import logging

from dbt.adapters.spark_lakehouse.replacement import EVERYTHING, KEEP, replace_where

from ingest.fingerprint import content_fingerprint, fitted_on
from spotify_analytics.gold_models.clock import build_timestamp
from spotify_analytics.gold_models.sound_clusters import CATALOG_COLUMNS, fingerprint, fit, keeps

log = logging.getLogger("spotify_analytics.kaggle_track_sound_clusters")


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="replace_where",  # nothing when kept, every row after a refit
        on_schema_change="append_new_columns",
        packages=["scikit-learn", "pandas"],
    )
    cluster_count = int(dbt.config.meta_get("cluster_count"))
    seed = int(dbt.config.meta_get("seed"))

    catalog = dbt.ref("stg_kaggle__tracks").select(*CATALOG_COLUMNS)
    current = fingerprint(content_fingerprint(catalog, catalog.columns), cluster_count, seed)
    if dbt.is_incremental:
        built = session.table(str(dbt.this))
        if keeps(fitted_on(built), current):
            log.info("catalog sound clusters: kept (fitted on %s)", current)
            return replace_where(dbt, built.limit(0), KEEP)
    log.info("catalog sound clusters: fitting on %s", current)
    clusters = fit(catalog.toPandas(), cluster_count, seed, current, build_timestamp())
    return replace_where(dbt, session.createDataFrame(clusters), EVERYTHING)
