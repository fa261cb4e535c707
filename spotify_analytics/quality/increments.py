"""Which rows of a table a check run must read: the rows of keys a write touched since the table was last checked,
or the whole table.

A Bronze load stamps every row it inserts or changes (``loaded_at``), a Silver build every row it writes
(``built_at``). When every commit since the last check is such a write (a MERGE), the rows that can fail a
check are those of the keys written since: their own values (not null, ranges, accepted values, not in the future)
and their keys' uniqueness (a duplicate involves a key written since, as the rows before were checked unique). So
the checks read the rows stamped after the last check and the older rows that share a key with one of them (a
semi-join on the new keys). Any other commit since (an UPDATE, a
DELETE, a RESTORE, a rebuild, a first check, a failed one) has the whole table read; the upkeep's (OPTIMIZE,
VACUUM) change no row and are passed over. A table with no commit since
is not read at all. Checks about the whole table (feature coverage shares) read it whole, always.

Where each table was last checked lives in ``<data>/quality/checked.json``: its Delta version and the latest stamp
then; a check run that found a critical failure on a table does not move it, so the next run reads those rows again.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.lakehouse.delta_log import UPKEEP_OPERATIONS
from ingest.landing.store import read_json, write_json

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

STATE_FILE = "checked.json"
# Commits that stamp every row they add or rewrite: a load's MERGE, a dbt incremental build's (every MERGE the project
# makes sets the stamp). Any other (an INSERT, UPDATE, DELETE, RESTORE, a rebuild) has the whole table checked.
STAMPING_OPERATIONS = frozenset({"MERGE"})


@dataclass(frozen=True)
class Checked:
    """Where a table was when a suite last passed on it, and what the suite checked then."""

    version: int
    stamp: str | None  # the latest stamp of its rows then, as a string Spark casts back (None: no rows)
    checks: str  # the fingerprint of the suite's checks and the gate's config: another one reads the whole table


@dataclass(frozen=True)
class RowsToCheck:
    table: str
    version: int  # the table's version now
    latest_stamp: str | None  # the latest stamp now
    since: Checked | None  # read the keys stamped after this; None: the whole table
    unchanged: bool  # no commit since the last check: nothing to read

    @property
    def scope(self) -> str:
        if self.unchanged:
            return f"unchanged since version {self.version}"
        if self.since is None:
            return f"whole table (version {self.version})"
        return f"keys written since version {self.since.version} (now {self.version})"


def state_path(quality_dir: Path) -> Path:
    return quality_dir / STATE_FILE


def read_checked(quality_dir: Path) -> dict[str, Checked]:
    recorded = read_json(state_path(quality_dir), {}) or {}
    return {
        suite: Checked(int(value["version"]), value.get("stamp"), str(value.get("checks", "")))
        for suite, value in recorded.items()
    }


def record_checked(quality_dir: Path, suite: str, rows: RowsToCheck, checks: str) -> None:
    """The suite's checks passed on the table as it is now: the next run reads only what is written after."""
    recorded = read_json(state_path(quality_dir), {}) or {}
    recorded[suite] = {"version": rows.version, "stamp": rows.latest_stamp, "checks": checks}
    write_json(state_path(quality_dir), recorded)


def rows_to_check(
    spark: "SparkSession", table: str, stamp: str | None, checked: Checked | None, checks: str
) -> RowsToCheck:
    """What of ``table`` to read for a suite whose checks have the fingerprint ``checks``, given where the table
    was when the suite last passed on it (None: never)."""
    history = spark.sql(f"describe history {table} limit 1").collect()
    version = int(history[0]["version"]) if history else 0
    if stamp is not None and stamp not in spark.table(table).columns:
        stamp = None  # a table made by an earlier version, or by hand: read whole
    latest = _latest_stamp(spark, table, stamp) if stamp else None
    if checked is not None and checked.checks != checks:
        checked = None  # other checks, or the same ones with other severities or thresholds: read every row
    if checked is not None and checked.version == version:
        return RowsToCheck(table, version, latest, checked, unchanged=True)
    if stamp is None or checked is None or checked.version > version:
        return RowsToCheck(table, version, latest, None, unchanged=False)
    since = spark.sql(f"describe history {table} limit {version - checked.version}").collect()
    other = sorted({row["operation"] for row in since} - STAMPING_OPERATIONS - UPKEEP_OPERATIONS)
    if other:
        log.info("%s: %s since its last check: checking the whole table", table, ", ".join(other))
        return RowsToCheck(table, version, latest, None, unchanged=False)
    return RowsToCheck(table, version, latest, checked, unchanged=False)


def fingerprint(*parts: object) -> str:
    """A short digest of what a suite checks (its checks' definitions and the gate's config)."""
    import hashlib

    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _latest_stamp(spark: "SparkSession", table: str, stamp: str) -> str | None:
    value = spark.sql(f"select cast(max({stamp}) as string) from {table}").first()[0]
    return None if value is None else str(value)


def frame_of(spark: "SparkSession", rows: RowsToCheck, key: tuple[str, ...], stamp: str | None) -> "DataFrame":
    """The rows the checks read: the whole table, or its rows stamped since the last check and the older rows that
    share a key with one of them (a duplicate of a new key; a new row without a key is read too).

    Such an increment is computed once and kept on the server's disk for the checks: Great Expectations reads its
    rows in several passes, and each would otherwise scan the whole table again for the older rows' keys."""
    frame = spark.table(rows.table)
    if rows.since is None or rows.since.stamp is None or stamp is None or not key:
        return frame
    from pyspark.storagelevel import StorageLevel

    written = f"{stamp} > cast('{rows.since.stamp}' as timestamp)"
    new = frame.where(written)
    new_keys = new.select(*key).where(" and ".join(f"{column} is not null" for column in key))
    older_of_new_keys = frame.where(f"not coalesce({written}, false)").join(new_keys, on=list(key), how="left_semi")
    return new.unionByName(older_of_new_keys).localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
