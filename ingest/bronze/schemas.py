"""The Bronze contract: columns of every Bronze Delta table, in Spark DDL.

The ingester writes these tables; dbt's sources (models/staging/*/_*__sources.yml) read them. Change a
table here and in its sources file together.
"""

from dataclasses import dataclass

from ingest.catalog.schema import AUDIO_FEATURE_DDL
from ingest.catalog.schema import SPARK_SCHEMA as KAGGLE_CATALOG_COLUMNS

# One row per play, from the recently-played API or a privacy export. Partitioned by the month of played_date.
# Key: play_id = sha256 of user_id | played_at (UTC, ms) | track_uri-or-"artist|title" (see ingest.plays).
LISTENING_HISTORY_COLUMNS = (
    "play_id string, user_id string, played_at timestamp, played_date date, "
    "track_id string, track_name string, artist_name string, album_name string, "
    "ms_played bigint, source string, "  # source: 'api' | 'export_extended' | 'export_classic'
    "reason_start string, reason_end string, skipped boolean, shuffle boolean, offline boolean, "
    "platform string, conn_country string, context_type string, context_uri string, "
    "track_resolution string, "  # 'uri' | 'kaggle_match' | 'search' | 'unresolved:<reason>'
    "landing_file string, row_hash string"
)

# Track metadata per track id; real audio features when the Spotify endpoint answered (else null).
TRACK_FEATURES_COLUMNS = (
    "track_id string, track_name string, artist_ids array<string>, artist_names string, album_name string, "
    "duration_ms bigint, explicit boolean, "
    f"{AUDIO_FEATURE_DDL}, features_source string, "  # 'spotify_api' or null when no real features
    "fetched_at timestamp, row_hash string"
)

# Deterministic synthetic features (hash-seeded per track_id); source is always 'synthetic'.
SYNTHETIC_FEATURES_COLUMNS = (
    f"track_id string, {AUDIO_FEATURE_DDL}, source string, generator_version string, row_hash string"
)

BRONZE_TABLES: dict[str, str] = {
    "kaggle_tracks_bronze": KAGGLE_CATALOG_COLUMNS,
    "listening_history_bronze": LISTENING_HISTORY_COLUMNS,
    "my_tracks_features_bronze": TRACK_FEATURES_COLUMNS,
    "my_tracks_features_bronze_synthetic": SYNTHETIC_FEATURES_COLUMNS,
}


@dataclass(frozen=True)
class MonthPartitioning:
    """Partitions by the month of a date column, held in a generated column: writers never set it, and Delta
    prunes months from filters on the date. (Daily partitions gave a personal history thousands of tiny
    files: one 100K-play export spanning six years wrote 2,399 of them in one load.)"""

    column: str  # the generated partition column, after the table's other columns
    date_column: str
    key: str  # the table's key: a table of an older layout is copied over by an idempotent MERGE on it

    @property
    def column_ddl(self) -> str:
        return f"{self.column} date generated always as (trunc({self.date_column}, 'MM'))"


PARTITIONS: dict[str, MonthPartitioning] = {
    "listening_history_bronze": MonthPartitioning("played_month", "played_date", "play_id"),
}
