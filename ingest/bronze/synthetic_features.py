"""Fill ``bronze.my_tracks_features_bronze_synthetic`` with deterministic synthetic features.

Two modes: ``generate_all`` (every listened track) and ``populate_missing`` (only listened tracks with
neither real Spotify features nor a Kaggle catalog row, and no synthetic row yet; runs after each load).
Key: ``track_id``; MERGE never deletes, and regenerating gives identical rows, so reruns change nothing.
``populate_missing`` inserts only (its tracks have no synthetic row, so a MERGE that may update or delete
would only add a join over the whole table); ``generate_all`` also updates rows the generator now
computes differently.
With ALLOW_SYNTHETIC=false nothing is generated.
"""

import logging
from typing import TYPE_CHECKING

from ingest.bronze.delta import (
    BRONZE_DATABASE,
    MergeResult,
    ensure_bronze_database,
    ensure_table,
    merge_new_rows,
    merge_snapshot,
)
from ingest.bronze.schemas import (
    LISTENING_HISTORY_COLUMNS,
    PARTITIONS,
    SYNTHETIC_FEATURES_COLUMNS,
    TRACK_FEATURES_COLUMNS,
)
from ingest.bronze.track_features import TABLE as FEATURES_TABLE
from ingest.config import Settings
from ingest.kaggle.schema import SPARK_SCHEMA as CATALOG_COLUMNS
from ingest.synthetic.generator import synthetic_features

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

TABLE = "my_tracks_features_bronze_synthetic"
PLAYS = f"{BRONZE_DATABASE}.listening_history_bronze"


def _listened_ids_sql(only_missing: bool) -> str:
    query = f"select distinct track_id from {PLAYS} p where track_id is not null"
    if only_missing:
        query += (
            f" and not exists (select 1 from {BRONZE_DATABASE}.kaggle_tracks_bronze k where k.track_id = p.track_id)"
            f" and not exists (select 1 from {BRONZE_DATABASE}.{FEATURES_TABLE} f"
            "   where f.track_id = p.track_id and f.features_source is not null)"
            f" and not exists (select 1 from {BRONZE_DATABASE}.{TABLE} s where s.track_id = p.track_id)"
        )
    return query


def _ensure_inputs(spark: "SparkSession") -> None:
    ensure_bronze_database(spark)
    ensure_table(spark, "kaggle_tracks_bronze", f"{CATALOG_COLUMNS}, loaded_at timestamp")
    ensure_table(
        spark,
        "listening_history_bronze",
        f"{LISTENING_HISTORY_COLUMNS}, loaded_at timestamp",
        PARTITIONS["listening_history_bronze"],
    )
    ensure_table(spark, FEATURES_TABLE, f"{TRACK_FEATURES_COLUMNS}, loaded_at timestamp")
    ensure_table(spark, TABLE, f"{SYNTHETIC_FEATURES_COLUMNS}, loaded_at timestamp")


def _generate(spark: "SparkSession", settings: Settings, only_missing: bool) -> MergeResult | None:
    if not settings.allow_synthetic:
        log.info("ALLOW_SYNTHETIC=false: no synthetic features generated")
        return None
    _ensure_inputs(spark)
    ids = [row.track_id for row in spark.sql(_listened_ids_sql(only_missing)).collect()]
    if not ids:
        return None
    log.info("Generating synthetic features for %d tracks", len(ids))
    rows = synthetic_features(ids)
    if only_missing:
        return merge_new_rows(spark, TABLE, rows, SYNTHETIC_FEATURES_COLUMNS, ["track_id"])
    return merge_snapshot(spark, TABLE, rows, SYNTHETIC_FEATURES_COLUMNS, ["track_id"], "false")


def populate_missing(spark: "SparkSession", settings: Settings) -> MergeResult | None:
    return _generate(spark, settings, only_missing=True)


def generate_all(spark: "SparkSession", settings: Settings) -> MergeResult | None:
    return _generate(spark, settings, only_missing=False)
