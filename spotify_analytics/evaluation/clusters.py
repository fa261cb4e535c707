"""Readable evaluation of the mood clusters: the silhouette of every k in the configured range on the
model's own seeded sample, the chosen k, and the built clusters' sizes and silhouettes."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ingest.config import Settings
from spotify_analytics.evaluation.dbt_vars import project_vars
from spotify_analytics.gold_models.mood_states import best_k, k_range, prepare, search_k
from spotify_analytics.gold_models.mood_states_spark import fit_sample, session_features

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SILVER = "silver.listening_with_features"
CLUSTERS = "gold.mood_clusters"


@dataclass(frozen=True)
class ClusterEvaluation:
    sessions: int
    fit_sessions: int  # the fit's sample: all sessions, or mood_cluster_fit_sessions of them
    sample_sessions: int
    silhouette_by_k: dict[int, float]
    chosen_k: int | None
    clusters: pd.DataFrame  # the built gold.mood_clusters (empty when it does not exist)


def evaluate_clusters(spark: "SparkSession", settings: Settings) -> ClusterEvaluation:
    variables = project_vars(settings)
    seed = int(variables["mood_cluster_seed"])
    every_session = session_features(spark.table(SILVER))
    sessions = fit_sample(every_session, int(variables["mood_cluster_fit_sessions"]), seed)  # what the model fits
    k_values = k_range(int(variables["mood_cluster_k_min"]), int(variables["mood_cluster_k_max"]), len(sessions))
    _, _, scaled, sample = prepare(sessions, int(variables["mood_cluster_silhouette_sample"]), seed)
    results = search_k(scaled, k_values, sample, seed) if k_values else {}
    silhouettes = {k: result[0] for k, result in results.items()}
    chosen = best_k(silhouettes) if silhouettes else None
    columns = "cluster_id, label, sessions, share_of_sessions, silhouette, centroid_valence, centroid_energy"
    built = spark.sql(f"select {columns} from {CLUSTERS} order by cluster_id").toPandas() if _exists(spark) else None
    return ClusterEvaluation(
        every_session.count(),
        len(sessions),
        len(sample),
        silhouettes,
        chosen,
        built if built is not None else pd.DataFrame(),
    )


def _exists(spark: "SparkSession") -> bool:
    return bool(spark.sql("show tables in gold like 'mood_clusters'").collect())


def report(evaluation: ClusterEvaluation) -> str:
    lines = [
        f"Sessions with features: {evaluation.sessions}; fitted on: {evaluation.fit_sessions}; "
        f"silhouette sample: {evaluation.sample_sessions} sessions.",
        "k  mean silhouette (one k-means++ start per k; the chosen k is refitted from ten for the table)",
        *(f"{k:<3}{value:.4f}{'  <- chosen' if k == evaluation.chosen_k else ''}"
          for k, value in evaluation.silhouette_by_k.items()),
    ]  # fmt: skip
    if not evaluation.clusters.empty:
        lines += ["Built gold.mood_clusters:", evaluation.clusters.to_string(index=False)]
    return "\n".join(lines)
