"""Load the catalog into Bronze: ``bronze.kaggle_tracks_bronze`` and its quarantine table.

Loads: a full snapshot of one catalog file (the user's Kaggle CSV, or the generated demo catalog).
Key: ``catalog_row_id``. Incremental by content: unchanged rows are kept as they are, changed rows
updated, rows gone from the file deleted. Rejected rows go to ``bronze.kaggle_tracks_quarantine``
with their reason, replaced on each load of the same file. Cursor: the file's sha256 and the table's
Delta version after its last load (``state/catalog_loaded.json``); while both still hold, the file is not
read again (every pipeline run loads the catalog, which rarely changes).
"""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.bronze.delta import (
    MergeResult,
    ensure_bronze_database,
    ensure_table,
    latest_version,
    merge_snapshot,
    sql_string,
)
from ingest.bronze.schemas import CATALOG_QUARANTINE, KAGGLE_TRACKS
from ingest.config import Settings
from ingest.kaggle.demo import write_demo_catalog
from ingest.kaggle.kaggle_csv import ParsedCatalog, read_catalog
from ingest.landing.store import private_dir, read_json, write_json

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogChoice:
    path: Path
    catalog_source: str  # 'kaggle' or 'generated'


@dataclass(frozen=True)
class CatalogLoad:
    choice: CatalogChoice
    merge: MergeResult
    quarantined: int
    unchanged: bool = False  # the same file as at the last load, into an untouched table: not read again


def choose_catalog(settings: Settings) -> CatalogChoice:
    """The user's Kaggle file when present, else the generated demo catalog (written on demand)."""
    kaggle = settings.path(settings.kaggle_csv)
    if kaggle.is_file():
        return CatalogChoice(kaggle, "kaggle")
    log.warning(
        "No Kaggle catalog at %s: using a GENERATED demo catalog (not real Spotify data). "
        "Download the Kaggle 'Spotify Tracks Dataset' dataset.csv there for real features.",
        kaggle,
    )
    return CatalogChoice(write_demo_catalog(settings.data_path / "demo"), "generated")


def _replace_quarantine(spark: "SparkSession", parsed: ParsedCatalog, source_file: str) -> None:
    ensure_table(spark, CATALOG_QUARANTINE)
    spark.sql(f"delete from {CATALOG_QUARANTINE.qualified} where source_file = {sql_string(source_file)}")
    if parsed.rejected.empty:
        return
    rejected = parsed.rejected[CATALOG_QUARANTINE.column_names]
    spark.createDataFrame(rejected, schema=CATALOG_QUARANTINE.ddl).createOrReplaceTempView("rejected_rows")
    spark.sql(
        f"insert into {CATALOG_QUARANTINE.qualified} "
        f"select *, current_timestamp() as {CATALOG_QUARANTINE.stamp.name} from rejected_rows"
    )


def _cursor_file(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "catalog_loaded.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_catalog(spark: "SparkSession", settings: Settings) -> CatalogLoad:
    choice = choose_catalog(settings)
    ensure_bronze_database(spark)
    ensure_table(spark, KAGGLE_TRACKS)
    loaded_file = {
        "path": str(choice.path),
        "catalog_source": choice.catalog_source,
        "sha256": file_sha256(choice.path),
    }
    cursor = read_json(_cursor_file(settings), {}) or {}
    if cursor.get("file") == loaded_file and cursor.get("table_version") == latest_version(spark, KAGGLE_TRACKS.name):
        log.info("Catalog %s unchanged since its last load: not read again", choice.path)
        total = spark.table(KAGGLE_TRACKS.qualified).count()
        return CatalogLoad(choice, MergeResult(0, 0, 0, total), cursor.get("quarantined", 0), unchanged=True)
    parsed = read_catalog(choice.path, choice.catalog_source)
    log.info("Read %d valid and %d rejected rows from %s", len(parsed.rows), len(parsed.rejected), choice.path)
    merge = merge_snapshot(spark, KAGGLE_TRACKS, parsed.rows[KAGGLE_TRACKS.column_names])
    _replace_quarantine(spark, parsed, str(choice.path))
    version = latest_version(spark, KAGGLE_TRACKS.name)
    cursor = {"file": loaded_file, "table_version": version, "quarantined": len(parsed.rejected)}
    write_json(_cursor_file(settings), cursor, mode=0o600)
    return CatalogLoad(choice=choice, merge=merge, quarantined=len(parsed.rejected))
