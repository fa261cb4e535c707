"""A table's versions (``describe history``) and restoring one (``RESTORE TABLE``), by the table's name.

Delta keeps every version of a table until VACUUM deletes the files only older versions read (a withdrawal does,
for every table it touched: ``erasure``). ``restore_table`` checks the version or time asked for against the
history first, so a version that does not exist is refused naming those that do.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ingest.bronze.delta import sql_string
from ingest.config import Settings
from spotify_analytics.delta.tables import delta_tables, drop_cached_copies

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# operationMetrics a commit may carry: rows written to new files, and the changes a MERGE, UPDATE or DELETE made.
WRITTEN = ("numOutputRows",)
WRITTEN_BY_REWRITE = ("numCopiedRows", "numUpdatedRows")
CHANGES = (("numTargetRowsInserted", "+"), ("numTargetRowsUpdated", "~"), ("numTargetRowsDeleted", "-"),
           ("numUpdatedRows", "~"), ("numDeletedRows", "-"))  # fmt: skip


class TableNotFound(LookupError):
    """No table of that name; the message lists the tables."""


class NoSuchVersion(LookupError):
    """The version or time asked for is not in the table's history; the message names what is."""


@dataclass(frozen=True)
class Version:
    version: int
    timestamp: datetime
    operation: str
    rows_written: int | None
    changes: str  # e.g. "+120 ~3 -0" (inserted, updated, deleted), "" when the commit says nothing of rows


def resolve_table(spark: "SparkSession", settings: Settings, name: str) -> str:
    """``<database>.<table>`` for a qualified name, or an unqualified one that only one database holds."""
    known = [table.name for table in delta_tables(settings.data_path) if "." in table.name]
    if "." in name and spark.catalog.tableExists(name):
        return name
    matches = [table for table in known if table.split(".", 1)[1] == name]
    if "." not in name and len(matches) == 1 and spark.catalog.tableExists(matches[0]):
        return matches[0]
    hint = f"more than one database holds {name!r}: {', '.join(matches)}" if len(matches) > 1 else "no such table"
    raise TableNotFound(f"{name}: {hint}. The Delta tables: {', '.join(known) or 'none yet'}")


def _metric(metrics: dict[str, str], keys: tuple[str, ...]) -> int | None:
    values = [int(metrics[key]) for key in keys if metrics.get(key) not in (None, "")]
    return sum(values) if values else None


def table_history(spark: "SparkSession", table: str) -> list[Version]:
    """Every version still in the table's log, newest first."""
    versions = []
    for row in spark.sql(f"describe history {table}").collect():
        metrics = row["operationMetrics"] or {}
        written = _metric(metrics, WRITTEN)
        if written is None:
            written = _metric(metrics, WRITTEN_BY_REWRITE)
        changes = " ".join(f"{sign}{metrics[key]}" for key, sign in CHANGES if metrics.get(key) not in (None, ""))
        versions.append(Version(int(row["version"]), row["timestamp"], row["operation"], written, changes))
    return versions


def _span(versions: list[Version]) -> str:
    numbers = sorted(version.version for version in versions)
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"versions {numbers[0]} to {numbers[-1]}" if len(numbers) > 1 else f"version {numbers[0]}"
    return "versions " + ", ".join(map(str, numbers))


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def restore_target(spark: "SparkSession", table: str, version: int | None, timestamp: datetime | None) -> str:
    """The ``TO …`` clause of the restore, after checking it against the history (NoSuchVersion)."""
    versions = table_history(spark, table)
    oldest, newest = min(versions, key=lambda v: v.version), max(versions, key=lambda v: v.version)
    when = f"{oldest.timestamp:%Y-%m-%d %H:%M:%S} to {newest.timestamp:%Y-%m-%d %H:%M:%S} UTC"
    where = f"{table} has {_span(versions)} ({when})"
    if version is not None:
        if version not in {v.version for v in versions}:
            raise NoSuchVersion(f"{table} has no version {version}: {where}")
        return f"version as of {version}"
    assert timestamp is not None
    moment = _as_utc(timestamp)
    if moment < _as_utc(oldest.timestamp):
        raise NoSuchVersion(f"{table} has no version at {moment:%Y-%m-%d %H:%M:%S} UTC, before its oldest: {where}")
    if moment > _as_utc(newest.timestamp):
        raise NoSuchVersion(f"{moment:%Y-%m-%d %H:%M:%S} UTC is after the latest version of {table}: {where}")
    return f"timestamp as of {sql_string(moment.strftime('%Y-%m-%d %H:%M:%S.%f'))}"


def restore_table(spark: "SparkSession", table: str, version: int | None, timestamp: datetime | None) -> dict:
    """Restore the table to a version or a time; Delta's restore metrics (files and bytes removed and restored)."""
    target = restore_target(spark, table, version, timestamp)
    rows = spark.sql(f"restore table {table} to {target}").collect()  # no row: it is that version already
    drop_cached_copies(spark, table)
    return rows[0].asDict() if rows else {}
