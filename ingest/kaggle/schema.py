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

# The audio features, in the CSV's order: the catalog's, the Spotify endpoint's and the synthetic generator's.
CATEGORICAL_FEATURES = ("key", "mode", "time_signature")
CONTINUOUS_FEATURES = FLOAT_COLUMNS
AUDIO_FEATURE_COLUMNS = tuple(c for c in CSV_COLUMNS if c in CONTINUOUS_FEATURES + CATEGORICAL_FEATURES)


def spark_type(column: str) -> str:
    """The Spark SQL type a catalog column lands as."""
    if column in FLOAT_COLUMNS:
        return "double"
    if column in BOOLEAN_COLUMNS:
        return "boolean"
    if column == "duration_ms":
        return "bigint"
    return "int" if column in INTEGER_COLUMNS else "string"


# Spark DDL of the audio features, as every Bronze table holding features declares them.
AUDIO_FEATURE_DDL = ", ".join(f"{c} {spark_type(c)}" for c in AUDIO_FEATURE_COLUMNS)

# Spark DDL of the catalog rows as they land in Bronze (before load metadata).
SPARK_SCHEMA = ", ".join(
    [
        "catalog_row_id bigint",
        *(f"{c} {spark_type(c)}" for c in CSV_COLUMNS),
        "catalog_source string",
        "source_file string",
        "row_hash string",
    ]
)
