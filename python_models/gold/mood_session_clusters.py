"""Mood states: K-means over the audio features of listening sessions (one row per session with features).

Plays are aggregated to sessions in Spark; only the session table comes to pandas. k is chosen by the
mean silhouette on a bounded, seeded sample; the fit is seeded, so the same data gives the same clusters.
The logic: `spotify_analytics.gold_models.mood_states` (and `mood_states_spark`), which
`spotify_analytics.evaluation.clusters` also imports to print the k search.

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

import pandas as pd
from dbt.adapters.spark_lakehouse.replacement import EVERYTHING, each_from, replace_where

from spotify_analytics.gold_models import mood_states as states
from spotify_analytics.gold_models.clock import build_timestamp
from spotify_analytics.gold_models.mood_states_spark import plays_since, rebuilt_from, reusable_fit, session_features

log = logging.getLogger("spotify_analytics.mood_clusters")


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
    states.k_range(k_min, k_max, sessions=0)  # a bad range fails before any work
    settings = states.settings_fingerprint(k_min, k_max, sample_size, seed)
    now = build_timestamp()
    plays = dbt.ref("listening_with_features")

    built = session.table(str(dbt.this)) if dbt.is_incremental else None
    fit = reusable_fit(built, settings, refit_hours, now) if built is not None else None
    if fit is not None:
        changed = plays_since(plays, fit.latest_built_at)
        sessions = session_features(changed).toPandas()
        if states.assigns(len(sessions), len(fit.sessions), refit_share):
            log.info("mood clusters: %d rebuilt sessions to the nearest of the fitted centroids", len(sessions))
            rebuilt = each_from("user_id", "session_start", rebuilt_from(changed))
            assigned = states.nearest_centroid(sessions, fit.sessions).assign(
                fitted_on=settings, fitted_at=fit.fitted_at, built_at=now
            )
            return replace_where(
                dbt, session.createDataFrame(assigned[states.BUILD_COLUMNS], schema=states.BUILD_SCHEMA), rebuilt
            )
        log.info("mood clusters: %d rebuilt sessions outnumber %s of the fitted: refitting", len(sessions), refit_share)

    sessions = session_features(plays).toPandas()
    k_values = states.k_range(k_min, k_max, len(sessions))
    if not k_values:
        log.warning("mood clusters: %d sessions with features are too few for k >= %d", len(sessions), k_min)
        empty = pd.DataFrame(columns=states.BUILD_COLUMNS)
        return replace_where(dbt, session.createDataFrame(empty, schema=states.BUILD_SCHEMA), EVERYTHING)
    clustered = states.cluster_sessions(sessions, k_values, sample_size, seed).assign(
        fitted_on=settings, fitted_at=now, built_at=now
    )
    return replace_where(
        dbt, session.createDataFrame(clustered[states.BUILD_COLUMNS], schema=states.BUILD_SCHEMA), EVERYTHING
    )
