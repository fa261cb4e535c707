"""Columns of the Kaggle 'Spotify Tracks Dataset' CSV and their valid ranges.

The audio features among them, their kinds and ranges, are dbt_project.yml's ``vars.audio_features``; the
columns' Bronze types and valid ranges are the catalog's Bronze declaration (``ingest.bronze.schemas``).
"""

from ingest.audio_features import bronze_names, categorical_bronze_names, continuous_bronze_names
from ingest.bronze.schemas import KAGGLE_TRACKS

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
    *bronze_names(),
    "track_genre",
)

# Valid ranges of the catalog's numeric columns, as its Bronze table declares them: the features' first (a row
# out of several ranges is quarantined with the first one's reason).
VALID_RANGES: dict[str, tuple[float, float]] = dict(
    sorted(
        ((column.name, column.valid_range) for column in KAGGLE_TRACKS.columns if column.valid_range is not None),
        key=lambda declared: declared[0] not in bronze_names(),
    )
)

# The audio features, in the CSV's order: the catalog's, the Spotify endpoint's and the synthetic generator's.
CATEGORICAL_FEATURES = categorical_bronze_names()
CONTINUOUS_FEATURES = FLOAT_COLUMNS
AUDIO_FEATURE_COLUMNS = bronze_names()
