"""Helpers shared by Bronze loads: the bronze database and MERGE of a snapshot into a Delta table."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ingest.lakehouse.command import DATA_DIR_CONF

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

BRONZE_DATABASE = "bronze"


@dataclass(frozen=True)
class MergeResult:
    inserted: int
    updated: int
    deleted: int
    total: int


def ensure_bronze_database(spark: "SparkSession") -> None:
    """``bronze`` lives in <data>/bronze, the server's data directory."""
    spark.sql(f"create database if not exists {BRONZE_DATABASE} location '${{{DATA_DIR_CONF}}}/bronze'")


def ensure_table(spark: "SparkSession", table: str, ddl_columns: str, partitioned_by: str = "") -> None:
    partition = f" partitioned by ({partitioned_by})" if partitioned_by else ""
    spark.sql(f"create table if not exists {BRONZE_DATABASE}.{table} ({ddl_columns}) using delta{partition}")


def _last_commit(spark: "SparkSession", table: str) -> tuple[int, dict[str, int]]:
    """The table's latest Delta version and that commit's numeric operation metrics."""
    history = spark.sql(f"describe history {BRONZE_DATABASE}.{table} limit 1").collect()[0]
    metrics = history["operationMetrics"] or {}
    return int(history["version"]), {key: int(value) for key, value in metrics.items() if value.isdigit()}


def merge_snapshot(
    spark: "SparkSession",
    table: str,
    rows: pd.DataFrame,
    spark_schema: str,
    key_columns: list[str],
    scope_condition: str = "true",
) -> MergeResult:
    """Make ``table`` hold exactly ``rows`` within the scope: insert new keys, update rows whose
    ``row_hash`` changed, delete keys no longer present. Unchanged rows are not rewritten, so a rerun
    with the same input changes nothing."""
    incoming = spark.createDataFrame(rows, schema=spark_schema)
    view = f"incoming_{table}"
    incoming.createOrReplaceTempView(view)
    on = " and ".join(f"t.{key} = s.{key}" for key in key_columns)
    columns = [field.split()[0] for field in spark_schema.split(", ")]
    assignments = ", ".join(f"{c} = s.{c}" for c in columns)
    spark.sql(
        f"""
        merge into {BRONZE_DATABASE}.{table} t
        using {view} s
        on {on}
        when matched and t.row_hash <> s.row_hash then update set {assignments}, loaded_at = current_timestamp()
        when not matched then insert ({", ".join(columns)}, loaded_at)
            values ({", ".join(f"s.{c}" for c in columns)}, current_timestamp())
        when not matched by source and ({scope_condition}) then delete
        """
    )
    _, metrics = _last_commit(spark, table)
    total = spark.table(f"{BRONZE_DATABASE}.{table}").count()
    return MergeResult(
        inserted=metrics.get("numTargetRowsInserted", 0),
        updated=metrics.get("numTargetRowsUpdated", 0),
        deleted=metrics.get("numTargetRowsDeleted", 0),
        total=total,
    )


def merge_new_rows(
    spark: "SparkSession",
    table: str,
    rows: pd.DataFrame,
    spark_schema: str,
    key_columns: list[str],
    partition_column: str = "",
) -> MergeResult:
    """Insert the rows whose key ``table`` does not hold yet; never update or delete. For append-only facts
    (plays) whose content is fixed by their key: an insert-only MERGE rewrites no existing file, so a rerun
    with the same rows changes nothing. With a ``partition_column`` (a function of the key, like a play's
    date), rows are grouped by it (fewer, larger files) and the MERGE reads only the partitions they fall in."""
    before = latest_version(spark, table)
    incoming = spark.createDataFrame(rows, schema=spark_schema)
    if partition_column:
        incoming = incoming.repartition(partition_column)
    view = f"incoming_{table}"
    incoming.createOrReplaceTempView(view)
    on = " and ".join(f"t.{key} = s.{key}" for key in key_columns)
    if partition_column:
        on += f" and {_partitions_of(rows, partition_column)}"
    columns = [field.split()[0] for field in spark_schema.split(", ")]
    spark.sql(
        f"""
        merge into {BRONZE_DATABASE}.{table} t
        using {view} s
        on {on}
        when not matched then insert ({", ".join(columns)}, loaded_at)
            values ({", ".join(f"s.{c}" for c in columns)}, current_timestamp())
        """
    )
    version, metrics = _last_commit(spark, table)
    # nothing committed: the last history entry is an older one
    inserted = metrics.get("numTargetRowsInserted", 0) if version != before else 0
    total = spark.table(f"{BRONZE_DATABASE}.{table}").count()
    return MergeResult(inserted=inserted, updated=0, deleted=0, total=total)


def _partitions_of(rows: pd.DataFrame, column: str) -> str:
    """``t.<column> in (date'…', …)``: the date partitions the rows can match (literals, so Delta prunes files)."""
    dates = sorted({day.isoformat() for day in pd.to_datetime(rows[column]).dt.date.dropna()})
    if not dates:
        return "false"
    literals = ", ".join(f"date'{day}'" for day in dates)
    return f"t.{column} in ({literals})"


def latest_version(spark: "SparkSession", table: str) -> int:
    return _last_commit(spark, table)[0]
