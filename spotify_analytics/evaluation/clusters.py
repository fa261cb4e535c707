"""Readable evaluation of the mood clusters: the silhouette of every k in the configured range on the
model's own seeded sample, the chosen k, and the built clusters' sizes and silhouettes."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ingest.config import Settings
from spotify_analytics.evaluation.gold_models import gold_model, project_vars

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SILVER = "silver.listening_with_features"
CLUSTERS = "gold.mood_clusters"


@dataclass(frozen=True)
class ClusterEvaluation:
    sessions: int
    sample_sessions: int
    silhouette_by_k: dict[int, float]
    chosen_k: int | None
    clusters: pd.DataFrame  # the built gold.mood_clusters (empty when it does not exist)


def evaluate_clusters(spark: "SparkSession", settings: Settings) -> ClusterEvaluation:
    model = gold_model(settings, "mood_session_clusters")
    variables = project_vars(settings)
    seed = int(variables["mood_cluster_seed"])
    sessions = model.session_features(spark.table(SILVER)).toPandas()
    k_values = model.k_range(int(variables["mood_cluster_k_min"]), int(variables["mood_cluster_k_max"]), len(sessions))
    _, _, scaled, sample = model.prepare(sessions, int(variables["mood_cluster_silhouette_sample"]), seed)
    results = model.search_k(scaled, k_values, sample, seed) if k_values else {}
    silhouettes = {k: result[0] for k, result in results.items()}
    chosen = max(silhouettes, key=lambda k: (silhouettes[k], -k)) if silhouettes else None
    columns = "cluster_id, label, sessions, share_of_sessions, silhouette, centroid_valence, centroid_energy"
    built = spark.sql(f"select {columns} from {CLUSTERS} order by cluster_id").toPandas() if _exists(spark) else None
    return ClusterEvaluation(
        len(sessions), len(sample), silhouettes, chosen, built if built is not None else pd.DataFrame()
    )


def _exists(spark: "SparkSession") -> bool:
    return bool(spark.sql("show tables in gold like 'mood_clusters'").collect())


def report(evaluation: ClusterEvaluation) -> str:
    lines = [
        f"Sessions with features: {evaluation.sessions}; silhouette sample: {evaluation.sample_sessions} sessions.",
        "k  mean silhouette (one k-means++ start per k; the chosen k is refitted from ten for the table)",
        *(f"{k:<3}{value:.4f}{'  <- chosen' if k == evaluation.chosen_k else ''}"
          for k, value in evaluation.silhouette_by_k.items()),
    ]  # fmt: skip
    if not evaluation.clusters.empty:
        lines += ["Built gold.mood_clusters:", evaluation.clusters.to_string(index=False)]
    return "\n".join(lines)
