"""``load all``: everything landed → Bronze, in dependency order, each step idempotent.

catalog (``kaggle_tracks_bronze``) → plays (``listening_history_bronze``, podcasts, quarantine) → track
metadata/features (``my_tracks_features_bronze``) → synthetic features for tracks without any.
"""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.bronze.delta import MergeResult
from ingest.bronze.kaggle_tracks import CatalogLoad, load_catalog
from ingest.bronze.listening_history import PlaysLoad, load_plays
from ingest.bronze.synthetic_features import populate_missing
from ingest.bronze.track_features import load_track_features
from ingest.config import Settings
from ingest.lakehouse.watchdog import doing

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AllLoad:
    catalog: CatalogLoad | None
    plays: PlaysLoad
    tracks: MergeResult | None
    synthetic: MergeResult | None


def load_all(spark: "SparkSession", settings: Settings, with_catalog: bool = True) -> AllLoad:
    with doing("loading the catalog"):
        catalog = load_catalog(spark, settings) if with_catalog else None
    with doing("loading plays"):
        plays = load_plays(spark, settings)
    with doing("loading track features"):
        tracks = load_track_features(spark, settings)
    with doing("making synthetic features"):
        synthetic = populate_missing(spark, settings)
    return AllLoad(catalog, plays, tracks, synthetic)
