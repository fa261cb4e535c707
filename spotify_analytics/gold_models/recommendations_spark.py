"""The Spark side of the recommendations: the per-play work over Silver (recent plays, heavy songs, each
listener's own tracks), of which only small tables come to pandas for ``recommendations.recommend``."""

from datetime import datetime

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spotify_analytics.gold_models.recommendations import FEATURES, RecommendationParams, recommend


def song_key_column() -> Column:
    """``recommendations.song_key()`` as a Spark column over track_id, track_name and artist_name."""
    title = F.lower(F.trim("track_name"))
    return F.when(F.coalesce(title, F.lit("")) == "", F.col("track_id")).otherwise(
        F.concat_ws("|", title, F.lower(F.trim(F.split("artist_name", ";").getItem(0))))
    )


def recent_plays(plays: DataFrame, profile_plays: int) -> pd.DataFrame:
    """Each listener's latest plays with features (Spark), as pandas."""
    latest_first = Window.partitionBy("user_id").orderBy(F.desc("played_at"), F.desc("play_id"))
    return (
        plays.where(F.col("has_features"))
        .withColumn("recency", F.row_number().over(latest_first))
        .where(F.col("recency") <= profile_plays)
        .select("user_id", "ms_played", *FEATURES)
        .toPandas()
    )


def listener_tracks(plays: DataFrame) -> DataFrame:
    """Plays per listener and track as spelled (track id, title, artist), with the track's features: the one
    pass over Silver that heavy_tracks(), heavy_track_ids() and candidate_tracks() read from."""
    return plays.groupBy("user_id", "track_id", "track_name", "artist_name").agg(
        F.count(F.lit(1)).alias("plays"),
        F.bool_or("has_features").alias("has_features"),
        *[F.first(name, ignorenulls=True).alias(name) for name in FEATURES],
    )


def heavy_tracks(tracks: DataFrame, heavy_play_count: int) -> pd.DataFrame:
    """(user_id, song_key) of songs each listener played at least heavy_play_count times."""
    return (
        tracks.groupBy("user_id", song_key_column().alias("song_key"))
        .agg(F.sum("plays").alias("plays"))
        .where(F.col("plays") >= heavy_play_count)
        .select("user_id", "song_key")
        .toPandas()
    )


def heavy_track_ids(tracks: DataFrame, heavy_play_count: int) -> pd.DataFrame:
    """(user_id, track_id) of tracks each listener played at least heavy_play_count times, however the plays
    spell their titles (a classic export's names need not match the catalog's)."""
    return (
        tracks.where(F.col("track_id").isNotNull())
        .groupBy("user_id", "track_id")
        .agg(F.sum("plays").alias("plays"))
        .where(F.col("plays") >= heavy_play_count)
        .select("user_id", "track_id")
        .toPandas()
    )


def candidate_tracks(tracks: DataFrame, catalog: DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates (catalog first, then listeners' own tracks not in it) and who owns which own track."""
    catalog_rows = catalog.select(
        "track_id", "track_name", F.col("artist_names").alias("artist_name"), *FEATURES
    ).withColumn("candidate_source", F.lit("catalog"))
    own = tracks.where(F.col("has_features")).join(catalog.select("track_id"), "track_id", "left_anti")
    own_rows = (
        own.groupBy("track_id")
        .agg(
            F.min("track_name").alias("track_name"),
            F.min("artist_name").alias("artist_name"),
            *[F.first(name, ignorenulls=True).alias(name) for name in FEATURES],
        )
        .withColumn("candidate_source", F.lit("own"))
    )
    candidates = catalog_rows.unionByName(own_rows).toPandas().sort_values("track_id", ignore_index=True)
    owners = own.select("user_id", "track_id").distinct().toPandas()
    return candidates, owners


def build_recommendations(plays: DataFrame, catalog: DataFrame, params: RecommendationParams) -> pd.DataFrame:
    """From Silver plays and the catalog (Spark DataFrames) to the recommendation rows (pandas)."""
    recent = recent_plays(plays, params.profile_plays)
    tracks = listener_tracks(plays).persist()  # on the server; read three times below
    try:
        heavy = heavy_tracks(tracks, params.heavy_play_count)
        heavy_ids = heavy_track_ids(tracks, params.heavy_play_count)
        candidates, owners = candidate_tracks(tracks, catalog)
    finally:
        tracks.unpersist()
    return recommend(recent, heavy, candidates, owners, params, heavy_ids)


def builds(built: DataFrame) -> list[tuple[str | None, datetime]]:
    """The built table's (fitted_on, latest built_at) pairs; none when a version without the markers built it."""
    if not {"fitted_on", "built_at"} <= set(built.columns):
        return []
    rows = built.groupBy("fitted_on").agg(F.max("built_at").alias("since")).collect()
    return [(row.fitted_on, row.since) for row in rows]


def changed_listeners(plays: DataFrame, since: datetime) -> list[str]:
    """The listeners with plays Silver built after since."""
    changed = plays.where(F.col("built_at") > F.lit(since)).select("user_id").distinct().collect()
    return [row.user_id for row in changed]


def of_listeners(plays: DataFrame, listeners: list[str]) -> DataFrame:
    """Their plays: a literal list, filtered in the scan, not joined."""
    return plays.where(F.col("user_id").isin(listeners))
