"""Helpers shared by Bronze loads: the bronze database, and creating and MERGE-ing a declared Bronze table
(``ingest.bronze.schemas``)."""

import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ingest.bronze.declaration import BRONZE_DATABASE, BronzeTable, MonthPartitioning
from ingest.lakehouse.identity import DATA_DIR_CONF
from ingest.lakehouse.writing import writes

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# Delta's optimistic concurrency: another writer committed first. A killed client's MERGE can go on running on the
# server and commit while the next load runs; every MERGE here is idempotent, so it is run again.
CONCURRENT_WRITE_ERRORS = (
    "DELTA_CONCURRENT_",
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentTransactionException",
    "MetadataChangedException",
    "ProtocolChangedException",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
)
# Delta writes this session setting into each commit's userMetadata: how a MERGE finds its own commit.
COMMIT_TAG_CONF = "spark.databricks.delta.commitInfo.userMetadata"
TAGGED_COMMIT_SEARCH = 20  # commits looked through for one's own: other writers commit a few at most meanwhile
MERGE_ATTEMPTS = 6  # waits of about 1, 2, 4, 8 and 16 s between them (jittered, so writers do not retry in step)
INTERRUPTED_FOLDER = "_interrupted"  # under the database's folder: table folders whose creation never committed

# Set while a table is being moved to its current partitioning: the version whose rows are copied over.
REPARTITION_FROM = "spotify.repartition_from_version"


@dataclass(frozen=True)
class MergeResult:
    inserted: int
    updated: int
    deleted: int
    total: int


def ensure_bronze_database(spark: "SparkSession") -> None:
    """``bronze`` lives in <data>/bronze, the server's data directory."""
    spark.sql(f"create database if not exists {BRONZE_DATABASE} location '${{{DATA_DIR_CONF}}}/bronze'")


@writes(lambda spark, table, name=None: f"{BRONZE_DATABASE}.{name or table.name}")
def ensure_table(spark: "SparkSession", table: BronzeTable, name: str | None = None) -> None:
    """Create the declared table (as ``name``, when given) when missing; a table made by an earlier version gets
    the columns added since (older rows hold null in them) and the declared partitioning."""
    name = name or table.name
    complete_interrupted_creation(spark, name)
    columns = table.stored_ddl
    if table.partitioning is None:
        spark.sql(f"create table if not exists {BRONZE_DATABASE}.{name} ({columns}) using delta")
        add_missing_columns(spark, f"{BRONZE_DATABASE}.{name}", columns)
        return
    partitioning = table.partitioning
    layout = f"({columns}, {partitioning.column_ddl}) using delta partitioned by ({partitioning.column})"
    spark.sql(f"create table if not exists {BRONZE_DATABASE}.{name} {layout}")
    add_missing_columns(spark, f"{BRONZE_DATABASE}.{name}", columns)
    _repartition_older_layout(spark, name, layout, partitioning, table.key)


def complete_interrupted_creation(spark: "SparkSession", name: str, database: str = BRONZE_DATABASE) -> str:
    """A table whose creation was killed leaves its folder without a metastore entry, and every later CREATE fails
    (DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION). A folder holding Delta commits is registered as the table (its
    rows are kept); one without any commit holds no rows and is moved aside to ``_interrupted/``. Returns what
    was done ('' when nothing was to do)."""
    qualified = f"{database}.{name}"
    if spark.catalog.tableExists(qualified):
        return ""
    folder = database_folder(spark, database) / name
    if not folder.is_dir() or not any(folder.iterdir()):
        return ""
    if any((folder / "_delta_log").glob("*.json")):
        spark.sql(f"create table {qualified} using delta location {sql_string(str(folder))}")
        done = f"its creation was interrupted after its first commit: registered {folder} as {qualified}"
    else:
        aside = folder.parent / INTERRUPTED_FOLDER / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        aside.parent.mkdir(exist_ok=True)
        folder.rename(aside)
        done = f"its creation was interrupted before any commit: moved {folder} aside to {aside}"
    log.warning("%s: %s", qualified, done)
    return done


def database_folder(spark: "SparkSession", database: str = BRONZE_DATABASE) -> Path:
    """The folder of a database, as the server names it (the same path for clients on its machine or in compose,
    where both mount the data directory at one path)."""
    rows = spark.sql(f"describe database {database}").collect()
    location = next(row[1] for row in rows if row[0] == "Location")
    return Path(location.removeprefix("file:"))


@writes(lambda spark, target, *_: target)
def run_merge(spark: "SparkSession", target: str, source: str, on: str, *clauses: str) -> dict[str, int]:
    """``merge into target t using source s on ... clauses``, an idempotent MERGE: run again, after a wait, when
    another writer committed to the table first. Returns the numeric metrics of the commit this MERGE made
    (empty when it committed nothing), found by a tag of its own: never another writer's commit."""
    statement = f"merge into {target} t using {source} s on {on} {' '.join(clauses)}"
    tag = f"merge-{uuid.uuid4().hex}"
    spark.conf.set(COMMIT_TAG_CONF, tag)
    try:
        for attempt in range(1, MERGE_ATTEMPTS + 1):
            try:
                spark.sql(statement)
                break
            except Exception as exc:  # pyspark raises several types; the message names Delta's error
                if attempt == MERGE_ATTEMPTS or not any(error in str(exc) for error in CONCURRENT_WRITE_ERRORS):
                    raise
                wait = random.uniform(0.5, 1.0) * 2 ** (attempt - 1)
                reason = _first_line(exc)
                log.warning("%s: another writer committed first (%s); merging again in %.1f s", target, reason, wait)
                time.sleep(wait)
    finally:
        spark.conf.unset(COMMIT_TAG_CONF)
    return _metrics_of_commit(spark, target, tag)


def _metrics_of_commit(spark: "SparkSession", table: str, tag: str) -> dict[str, int]:
    """The numeric operation metrics of the table's recent commit tagged ``tag`` (empty when there is none)."""
    history = spark.sql(f"describe history {table} limit {TAGGED_COMMIT_SEARCH}").collect()
    commit = next((row for row in history if row["userMetadata"] == tag), None)
    metrics = (commit["operationMetrics"] or {}) if commit else {}
    return {key: int(value) for key, value in metrics.items() if value.isdigit()}


def _insert_new(table: BronzeTable) -> str:
    """The MERGE clause inserting incoming rows of new keys, stamped now."""
    columns = table.column_names
    return (
        f"when not matched then insert ({', '.join(columns)}, {table.stamp.name}) "
        f"values ({', '.join(f's.{c}' for c in columns)}, current_timestamp())"
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def add_missing_columns(spark: "SparkSession", qualified: str, ddl_columns: str) -> None:
    """Add the columns of ``ddl_columns`` that the table lacks (it was made by an earlier version)."""
    present = {name.lower() for name in spark.table(qualified).columns}
    missing = [column for column in ddl_columns.split(", ") if column.split()[0].lower() not in present]
    if missing:
        log.warning("Adding %s to %s (new in this version; older rows hold null)", ", ".join(missing), qualified)
        spark.sql(f"alter table {qualified} add columns ({', '.join(missing)})")


def _repartition_older_layout(
    spark: "SparkSession", table: str, layout: str, partitioning: MonthPartitioning, key: tuple[str, ...]
) -> None:
    """Give a table made with another partitioning (earlier versions: by day) this one, losing and duplicating
    nothing even when killed half-way: REPLACE keeps the old version number in a table property, an
    insert-only MERGE on the key copies that version's rows back, and the property goes last. A rerun
    that finds the property repeats the copy, which adds only what is missing."""
    qualified = f"{BRONZE_DATABASE}.{table}"
    properties = {row.key: row.value for row in spark.sql(f"show tblproperties {qualified}").collect()}
    old_version = properties.get(REPARTITION_FROM)
    if old_version is None:
        partitioned_by = [column.name for column in spark.catalog.listColumns(qualified) if column.isPartition]
        if partitioned_by == [partitioning.column]:
            return
        old_version = str(latest_version(spark, table))
        log.warning(
            "Repartitioning %s by %s (it was partitioned by %s): copying its rows of version %s",
            qualified, partitioning.column, ", ".join(partitioned_by) or "nothing", old_version,
        )  # fmt: skip
        marker = f"tblproperties ('{REPARTITION_FROM}' = '{old_version}')"
        spark.sql(f"create or replace table {qualified} {layout} {marker}")
    old = f"{qualified} version as of {int(old_version)}"
    columns = [c for c in spark.sql(f"select * from {old}").columns if c != partitioning.column]
    run_merge(
        spark,
        qualified,
        f"(select * from {old} distribute by trunc({partitioning.date_column}, 'MM'))",
        _on(key),
        f"when not matched then insert ({', '.join(columns)}) values ({', '.join(f's.{c}' for c in columns)})",
    )
    spark.sql(f"alter table {qualified} unset tblproperties ('{REPARTITION_FROM}')")
    log.warning("Repartitioned %s by %s", qualified, partitioning.column)


def merge_snapshot(
    spark: "SparkSession", table: BronzeTable, rows: pd.DataFrame, scope_condition: str = "true"
) -> MergeResult:
    """Make ``table`` hold exactly ``rows`` within the scope: insert new keys, update rows whose
    ``row_hash`` changed, delete keys no longer present. Unchanged rows are not rewritten, so a rerun
    with the same input changes nothing."""
    assignments = ", ".join(f"{c} = s.{c}" for c in table.column_names)
    with incoming_view(spark, table, rows) as view:
        metrics = run_merge(
            spark,
            table.qualified,
            view,
            _on(table.key),
            f"when matched and t.row_hash <> s.row_hash then update set {assignments}, "
            f"{table.stamp.name} = current_timestamp()",
            _insert_new(table),
            f"when not matched by source and ({scope_condition}) then delete",
        )
    total = spark.table(table.qualified).count()
    return MergeResult(
        inserted=metrics.get("numTargetRowsInserted", 0),
        updated=metrics.get("numTargetRowsUpdated", 0),
        deleted=metrics.get("numTargetRowsDeleted", 0),
        total=total,
    )


def merge_new_rows(
    spark: "SparkSession", table: BronzeTable, rows: pd.DataFrame, key_implies: tuple[str, ...] = ()
) -> MergeResult:
    """Insert the rows whose key ``table`` does not hold yet; never update or delete. For append-only facts
    (plays) whose content is fixed by their key: an insert-only MERGE rewrites no existing file, so a rerun
    with the same rows changes nothing. With the table's partitioning (a function of the key, like a
    play's month), rows are grouped by it (one file per partition) and the MERGE reads only the partitions
    they fall in. Columns in ``key_implies`` are functions of the key too (a play's listener): the MERGE
    compares only the target rows that hold the incoming values (a new listener's export joins no row)."""
    on = _on(table.key)
    if table.partitioning:
        on += f" and {_partitions_of(rows, table.partitioning)}"
    for column in key_implies:
        on += f" and {_values_of(rows, column)}"
    with incoming_view(spark, table, rows) as view:
        metrics = run_merge(spark, table.qualified, view, on, _insert_new(table))
    total = spark.table(table.qualified).count()
    return MergeResult(inserted=metrics.get("numTargetRowsInserted", 0), updated=0, deleted=0, total=total)


INCOMING_VIEW_PREFIX = "incoming_"  # then the table's name and a random suffix


@contextmanager
def incoming_view(spark: "SparkSession", table: BronzeTable, rows: pd.DataFrame) -> Iterator[str]:
    """A temporary view of ``rows`` typed as the table's declared columns (grouped by its month partitions), dropped
    on leaving: the server keeps a view's rows in its memory for the session's life, and a long-lived session (a
    notebook's, the bench's) would otherwise hold every load's rows (about 94 MB of heap per 100,000 plays). Left in
    place when the body fails: the server may be gone, and dropping the view would wait out the client's retries."""
    from pyspark.sql import functions as F

    incoming = spark.createDataFrame(rows, schema=table.ddl)
    if table.partitioning:
        incoming = incoming.repartition(F.trunc(table.partitioning.date_column, "MM"))
    view = f"{INCOMING_VIEW_PREFIX}{table.name}_{uuid.uuid4().hex[:12]}"
    incoming.createOrReplaceTempView(view)
    yield view
    spark.catalog.dropTempView(view)


def _on(key: tuple[str, ...]) -> str:
    return " and ".join(f"t.{column} = s.{column}" for column in key)


def _partitions_of(rows: pd.DataFrame, partitioning: MonthPartitioning) -> str:
    """``t.<column> in (date'…', …)``: the month partitions the rows can match (literals, so Delta prunes files)."""
    days = pd.to_datetime(rows[partitioning.date_column]).dt.date.dropna()
    months = sorted({day.replace(day=1).isoformat() for day in days})
    if not months:
        return "false"
    literals = ", ".join(f"date'{month}'" for month in months)
    return f"t.{partitioning.column} in ({literals})"


def _values_of(rows: pd.DataFrame, column: str) -> str:
    """``t.<column> in ('…', …)``: the values of a column the key determines (literals, so the scan filters them)."""
    values = sorted({str(value) for value in rows[column].dropna()})
    if not values:
        return "false"
    return f"t.{column} in ({', '.join(sql_string(value) for value in values)})"


def sql_string(value: str) -> str:
    """A Spark SQL string literal holding ``value`` exactly (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def latest_version(spark: "SparkSession", table: str) -> int:
    """The table's (in ``bronze``) latest Delta version."""
    return int(spark.sql(f"describe history {BRONZE_DATABASE}.{table} limit 1").collect()[0]["version"])
