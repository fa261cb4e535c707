"""Columns of the Kaggle 'Spotify Tracks Dataset' CSV and their valid ranges."""

TEXT_COLUMNS = ("track_id", "artists", "album_name", "track_name", "track_genre")
INTEGER_COLUMNS = ("popularity", "duration_ms", "key", "mode", "time_signature")
FLOAT_COLUMNS = (
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
)
BOOLEAN_COLUMNS = ("explicit",)

# Column order of the published CSV after its unnamed index column.
CSV_COLUMNS = (
    "track_id",
    "artists",
    "album_name",
    "track_name",
    "popularity",
    "duration_ms",
    "explicit",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
    "track_genre",
)

UNIT_INTERVAL = (0.0, 1.0)
VALID_RANGES: dict[str, tuple[float, float]] = {
    "danceability": UNIT_INTERVAL,
    "energy": UNIT_INTERVAL,
    "speechiness": UNIT_INTERVAL,
    "acousticness": UNIT_INTERVAL,
    "instrumentalness": UNIT_INTERVAL,
    "liveness": UNIT_INTERVAL,
    "valence": UNIT_INTERVAL,
    "loudness": (-60.0, 5.0),
    "tempo": (0.0, 300.0),
    "key": (-1, 11),
    "mode": (0, 1),
    "time_signature": (0, 7),
    "popularity": (0, 100),
    "duration_ms": (0, 24 * 3600 * 1000),
}

# Spark DDL of the catalog rows as they land in Bronze (before load metadata).
SPARK_SCHEMA = ", ".join(
    [
        "catalog_row_id bigint",
        "track_id string",
        "artists string",
        "album_name string",
        "track_name string",
        "popularity int",
        "duration_ms bigint",
        "explicit boolean",
        *(f"{name} double" for name in ("danceability", "energy")),
        "key int",
        "loudness double",
        "mode int",
        *(
            f"{name} double"
            for name in ("speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo")
        ),
        "time_signature int",
        "track_genre string",
        "catalog_source string",
        "source_file string",
        "row_hash string",
    ]
)
