"""Per listener: tracks that sound like their recent listening, and mood-directed picks toward a brighter
target (higher valence at similar energy), never tracks they already play heavily.

The logic: `spotify_analytics.gold_models.recommendations` (pandas, numpy) and `recommendations_spark` (the
per-play work in Spark), which `spotify_analytics.evaluation.recommendations` also imports for the offline
hold-out check. Incremental: when the catalog and parameters are those of the last build, only the listeners
with plays Silver rebuilt since are recomputed; otherwise every listener.
"""

import logging

from dbt.adapters.spark_lakehouse.replacement import EVERYTHING, among, replace_where

from ingest.fingerprint import content_fingerprint
from spotify_analytics.gold_models import recommendations as recs
from spotify_analytics.gold_models.clock import build_timestamp
from spotify_analytics.gold_models.recommendations_spark import (
    build_recommendations,
    builds,
    changed_listeners,
    of_listeners,
)

log = logging.getLogger("spotify_analytics.track_recommendations")


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="replace_where",  # the recomputed listeners' rows, or every row
        on_schema_change="append_new_columns",
        packages=["pandas", "numpy"],
    )
    # dbt reads the config keys from these literal calls, so they stay in model().
    params = recs.validated(
        recs.RecommendationParams(
            count=int(dbt.config.meta_get("count")),
            profile_plays=int(dbt.config.meta_get("profile_plays")),
            heavy_play_count=int(dbt.config.meta_get("heavy_play_count")),
            valence_lift=float(dbt.config.meta_get("valence_lift")),
            energy_tolerance=float(dbt.config.meta_get("energy_tolerance")),
        )
    )
    plays = dbt.ref("listening_with_features")
    catalog = dbt.ref("stg_kaggle__tracks")
    current = recs.fingerprint(content_fingerprint(catalog, recs.CANDIDATE_COLUMNS), params)
    recomputed = EVERYTHING
    since = recs.recompute_since(builds(session.table(str(dbt.this))), current) if dbt.is_incremental else None
    if since is not None:
        listeners = changed_listeners(plays, since)
        plays = of_listeners(plays, listeners)
        recomputed = among("user_id", listeners)
    fresh = build_recommendations(plays, catalog, params).assign(fitted_on=current, built_at=build_timestamp())
    log.info("track recommendations: recomputed %d listeners", fresh["user_id"].nunique())
    return replace_where(dbt, session.createDataFrame(fresh, schema=recs.BUILD_SCHEMA), recomputed)
