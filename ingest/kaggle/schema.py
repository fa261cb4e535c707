"""Columns of the Kaggle 'Spotify Tracks Dataset' CSV and their valid ranges.

The audio features among them, their kinds and ranges, are dbt_project.yml's ``vars.audio_features``.
"""

from ingest.audio_features import bronze_names, categorical_bronze_names, continuous_bronze_names, valid_ranges

TEXT_COLUMNS = ("track_id", "artists", "album_name", "track_name", "track_genre")
INTEGER_COLUMNS = ("popularity", "duration_ms", *categorical_bronze_names())
FLOAT_COLUMNS = continuous_bronze_names()
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

VALID_RANGES: dict[str, tuple[float, float]] = {
    **valid_ranges(),
    "popularity": (0, 100),
    "duration_ms": (0, 24 * 3600 * 1000),
}

# The audio features, in the CSV's order: the catalog's, the Spotify endpoint's and the synthetic generator's.
CATEGORICAL_FEATURES = categorical_bronze_names()
CONTINUOUS_FEATURES = FLOAT_COLUMNS
AUDIO_FEATURE_COLUMNS = bronze_names()


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
