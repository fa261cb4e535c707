"""Delta table upkeep: every refresh MERGEs a few rows into each table it writes, so a table gains a small file and a
log entry per refresh (1,460 a year at one refresh every 6 hours). Left alone, reads slow down with the file count.

For every Delta table under the data directory (Bronze, staging, Silver, Gold, quality, ops):

- **OPTIMIZE** (bin-packing small files into large ones) once ``OPTIMIZE_AFTER_COMMITS`` commits that wrote rows have
  been made since the last one and the table holds more than one file per partition, i.e. about every eight days of
  6-hourly refreshes;
- **VACUUM** (deleting the data files no version younger than the retention reads) once a week on a table older
  than the retention (a younger one has nothing to delete), keeping
  ``TIME_TRAVEL_DAYS`` days (7 by default, Delta's own floor): every version of the last week stays readable for
  ``history``/``restore`` and Delta's time travel, and never less;
- **log checkpoints** are Delta's own: a checkpoint every 10 commits (``delta.checkpointInterval``), and log entries
  older than 30 days (``delta.logRetentionDuration``) are removed when one is written, so a read replays at most ten
  commits and the log stays bounded.

What is due is found on disk (the commits in each table's ``_delta_log`` and ``<data>/state/maintenance.json``),
so a run with nothing due costs no query to the server.
"""

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.lakehouse.delta_log import (
    UPKEEP_OPERATIONS,
    commit_operation,
    created_at,
    latest_commit,
    table_folders,
)
from ingest.lakehouse.watchdog import doing
from ingest.landing.store import read_json, write_json

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

DATABASES = ("bronze", "staging", "intermediate", "silver", "gold", "quality", "ops", "seeds")
OPTIMIZE_AFTER_COMMITS = 32
VACUUM_EVERY = timedelta(days=7)
STATE_FILE = "maintenance.json"


@dataclass(frozen=True)
class TableUpkeep:
    table: str  # database.table
    optimized: bool = False
    files_before: int | None = None
    files_after: int | None = None
    vacuumed: bool = False
    files_deleted: int | None = None
    kept_days: int | None = None

    def line(self) -> str:
        done = []
        if self.optimized:
            done.append(f"OPTIMIZE {self.files_before} -> {self.files_after} files")
        if self.vacuumed:
            deleted = "" if self.files_deleted is None else f" ({self.files_deleted} files deleted)"
            done.append(f"VACUUM keeping {self.kept_days} days of history{deleted}")
        return f"{self.table}: {', '.join(done) or 'nothing due'}"


def state_path(settings: Settings) -> Path:
    return settings.ingest_state_path / STATE_FILE


class UnknownTable(ValueError):
    """A table asked for has no Delta folder under the data directory."""


def delta_tables(settings: Settings, only: list[str] | None = None) -> list[tuple[str, Path]]:
    """(database.table, folder) of every Delta table of the lakehouse's databases under the data directory, or of
    the tables ``only`` names (any database)."""
    folders = {f"{folder.parent.name}.{folder.name}": folder for folder in table_folders(settings.data_path)}
    if only is None:
        return [(table, folder) for table, folder in folders.items() if folder.parent.name in DATABASES]
    unknown = sorted(set(only) - set(folders))
    if unknown:
        raise UnknownTable(f"No Delta table {', '.join(unknown)} under {settings.data_path} (name it database.table)")
    return [(table, folders[table]) for table in only]


def maintain_tables(
    spark: "SparkSession", settings: Settings, now: datetime | None = None, only: list[str] | None = None
) -> list[TableUpkeep]:
    """OPTIMIZE and VACUUM what is due (of the tables ``only`` names, else of every table); one TableUpkeep per
    table that had something done."""
    now = now or datetime.now(UTC)
    retention = timedelta(days=settings.time_travel_days)
    state = read_json(state_path(settings), {}) or {}
    done = []
    for table, folder in delta_tables(settings, only):
        recorded = state.setdefault(table, {})
        if not _due(recorded, folder, now, retention) or not spark.catalog.tableExists(table):
            continue
        upkeep = _upkeep(spark, settings, table, folder, recorded, now)
        write_json(state_path(settings), state)
        done.append(upkeep)
    return done


def _due(recorded: dict, folder: Path, now: datetime, retention: timedelta) -> bool:
    return _optimize_due(recorded, folder) or _vacuum_due(recorded, folder, now, retention)


def _optimize_due(recorded: dict, folder: Path) -> bool:
    """OPTIMIZE_AFTER_COMMITS commits that wrote rows since the last OPTIMIZE (the upkeep's own do not count)."""
    since = int(recorded.get("optimized_at_commit", -1))
    latest = latest_commit(folder)
    if latest - since < OPTIMIZE_AFTER_COMMITS:
        return False
    writes = sum(commit_operation(folder, version) not in UPKEEP_OPERATIONS for version in range(since + 1, latest + 1))
    return writes >= OPTIMIZE_AFTER_COMMITS


def _vacuum_due(recorded: dict, folder: Path, now: datetime, retention: timedelta) -> bool:
    """A week since the last VACUUM, on a table older than the retention (a younger one has no file to delete: every
    file it dropped was dropped within the retention)."""
    created = created_at(folder)
    if created is not None and now - created < retention:
        return False
    last = recorded.get("vacuumed_at")
    return last is None or now - datetime.fromisoformat(last) >= VACUUM_EVERY


def _upkeep(
    spark: "SparkSession", settings: Settings, table: str, folder: Path, recorded: dict, now: datetime
) -> TableUpkeep:
    upkeep = TableUpkeep(table)
    if _optimize_due(recorded, folder):
        with doing(f"optimizing {table}"):
            before = _files(spark, table)
            if before > _partitions(spark, table):
                spark.sql(f"optimize {table}")
                upkeep = replace(upkeep, optimized=True, files_before=before, files_after=_files(spark, table))
        recorded["optimized_at_commit"] = latest_commit(folder)
    if _vacuum_due(recorded, folder, now, timedelta(days=settings.time_travel_days)):
        with doing(f"vacuuming {table}"):
            spark.sql(f"vacuum {table} retain {settings.time_travel_days * 24} hours").collect()
        deleted = _vacuumed_files(spark, table)
        upkeep = replace(upkeep, vacuumed=True, files_deleted=deleted, kept_days=settings.time_travel_days)
        recorded["vacuumed_at"] = now.isoformat(timespec="seconds")
    if upkeep.optimized or upkeep.vacuumed:
        log.info("%s", upkeep.line())
    return upkeep


def _vacuumed_files(spark: "SparkSession", table: str) -> int | None:
    """How many files the VACUUM just made deleted (its VACUUM END commit says; None when it recorded none)."""
    latest = spark.sql(f"describe history {table} limit 1").first()
    if latest is None or latest["operation"] != "VACUUM END":
        return None
    return int((latest["operationMetrics"] or {}).get("numDeletedFiles", 0))


def _files(spark: "SparkSession", table: str) -> int:
    return int(spark.sql(f"describe detail {table}").first()["numFiles"])


def _partitions(spark: "SparkSession", table: str) -> int:
    """How many partitions the table's files are spread over (1 for an unpartitioned table)."""
    columns = list(spark.sql(f"describe detail {table}").first()["partitionColumns"] or [])
    if not columns:
        return 1
    return int(spark.sql(f"select count(*) from (select distinct {', '.join(columns)} from {table})").first()[0])
