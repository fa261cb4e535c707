"""The metastore against the table folders, through the server: a table whose folder is gone, a folder no
table owns (a creation that was killed), and dbt's temporary tables a killed build left behind."""

from pathlib import Path
from typing import TYPE_CHECKING

from ingest.bronze.delta import INTERRUPTED_FOLDER, complete_interrupted_creation, database_folder
from spotify_analytics.doctor.findings import Finding

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DBT_TEMPORARY = "__dbt_tmp"  # the suffix of the tables dbt-spark builds and drops within one model's run
FOLDER_GONE = (
    "its folder {folder} is gone; restore it from a backup (docs/operations.md#backups), or drop the table "
    "(dbt and the loads create it again, Bronze from landing)"
)
NO_TABLE = "no table owns this folder (a creation was killed); --repair registers or moves it aside"


def check_metastore(spark: "SparkSession", repair: bool) -> list[Finding]:
    databases = [row[0] for row in spark.sql("show databases").collect() if row[0] != "default"]
    return [finding for database in sorted(databases) for finding in check_database(spark, database, repair)]


def check_database(spark: "SparkSession", database: str, repair: bool) -> list[Finding]:
    tables = [row.tableName for row in spark.sql(f"show tables in {database}").collect() if not row.isTemporary]
    findings = [finding for table in tables if (finding := check_table(spark, f"{database}.{table}", repair))]
    folder = database_folder(spark, database)
    owned = {table.lower() for table in tables}
    for orphan in sorted(folder.iterdir()) if folder.is_dir() else []:
        if orphan.name.lower() not in owned and not orphan.name.startswith(("_", ".")) and table_like(orphan):
            findings.append(check_orphan(spark, database, orphan, repair))
    if not findings:
        findings.append(Finding("metastore", database, "ok", f"{len(tables)} tables, each with its folder"))
    return findings


def check_table(spark: "SparkSession", qualified: str, repair: bool) -> Finding | None:
    if qualified.endswith(DBT_TEMPORARY):
        if not repair:
            return Finding("temp tables", qualified, "problem", "left by a killed dbt run; --repair drops it")
        spark.sql(f"drop table if exists {qualified}")
        return Finding("temp tables", qualified, "repaired", "dropped (left by a killed dbt run)")
    folder = table_folder(spark, qualified)
    if folder is not None and not Path(folder).is_dir():
        return Finding("metastore", qualified, "problem", FOLDER_GONE.format(folder=folder))
    return None


def table_like(folder: Path) -> bool:
    """A folder a table's creation leaves: a Delta log, or data files; not the other files a database's folder may
    hold (``quality``'s holds the Great Expectations context)."""
    return folder.is_dir() and ((folder / "_delta_log").is_dir() or any(folder.glob("*.parquet")))


def check_orphan(spark: "SparkSession", database: str, orphan: Path, repair: bool) -> Finding:
    if orphan.name == INTERRUPTED_FOLDER:
        return Finding("metastore", str(orphan), "ok", "folders an earlier load moved aside (safe to delete)")
    if not repair:
        return Finding("metastore", str(orphan), "problem", NO_TABLE)
    done = complete_interrupted_creation(spark, orphan.name, database)
    return Finding("metastore", str(orphan), "repaired" if done else "ok", done or "an empty folder")


def table_folder(spark: "SparkSession", qualified: str) -> str | None:
    """Where the metastore says the table lives (None for a view)."""
    for row in spark.sql(f"describe table extended {qualified}").collect():
        if row[0] == "Location":
            return str(row[1]).removeprefix("file:")
    return None
