"""Delta tables as their folders show them, read from disk without the server: which folders are tables, each
one's latest commit (a table's version; every write adds one) and its latest commit that may have changed rows."""

import json
import os
import re
from datetime import UTC, datetime
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


# Commits that change no row: the upkeep's (spotify_analytics.maintenance). A table's content is as of its latest
# commit of any other operation.
UPKEEP_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})


def commit_info(table_folder: Path, version: int) -> dict:
    """A commit's ``commitInfo`` (the first line of a commit Spark writes); {} when it has none or is gone."""
    try:
        with (table_folder / LOG_FOLDER / f"{version:020d}.json").open("rb") as commit:
            for line in commit:
                action = json.loads(line)
                if "commitInfo" in action:
                    return dict(action["commitInfo"])
    except (OSError, ValueError):
        return {}
    return {}


def commit_operation(table_folder: Path, version: int) -> str | None:
    """The operation a commit records."""
    return commit_info(table_folder, version).get("operation")


def created_at(table_folder: Path) -> datetime | None:
    """When the table's first commit was made; None when its log no longer holds it (a table that old)."""
    timestamp = commit_info(table_folder, 0).get("timestamp")
    return datetime.fromtimestamp(timestamp / 1000, tz=UTC) if isinstance(timestamp, int) else None


def content_version(table_folder: Path) -> int:
    """The table's latest commit that may have changed its rows (the upkeep's commits skipped)."""
    version = latest_commit(table_folder)
    while version > 0 and commit_operation(table_folder, version) in UPKEEP_OPERATIONS:
        version -= 1
    return version
