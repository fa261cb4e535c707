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

from ingest.bronze.delta import MergeResult, ensure_bronze_database, ensure_table, merge_new_rows, merge_snapshot
from ingest.bronze.schemas import KAGGLE_TRACKS, LISTENING_HISTORY, SYNTHETIC_FEATURES, TRACK_FEATURES
from ingest.config import Settings
from ingest.synthetic.generator import synthetic_features

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def _listened_ids_sql(only_missing: bool) -> str:
    query = f"select distinct track_id from {LISTENING_HISTORY.qualified} p where track_id is not null"
    if only_missing:
        query += (
            f" and not exists (select 1 from {KAGGLE_TRACKS.qualified} k where k.track_id = p.track_id)"
            f" and not exists (select 1 from {TRACK_FEATURES.qualified} f"
            "   where f.track_id = p.track_id and f.features_source is not null)"
            f" and not exists (select 1 from {SYNTHETIC_FEATURES.qualified} s where s.track_id = p.track_id)"
        )
    return query


def _ensure_inputs(spark: "SparkSession") -> None:
    ensure_bronze_database(spark)
    for table in (KAGGLE_TRACKS, LISTENING_HISTORY, TRACK_FEATURES, SYNTHETIC_FEATURES):
        ensure_table(spark, table)


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
        return merge_new_rows(spark, SYNTHETIC_FEATURES, rows)
    return merge_snapshot(spark, SYNTHETIC_FEATURES, rows, "false")


def populate_missing(spark: "SparkSession", settings: Settings) -> MergeResult | None:
    return _generate(spark, settings, only_missing=True)


def generate_all(spark: "SparkSession", settings: Settings) -> MergeResult | None:
    return _generate(spark, settings, only_missing=False)
