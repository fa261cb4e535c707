"""Put generated Bronze rows (parquet from ``writers.write_bronze``) into ``bronze.listening_history_bronze``.

For benchmarks of the transformations at 1M-10M plays, independent of the importer's speed: the server
reads the parquet files itself (client and server share the filesystem locally) and appends them in one
INSERT, so nothing passes through the Spark Connect client.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from ingest.bronze.delta import BRONZE_DATABASE, ensure_bronze_database, ensure_table
from ingest.bronze.schemas import LISTENING_HISTORY, PLAYS_BY_MONTH

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TABLE = LISTENING_HISTORY.name
QUALIFIED = LISTENING_HISTORY.qualified


def ensure_listening_table(spark: "SparkSession", table: str = TABLE) -> None:
    """The table as the ingester creates it: the contract's columns plus ``loaded_at``."""
    ensure_bronze_database(spark)
    ensure_table(spark, LISTENING_HISTORY, table)


def empty_listening_table(spark: "SparkSession") -> None:
    """Drop and recreate the table (a from-scratch benchmark)."""
    spark.sql(f"drop table if exists {QUALIFIED}")
    ensure_listening_table(spark)


def insert_parquet(spark: "SparkSession", folder: Path, table: str = TABLE) -> int:
    """Append every play of the parquet files in ``folder`` to ``bronze.<table>``; returns its row count."""
    ensure_listening_table(spark, table)
    columns = LISTENING_HISTORY.column_names
    location = str(folder.resolve()).replace("`", "")
    spark.sql(
        f"insert into {BRONZE_DATABASE}.{table} ({', '.join(columns)}, {LISTENING_HISTORY.stamp.name}) "
        f"select {', '.join(columns)}, current_timestamp() from parquet.`{location}` "
        f"distribute by trunc({PLAYS_BY_MONTH.date_column}, 'MM')"  # one file per month partition
    )
    return spark.table(f"{BRONZE_DATABASE}.{table}").count()
