"""Every Delta table under the data directory, found on disk (registered in the metastore or not), and what a
statement needs to name one: ``delta.`<folder>```."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.lakehouse.delta_log import CHECKPOINT, COMMIT, LOG_FOLDER

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

# Folders under the data directory that hold no Delta table of the lakehouse (the metastore's own files).
NOT_TABLES = ("metastore_db",)


@dataclass(frozen=True)
class DeltaTable:
    folder: Path
    name: str  # "<database>.<table>" from the folders (data/<database>/<table>), else the path under data/

    @property
    def sql(self) -> str:
        """The table in a statement, by its folder (so an unregistered table is found too)."""
        return "delta.`" + str(self.folder).replace("`", "``") + "`"

    @property
    def log(self) -> Path:
        return self.folder / LOG_FOLDER

    def has_commits(self) -> bool:
        """Whether the folder holds a table (a commit or a checkpoint), not the remains of a creation that never
        committed."""
        return any(COMMIT.match(path.name) or CHECKPOINT.match(path.name) for path in self.log.iterdir())

    def schema(self, spark: "SparkSession") -> "StructType":
        return spark.read.format("delta").load(str(self.folder)).schema


def table_name(data_path: Path, folder: Path) -> str:
    relative = folder.relative_to(data_path).parts
    return ".".join(relative) if len(relative) == 2 else "/".join(relative)


def delta_folders(data_path: Path) -> list[DeltaTable]:
    """Every folder under ``data_path`` with a Delta log, at any depth (a table moved aside by doctor, a table
    whose creation was interrupted), sorted by name; table folders inside another table's folder are not tables."""
    found: list[DeltaTable] = []
    for log in sorted(data_path.rglob(LOG_FOLDER)):
        folder = log.parent
        if not log.is_dir() or folder.relative_to(data_path).parts[0] in NOT_TABLES:
            continue
        if any(folder.is_relative_to(table.folder) for table in found):
            continue
        found.append(DeltaTable(folder, table_name(data_path, folder)))
    return sorted(found, key=lambda table: table.name)


def delta_tables(data_path: Path) -> list[DeltaTable]:
    """The Delta tables under ``data_path``: folders whose log holds a commit or a checkpoint."""
    return [table for table in delta_folders(data_path) if table.has_commits()]


def last_checkpoint_version(table: DeltaTable) -> int | None:
    try:
        return int(json.loads((table.log / "_last_checkpoint").read_text())["version"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


def drop_cached_copies(spark: "SparkSession", table: str) -> None:
    """Drop every copy of the table the server keeps cached (Great Expectations persists the frames it validates,
    in the server's shared cache): after a RESTORE, which does not refresh them, every session would otherwise
    go on reading the version before it, and after a withdrawal's DELETE no copy of the rows is left in memory.
    ``table``: a name or ``DeltaTable.sql``."""
    spark.sql(f"uncache table if exists {table}").collect()


def latest_version(spark: "SparkSession", table: "DeltaTable | str") -> int:
    """The table's latest Delta version; ``table``: a ``DeltaTable`` or a name."""
    named = table.sql if isinstance(table, DeltaTable) else table
    return int(spark.sql(f"describe history {named} limit 1").collect()[0]["version"])
