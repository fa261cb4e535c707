"""Hold-out check of ``track_recommendations``: hide each listener's latest plays, recommend from the
earlier ones with the model's own code, and count how often a recommended song is among the hidden new
songs, next to a popularity baseline."""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ingest.config import Settings
from spotify_analytics.evaluation.dbt_vars import project_vars
from spotify_analytics.gold_models.recommendations import RecommendationParams, song_key
from spotify_analytics.gold_models.recommendations_spark import (
    build_recommendations,
    heavy_tracks,
    listener_tracks,
    song_key_column,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

SILVER = "silver.listening_with_features"
CATALOG = "staging.stg_kaggle__tracks"


@dataclass(frozen=True)
class MethodScore:
    method: str
    list_size: int
    hit_rate: float  # share of evaluated listeners with at least one hit
    mean_hits: float  # hits per evaluated listener


@dataclass(frozen=True)
class RecommendationEvaluation:
    holdout_plays: int
    listeners: int
    evaluated_listeners: int  # listeners with at least one held-out song they did not already play heavily
    scores: list[MethodScore]


def split_latest(plays: "DataFrame", holdout_plays: int) -> tuple["DataFrame", "DataFrame"]:
    """(earlier plays, each listener's latest ``holdout_plays`` plays)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    latest_first = Window.partitionBy("user_id").orderBy(F.desc("played_at"), F.desc("play_id"))
    ranked = plays.withColumn("recency", F.row_number().over(latest_first))
    return ranked.where(F.col("recency") > holdout_plays).drop("recency"), ranked.where(
        F.col("recency") <= holdout_plays
    ).drop("recency")


def params_from_vars(variables: dict[str, Any]) -> RecommendationParams:
    return RecommendationParams(
        count=int(variables["recommendation_count"]),
        profile_plays=int(variables["recommendation_profile_plays"]),
        heavy_play_count=int(variables["recommendation_heavy_play_count"]),
        valence_lift=float(variables["recommendation_valence_lift"]),
        energy_tolerance=float(variables["recommendation_energy_tolerance"]),
    )


def popularity_lists(earlier: "DataFrame", heavy: pd.DataFrame, users: list[str], size: int) -> pd.DataFrame:
    """Per listener: the most played songs of all listeners in the earlier plays, minus their heavy songs."""
    from pyspark.sql import functions as F

    ranked = (
        earlier.groupBy(song_key_column().alias("song_key"))
        .agg(F.count(F.lit(1)).alias("plays"))
        .orderBy(F.desc("plays"), "song_key")
        .limit(size + int(heavy.groupby("user_id").size().max() if len(heavy) else 0))
        .toPandas()["song_key"]
    )
    rows = []
    for user_id in users:
        excluded = set(heavy.loc[heavy["user_id"] == user_id, "song_key"])
        rows += [{"user_id": user_id, "song_key": key} for key in ranked if key not in excluded][:size]
    return pd.DataFrame(rows, columns=["user_id", "song_key"])


def score(method: str, size: int, picks: pd.DataFrame, targets: pd.DataFrame) -> MethodScore:
    users = targets["user_id"].unique()
    hits = picks.merge(targets, on=["user_id", "song_key"]).groupby("user_id").size().reindex(users, fill_value=0)
    return MethodScore(method, size, float((hits > 0).mean()) if len(users) else 0.0, float(hits.mean() or 0.0))


def evaluate_recommendations(spark: "SparkSession", settings: Settings, holdout_plays: int) -> RecommendationEvaluation:
    params = params_from_vars(project_vars(settings))
    earlier, latest = split_latest(spark.table(SILVER), holdout_plays)

    recommended = build_recommendations(earlier, spark.table(CATALOG), params)
    recommended["song_key"] = song_key(recommended["track_id"], recommended["track_name"], recommended["artist_name"])
    heavy = heavy_tracks(listener_tracks(earlier), params.heavy_play_count)
    held_out = latest.select("user_id", song_key_column().alias("song_key")).distinct().toPandas()
    targets = held_out.merge(heavy, on=["user_id", "song_key"], how="left", indicator=True)
    targets = targets.loc[targets["_merge"] == "left_only", ["user_id", "song_key"]]
    users = sorted(recommended["user_id"].unique())
    popular = popularity_lists(earlier, heavy, users, 2 * params.count)
    top_popular = popular.groupby("user_id").head(params.count)

    of_type = recommended["recommendation_type"]
    scores = [
        score("similar", params.count, recommended[of_type == "similar"], targets),
        score("mood_directed", params.count, recommended[of_type == "mood_directed"], targets),
        score("popularity baseline", params.count, top_popular, targets),
        score("similar + mood_directed", 2 * params.count, recommended, targets),
        score("popularity baseline", 2 * params.count, popular, targets),
    ]
    return RecommendationEvaluation(holdout_plays, held_out["user_id"].nunique(), targets["user_id"].nunique(), scores)


def report(evaluation: RecommendationEvaluation) -> str:
    lines = [
        f"Hold-out: each listener's latest {evaluation.holdout_plays} plays; {evaluation.listeners} listeners, "
        f"{evaluation.evaluated_listeners} with held-out songs they had not played heavily before.",
        f"{'method':<26}{'list':>6}{'hit rate':>10}{'mean hits':>11}",
    ]
    lines += [f"{s.method:<26}{s.list_size:>6}{s.hit_rate:>10.3f}{s.mean_hits:>11.2f}" for s in evaluation.scores]
    return "\n".join(lines)
