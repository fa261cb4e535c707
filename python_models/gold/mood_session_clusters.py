"""Mood states: K-means over the audio features of listening sessions (one row per session with features).

Plays are aggregated to sessions in Spark. The fit reads a seeded sample of at most `var('mood_cluster_fit_sessions')`
sessions (all of them when there are fewer), the only table that comes to pandas; k is chosen by the mean silhouette
on a bounded, seeded sample of those; the fit is seeded, so the same data gives the same clusters. Every session is
then assigned to the fit's nearest centroid in Spark and written from there, so memory does not grow with the
sessions. The logic: `spotify_analytics.gold_models.mood_states` (and `mood_states_spark`), which
`spotify_analytics.evaluation.clusters` also imports to print the k search.

Incremental: the clusters are refitted when the fit is older than `var('mood_cluster_refit_hours')`, when the
sessions Silver rebuilt since the last build outnumber `var('mood_cluster_refit_share')` of the fitted ones (a
history import), when the settings change and on a full refresh. Between refits a build assigns the sessions
Silver rebuilt since its latest `built_at` to the nearest centroid of the fit and writes only those: per listener,
they replace the rows from the start of the first rebuilt session on; every other session's row stays as it was.
The centroids and the standardisation come from the rows the fit wrote (`built_at` = `fitted_at`) that the table
still holds: a fitted session that new plays later joined is replaced by its assigned row, so they drift from the
fit's by that little until the next refit.
"""

import logging

from dbt.adapters.spark_lakehouse.replacement import EVERYTHING, each_from, replace_where
from pyspark.sql import functions as F

from spotify_analytics.gold_models import mood_states as states
from spotify_analytics.gold_models.clock import build_timestamp
from spotify_analytics.gold_models.mood_states_spark import (
    as_built,
    assigned,
    fit_sample,
    plays_since,
    rebuilt_from,
    reusable_fit,
    session_features,
    timestamp_literal,
)

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
    fit_sessions = int(dbt.config.meta_get("fit_sessions"))
    refit_hours = float(dbt.config.meta_get("refit_hours"))
    refit_share = float(dbt.config.meta_get("refit_share"))
    states.k_range(k_min, k_max, sessions=0)  # a bad range fails before any work
    if fit_sessions < 2 * k_max:
        raise ValueError(f"mood_cluster_fit_sessions ({fit_sessions}) must leave two sessions per cluster of k_max")
    settings = states.settings_fingerprint(k_min, k_max, sample_size, seed, fit_sessions)
    now = build_timestamp()
    plays = dbt.ref("listening_with_features")
    stamps = {"fitted_on": F.lit(settings), "built_at": timestamp_literal(now)}

    built = session.table(str(dbt.this)) if dbt.is_incremental else None
    fit = reusable_fit(built, settings, refit_hours, now) if built is not None else None
    if fit is not None:
        changed = plays_since(plays, fit.latest_built_at)
        sessions = session_features(changed)
        rebuilt = sessions.count()
        if states.assigns(rebuilt, fit.fitted_sessions, refit_share):
            log.info("mood clusters: %d rebuilt sessions to the nearest of the fitted centroids", rebuilt)
            rows = assigned(sessions, fit.mood).withColumns(
                {"silhouette": F.lit(None), "fitted_at": timestamp_literal(fit.fitted_at), **stamps}
            )
            return replace_where(dbt, as_built(rows), each_from("user_id", "session_start", rebuilt_from(changed)))
        log.info("mood clusters: %d rebuilt sessions outnumber %s of the fitted: refitting", rebuilt, refit_share)

    sessions = session_features(plays)
    sample = fit_sample(sessions, fit_sessions, seed)
    k_values = states.k_range(k_min, k_max, len(sample))
    if not k_values:
        log.warning("mood clusters: %d sessions with features are too few for k >= %d", len(sample), k_min)
        return replace_where(dbt, as_built(sessions.limit(0).withColumns(empty_columns())), EVERYTHING)
    mood, silhouettes = states.fit_moods(sample, k_values, sample_size, seed)
    scored = session.createDataFrame(silhouettes, schema="session_id string, silhouette double")
    rows = assigned(sessions, mood).join(F.broadcast(scored), "session_id", "left")
    return replace_where(dbt, as_built(rows.withColumns({"fitted_at": timestamp_literal(now), **stamps})), EVERYTHING)


def empty_columns():
    """The columns a fit adds, for an empty table."""
    return {name: F.lit(None) for name in ("cluster_id", "label", "silhouette", "fitted_on", "fitted_at", "built_at")}
