"""Erase a Delta table's old versions, so rows deleted from it are gone from disk and not only from its latest
version: a withdrawal's last step on every table it deleted rows from.

Delta keeps a deleted row in three places after a DELETE: in the data file that a deletion vector now masks (the
file stays live), in the files of older versions (kept for time travel until VACUUM), and in the transaction
log (file statistics hold each file's smallest and largest values, the DELETE's own commit holds its predicate,
checkpoints copy the statistics). ``erase_old_versions`` removes all three:

1. ``REORG TABLE … APPLY (PURGE)`` rewrites every file that has a deletion vector without the masked rows;
2. ``VACUUM … RETAIN 0 HOURS`` deletes every file the latest version does not read. Delta refuses a retention
   below ``delta.deletedFileRetentionDuration`` (7 days) unless ``RETENTION_CHECK`` is off: that check protects
   readers and writers still using an older version. It is turned off on this session only, and only while the
   caller holds the pipeline's run lock and the Bronze writer's lock (``spotify_analytics.delta.maintenance``),
   so no pipeline step and no load is reading an older version; a query someone runs by hand at that moment
   fails with a missing file (it writes nothing).
3. the log is cut to one checkpoint: with ``delta.checkpointInterval`` 1 and ``delta.deletedFileRetentionDuration``
   0 for one commit, Delta writes a checkpoint of that commit holding only the live files (no tombstones); every
   log file before it is deleted, and the two properties are set back. The table's history then starts there:
   time travel to an earlier version is impossible anyway once VACUUM has deleted its files.

Every step can be repeated: a run killed in between is completed by running it again (the properties to set
back are passed in by the caller, who keeps them from the first attempt).
"""

import logging
import re
from typing import TYPE_CHECKING

from spotify_analytics.delta.tables import DeltaTable, last_checkpoint_version, latest_version

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
# VACUUM lists the table's folder in this many Spark tasks (Spark's default, 10,000, costs about a minute on a
# small table on two cores); set to the server's shuffle partitions for the VACUUM.
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
RETENTION_OVERRIDE = f"VACUUM RETAIN 0 HOURS with {RETENTION_CHECK}=false (this session only)"
# The properties set for the one commit that is checkpointed, and what they are set to.
SQUASH_PROPERTIES = {"delta.checkpointInterval": "1", "delta.deletedFileRetentionDuration": "interval 0 hours"}
LOG_ENTRY = re.compile(r"^\.?(\d{20})\.")  # a commit, its checksum, a checkpoint (any part), their hidden .crc


class ErasureError(RuntimeError):
    """A table's old versions could not be erased; the message names the table and the step."""


def table_properties(spark: "SparkSession", table: DeltaTable) -> dict[str, str | None]:
    """The current values of the properties ``erase_old_versions`` changes (None: not set)."""
    current = {row["key"]: row["value"] for row in spark.sql(f"show tblproperties {table.sql}").collect()}
    return {key: current.get(key) for key in SQUASH_PROPERTIES}


def erase_old_versions(
    spark: "SparkSession", table: DeltaTable, original: dict[str, str | None], listing_tasks: int
) -> int:
    """Purge deletion vectors, vacuum every unread file and cut the log to one checkpoint; ``original`` are the
    table's values of SQUASH_PROPERTIES before any attempt (``table_properties``); ``listing_tasks``: the Spark
    tasks VACUUM lists the folder in. Returns the files deleted."""
    spark.sql(f"reorg table {table.sql} apply (purge)").collect()
    files_before = sum(1 for path in table.folder.rglob("*") if path.is_file())
    spark.conf.set(RETENTION_CHECK, "false")
    spark.conf.set(LISTING_PARALLELISM, str(listing_tasks))
    try:
        spark.sql(f"vacuum {table.sql} retain 0 hours").collect()
    finally:
        spark.conf.unset(RETENTION_CHECK)
        spark.conf.unset(LISTING_PARALLELISM)
    cut_log(spark, table, original)
    return max(0, files_before - sum(1 for path in table.folder.rglob("*") if path.is_file()))


def cut_log(spark: "SparkSession", table: DeltaTable, original: dict[str, str | None]) -> None:
    """Checkpoint one commit with no tombstones, delete every log file before it, set the properties back."""
    settings = ", ".join(f"'{key}' = '{value}'" for key, value in SQUASH_PROPERTIES.items())
    spark.sql(f"alter table {table.sql} set tblproperties ({settings})").collect()
    version = latest_version(spark, table)
    checkpoint = last_checkpoint_version(table)
    if checkpoint != version:
        raise ErasureError(
            f"{table.name}: Delta wrote no checkpoint of version {version} (the last is {checkpoint}); its log "
            f"is kept as it is. Rerun the command; if it fails again, look at {table.log}"
        )
    for path in table.log.iterdir():
        match = LOG_ENTRY.match(path.name)
        if match and int(match[1]) < version and path.is_file():
            path.unlink()
    restore_properties(spark, table, original)


def restore_properties(spark: "SparkSession", table: DeltaTable, original: dict[str, str | None]) -> None:
    to_set = {key: value for key, value in original.items() if value is not None}
    to_unset = [key for key, value in original.items() if value is None]
    if to_set:
        settings = ", ".join(f"'{key}' = '{value}'" for key, value in to_set.items())
        spark.sql(f"alter table {table.sql} set tblproperties ({settings})").collect()
    if to_unset:
        keys = ", ".join(f"'{key}'" for key in to_unset)
        spark.sql(f"alter table {table.sql} unset tblproperties if exists ({keys})").collect()
