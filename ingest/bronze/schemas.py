"""The Bronze contract: columns of every Bronze Delta table, in Spark DDL.

The ingester writes these tables; dbt's sources (models/staging/*/_*__sources.yml) read them. Change a
table here and in its sources file together.
"""

from dataclasses import dataclass

from ingest.kaggle.schema import AUDIO_FEATURE_DDL
from ingest.kaggle.schema import SPARK_SCHEMA as KAGGLE_CATALOG_COLUMNS

# One row per music play, from the recently-played API or a privacy export. Partitioned by the month of
# played_date. Key: play_id = sha256 of user_id | played_at (UTC, ms) | track_uri-or-"artist|title" (see
# ingest.landing.plays). media_type: 'audio', or 'video' for music videos (Streaming_History_Video_*.json).
LISTENING_HISTORY_COLUMNS = (
    "play_id string, user_id string, played_at timestamp, played_date date, "
    "track_id string, track_name string, artist_name string, album_name string, "
    "ms_played bigint, source string, "  # source: 'api' | 'export_extended' | 'export_classic'
    "reason_start string, reason_end string, skipped boolean, shuffle boolean, offline boolean, "
    "platform string, conn_country string, context_type string, context_uri string, "
    "track_resolution string, "  # 'uri' | 'kaggle_match' | 'search' | 'unresolved:<reason>'
    "landing_file string, row_hash string, media_type string"
)

# One row per podcast-episode play (extended exports, classic StreamingHistory_podcast_N.json, video podcasts).
# Key: play_id = sha256 of user_id | played_at (UTC, ms) | episode uri, or show|episode|ms_played (classic).
PODCAST_HISTORY_COLUMNS = (
    "play_id string, user_id string, played_at timestamp, played_date date, episode_name string, "
    "show_name string, episode_uri string, ms_played bigint, source string, reason_start string, "
    "reason_end string, skipped boolean, shuffle boolean, offline boolean, platform string, "
    "conn_country string, landing_file string, row_hash string, media_type string"
)

# One row per audiobook-chapter play (extended exports' audiobook_* fields, classic
# StreamingHistory_audiobook_N.json). Key: play_id = sha256 of user_id | played_at (UTC, ms) | chapter uri, or
# audiobook|chapter|ms_played.
AUDIOBOOK_HISTORY_COLUMNS = (
    "play_id string, user_id string, played_at timestamp, played_date date, audiobook_title string, "
    "chapter_title string, author_name string, audiobook_uri string, chapter_uri string, ms_played bigint, "
    "source string, reason_start string, reason_end string, skipped boolean, shuffle boolean, "
    "offline boolean, platform string, conn_country string, landing_file string, row_hash string"
)

# Records of landed history that are no play: the landing file, the record's place in it, the record (personal
# fields already dropped) and why it was not loaded.
PLAYS_QUARANTINE_COLUMNS = "landing_file string, record_index bigint, raw_record string, reason string"

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
    "podcast_history_bronze": PODCAST_HISTORY_COLUMNS,
    "audiobook_history_bronze": AUDIOBOOK_HISTORY_COLUMNS,
    "my_tracks_features_bronze": TRACK_FEATURES_COLUMNS,
    "my_tracks_features_bronze_synthetic": SYNTHETIC_FEATURES_COLUMNS,
}


def column_names(ddl_columns: str) -> list[str]:
    """The column names of a DDL column list ("a string, b bigint" -> ["a", "b"])."""
    return [column.split()[0] for column in ddl_columns.split(", ")]


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
