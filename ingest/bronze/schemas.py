"""The Bronze contract: every Bronze Delta table, declared once (``ingest.bronze.declaration``).

The loaders create and MERGE them from these declarations, the landing code takes its column order from
them, the quality gate (``spotify_analytics.quality.suites``) its not-null, key and range checks, and dbt's
sources (``models/staging/<system>/_<system>__sources.yml``) are generated from them by
``python -m ingest.bronze.dbt_sources``. The audio features come from ``ingest.audio_features``.
"""

from ingest.bronze.declaration import (
    BRONZE_DATABASE,
    BronzeTable,
    Column,
    Freshness,
    MonthPartitioning,
    NotRefreshed,
    feature_columns,
)

__all__ = ["BRONZE_DATABASE", "BRONZE_TABLES", "BronzeTable", "Column", "MonthPartitioning"]

MAX_DURATION_MS = 24 * 3600 * 1000  # one play (or track) longer than a day is not one
PLAY_SOURCES = ("api", "export_extended", "export_classic")
EXPORT_SOURCES = ("export_extended", "export_classic")
MEDIA_TYPES = ("audio", "video")
EMPTY_UNTIL_LOADED = "Until the ingester has created it, staging reads an empty relation with these columns."
EXTENDED_ONLY = "(extended export only)"


def _listener_and_time(what: str, key: str) -> tuple[Column, ...]:
    """The columns every table of plays starts with: its key, the listener, when and the day."""
    return (
        Column("play_id", "string", f"sha256 of user_id | played_at (UTC, ms) | {key}; the key.", required=True),
        Column("user_id", "string", "Pseudonymous listener id (salted hash).", required=True),
        Column("played_at", "timestamp", f"When the {what}, UTC.", required=True),
    )


def _ms_played() -> Column:
    return Column("ms_played", "bigint", "Milliseconds listened.", required=True, valid_range=(0, MAX_DURATION_MS))


def _playback(sources: tuple[str, ...]) -> tuple[Column, ...]:
    """What a play's source says about its playback (the extended export says most)."""
    return (
        Column("source", "string", f"Where the play came from: {', '.join(map(repr, sources))}.", accepted=sources),
        Column("reason_start", "string", f"Why the play started {EXTENDED_ONLY}."),
        Column("reason_end", "string", f"Why the play ended {EXTENDED_ONLY}."),
        Column("skipped", "boolean", "Whether the listener skipped; null when the source does not say."),
        Column("shuffle", "boolean", f"Whether shuffle was on {EXTENDED_ONLY}."),
        Column("offline", "boolean", f"Whether the play was offline {EXTENDED_ONLY}."),
        Column("platform", "string", f"Device platform {EXTENDED_ONLY}."),
        Column("conn_country", "string", f"Country of the connection {EXTENDED_ONLY}."),
    )


def _landing_and_hash() -> tuple[Column, ...]:
    return (
        Column("landing_file", "string", "The landed file the play came from."),
        Column("row_hash", "string", "Hash of the row's content (every column but landing_file)."),
    )


PLAYS_BY_MONTH = MonthPartitioning("played_month", "played_date")
INSERTED_ONLY = Column("loaded_at", "timestamp", "When the ingester's MERGE inserted the row (plays never change).")
SPOKEN_WORD = NotRefreshed("only listeners who play podcasts or audiobooks and import an export add rows")

LISTENING_HISTORY = BronzeTable(
    name="listening_history_bronze",
    system="spotify",
    description=(
        "One row per music play from the recently-played API or a privacy export (extended or classic), "
        f"partitioned by month (`played_month`, generated from `played_date`). Key: `play_id`. {EMPTY_UNTIL_LOADED}"
    ),
    columns=(
        *_listener_and_time("play happened", 'track uri or "artist|title"'),
        Column("played_date", "date", "UTC date of `played_at`; its month is the partition column `played_month`."),
        Column("track_id", "string", "Spotify track id; null when the play could not be resolved to a track."),
        Column("track_name", "string", "Track title as the source gave it."),
        Column("artist_name", "string", "Artist as the source gave it."),
        Column("album_name", "string", "Album title as the source gave it."),
        _ms_played(),
        *_playback(PLAY_SOURCES),
        Column("context_type", "string", "Playback context type (API only), e.g. playlist or album."),
        Column("context_uri", "string", "Playback context URI (API only)."),
        Column(
            "track_resolution",
            "string",
            "How track_id was found: 'uri', 'kaggle_match', 'search' or 'unresolved:<reason>'.",
        ),
        *_landing_and_hash(),
        Column(
            "media_type",
            "string",
            "'audio', or 'video' for a music video (a `Streaming_History_Video_*.json` record with a track URI); "
            "null for plays loaded by versions before this column.",
            accepted=MEDIA_TYPES,
        ),
    ),
    key=("play_id",),
    partitioning=PLAYS_BY_MONTH,
    stamp=INSERTED_ONLY,
    freshness=Freshness("played_at", warn_after_days=1, error_after_days=7),
)

PODCAST_HISTORY = BronzeTable(
    name="podcast_history_bronze",
    system="spotify",
    description=(
        "One row per podcast-episode play: extended exports' records with an episode URI or name (audio and video "
        f"podcasts) and the classic `StreamingHistory_podcast_N.json`. Key: `play_id`. {EMPTY_UNTIL_LOADED}"
    ),
    columns=(
        *_listener_and_time("play ended", "episode uri, or show|episode|ms_played"),
        Column("played_date", "date", "UTC date of `played_at`."),
        Column("episode_name", "string", "Episode title."),
        Column("show_name", "string", "Podcast (show) title."),
        Column("episode_uri", "string", "Spotify episode URI; null in classic exports."),
        _ms_played(),
        *_playback(EXPORT_SOURCES),
        *_landing_and_hash(),
        Column("media_type", "string", "'audio', or 'video' for a video podcast (`Streaming_History_Video_*.json`)."),
    ),
    key=("play_id",),
    stamp=INSERTED_ONLY,
    freshness=SPOKEN_WORD,
)

AUDIOBOOK_HISTORY = BronzeTable(
    name="audiobook_history_bronze",
    system="spotify",
    description=(
        "One row per audiobook-chapter play: extended exports' records with `audiobook_*` fields and the classic "
        f"`StreamingHistory_audiobook_N.json`. Key: `play_id`. {EMPTY_UNTIL_LOADED}"
    ),
    columns=(
        *_listener_and_time("play ended", "chapter uri, or audiobook|chapter|ms_played"),
        Column("played_date", "date", "UTC date of `played_at`."),
        Column("audiobook_title", "string", "Title of the audiobook."),
        Column("chapter_title", "string", "Title of the chapter."),
        Column("author_name", "string", "Author (classic export only)."),
        Column("audiobook_uri", "string", f"Spotify audiobook URI {EXTENDED_ONLY}."),
        Column("chapter_uri", "string", f"Spotify chapter URI {EXTENDED_ONLY}."),
        _ms_played(),
        *_playback(EXPORT_SOURCES),
        *_landing_and_hash(),
    ),
    key=("play_id",),
    stamp=INSERTED_ONLY,
    freshness=SPOKEN_WORD,
)

TRACK_FEATURES = BronzeTable(
    name="my_tracks_features_bronze",
    system="spotify",
    description=(
        "Metadata of the listener's tracks, one row per track id, with real audio features when the Spotify "
        "audio-features endpoint answered (`features_source = 'spotify_api'`), else null features. Key: `track_id`."
    ),
    columns=(
        Column("track_id", "string", "Spotify track id; the key.", required=True),
        Column("track_name", "string", "Track title."),
        Column("artist_ids", "array<string>", "Spotify artist ids."),
        Column("artist_names", "string", "Artists, separated by `, `."),
        Column("album_name", "string", "Album title."),
        Column("duration_ms", "bigint", "Track length in milliseconds.", valid_range=(0, MAX_DURATION_MS)),
        Column("explicit", "boolean", "Whether the track has explicit lyrics."),
        *feature_columns("Spotify's"),
        Column(
            "features_source",
            "string",
            "'spotify_api' when the features are Spotify's, null when there are none.",
            accepted=("spotify_api",),
        ),
        Column("fetched_at", "timestamp", "When the metadata was fetched."),
        Column("row_hash", "string", "Hash of the row's content (every column but fetched_at)."),
    ),
    key=("track_id",),
    freshness=NotRefreshed("rows are added only when the listener plays tracks not seen before"),
)

SYNTHETIC_FEATURES = BronzeTable(
    name="my_tracks_features_bronze_synthetic",
    system="synthetic",
    description=(
        "Deterministic synthetic audio features (seeded by a hash of the track id) for tracks that have neither "
        "real nor Kaggle features. Not measurements: excluded from Silver when `ALLOW_SYNTHETIC` is false. "
        "Key: `track_id`."
    ),
    columns=(
        Column("track_id", "string", "Spotify track id; the key.", required=True),
        *feature_columns("Generated"),
        Column("source", "string", "Always 'synthetic'.", accepted=("synthetic",)),
        Column("generator_version", "string", "Version of the generator, so a new generator can be told apart."),
        Column("row_hash", "string", "Hash of the row's content."),
    ),
    key=("track_id",),
    freshness=NotRefreshed("rows are generated only for newly played tracks that have no other features"),
)

KAGGLE_TRACKS = BronzeTable(
    name="kaggle_tracks_bronze",
    system="kaggle",
    description=(
        'The track catalog with audio features: the Kaggle "Spotify Tracks Dataset" (114K rows, 1,000 per genre '
        "for 114 genres) when the user has put `data/kaggle/dataset.csv` in place, else a generated demo catalog "
        "(`catalog_source = 'generated'`). One row per row of the file; a track appears once per genre. "
        "Key: `catalog_row_id`, `catalog_source`."
    ),
    columns=(
        Column(
            "catalog_row_id",
            "bigint",
            "The original dataset's row index (its unnamed first column); with catalog_source, the key.",
            required=True,
        ),
        Column("track_id", "string", "Spotify track id (22-character base62).", required=True),
        Column("artists", "string", "Artists, separated by `;`."),
        Column("album_name", "string", "Album title."),
        Column("track_name", "string", "Track title."),
        Column("popularity", "int", "Spotify popularity, 0-100, when the dataset was made.", valid_range=(0, 100)),
        Column("duration_ms", "bigint", "Track length in milliseconds.", valid_range=(0, MAX_DURATION_MS)),
        Column("explicit", "boolean", "Whether the track has explicit lyrics."),
        *feature_columns("The catalog's"),
        Column("track_genre", "string", "The genre the dataset sampled the track under."),
        Column(
            "catalog_source",
            "string",
            "'kaggle' for the real dataset, 'generated' for the demo catalog.",
            required=True,
            accepted=("kaggle", "generated"),
        ),
        Column("source_file", "string", "The catalog file the row was read from."),
        Column("row_hash", "string", "Hash of the row's content."),
    ),
    key=("catalog_row_id", "catalog_source"),
    freshness=NotRefreshed("the catalog is a fixed dataset, reloaded only when its file changes"),
    tested_by_dbt=True,
)

QUARANTINED_AT = Column("quarantined_at", "timestamp", "When the load quarantined the record.")

PLAYS_QUARANTINE = BronzeTable(
    name="listening_history_quarantine",
    system="spotify",
    description=(
        "Records of landed history that are no play, with why; replaced per landing file on each load. "
        "A landing file that cannot be read is one record with no index."
    ),
    columns=(
        Column("landing_file", "string", "The landed file the record is in.", required=True),
        Column("record_index", "bigint", "The record's place in the file; null when the file could not be read."),
        Column("raw_record", "string", "The record as JSON (personal fields already dropped), cut at 4,000 chars."),
        Column("reason", "string", "Why it was not loaded.", required=True),
    ),
    key=("landing_file", "record_index"),
    freshness=NotRefreshed("a quarantine holds rows only when landed records are broken"),
    stamp=QUARANTINED_AT,
    read_by_dbt=False,
)

CATALOG_QUARANTINE = BronzeTable(
    name="kaggle_tracks_quarantine",
    system="kaggle",
    description="Rows of the catalog file that were rejected, with why; replaced on each load of the same file.",
    columns=(
        Column("line_number", "bigint", "The 1-based line of the row in the file.", required=True),
        Column("raw_record", "string", "The row's cells as JSON."),
        Column("reason", "string", "Why it was rejected.", required=True),
        Column("catalog_source", "string", "'kaggle' or 'generated'.", accepted=("kaggle", "generated")),
        Column("source_file", "string", "The catalog file.", required=True),
    ),
    key=("source_file", "line_number"),
    freshness=NotRefreshed("a quarantine holds rows only when the catalog file has broken rows"),
    stamp=QUARANTINED_AT,
    read_by_dbt=False,
)

BRONZE_TABLES: dict[str, BronzeTable] = {
    table.name: table
    for table in (
        KAGGLE_TRACKS,
        LISTENING_HISTORY,
        PODCAST_HISTORY,
        AUDIOBOOK_HISTORY,
        TRACK_FEATURES,
        SYNTHETIC_FEATURES,
        PLAYS_QUARANTINE,
        CATALOG_QUARANTINE,
    )
}
