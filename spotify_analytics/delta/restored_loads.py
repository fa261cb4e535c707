"""After a Bronze table is restored: the landed files whose rows no Bronze table holds any more are taken off the
list of loaded files, so the next ``load`` merges them again if they are still landed (its insert-only MERGE on
``play_id`` adds only what Bronze lacks). A bad file deleted from ``data/landing`` first stays out."""

from typing import TYPE_CHECKING

from ingest.bronze.listening_history import forget_loaded, loaded_landing_files
from ingest.config import Settings
from spotify_analytics.delta.tables import delta_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LANDING_COLUMN = "landing_file"


def forget_undone_loads(spark: "SparkSession", settings: Settings) -> list[str]:
    """Forget the loaded landing files no Bronze table holds a row of; the names forgotten."""
    held: set[str] = set()
    for table in delta_tables(settings.data_path):
        if table.name.startswith("bronze.") and LANDING_COLUMN in table.schema(spark).fieldNames():
            query = f"select distinct {LANDING_COLUMN} from {table.sql} where {LANDING_COLUMN} is not null"
            held |= {row[LANDING_COLUMN] for row in spark.sql(query).collect()}
    undone = [name for name in loaded_landing_files(settings) if name not in held]
    if undone:
        forget_loaded(settings, undone)
    return undone
