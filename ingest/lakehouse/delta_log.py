"""Delta tables as their folders show them, read from disk without the server: which folders are tables, and each
one's latest commit (a table's version; every write adds one)."""

import os
import re
from pathlib import Path

LOG_FOLDER = "_delta_log"
COMMIT = re.compile(r"^(\d{20})\.json$")
CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint(\.\d+\.\d+)?\.parquet$")


def table_folders(data_path: Path) -> list[Path]:
    """Every Delta table folder under the data directory (``<data>/<database>/<table>/_delta_log``)."""
    return sorted(log.parent for log in data_path.glob(f"*/*/{LOG_FOLDER}") if log.is_dir())


def latest_commit(table_folder: Path) -> int:
    """The table's latest commit (its version); -1 for a folder without one."""
    log = table_folder / LOG_FOLDER
    names = os.listdir(log) if log.is_dir() else []
    return max((int(match[1]) for name in names if (match := COMMIT.match(name))), default=-1)
