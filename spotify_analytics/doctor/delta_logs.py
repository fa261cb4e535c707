"""Delta logs, read from disk (no server needed): a commit file that does not parse (a disk that filled or a
machine that stopped mid-write) makes its table unreadable.

The latest commit of a table, when broken and not yet covered by a checkpoint, is moved out of ``_delta_log``
(to ``_delta_log_broken/``): the table is then as it was one commit earlier, and the next pipeline run writes
that commit's rows again (a Bronze table from landing, whose load manifest is cleared; Silver and Gold by dbt's
incremental runs, which read their own latest state). A broken commit that is not the latest cannot be dropped
without losing the commits after it: it is reported, with the backup to restore from.
"""

import json
from pathlib import Path

from ingest.lakehouse.delta_log import CHECKPOINT, COMMIT, table_folders
from spotify_analytics.doctor.findings import Finding

BROKEN_FOLDER = "_delta_log_broken"


def commit_parses(path: Path) -> bool:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return bool(lines) and all(json.loads(line) is not None for line in lines if line.strip())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False


def check_table(folder: Path, repair: bool) -> Finding:
    log = folder / "_delta_log"
    commits = sorted((int(match[1]), path) for path in log.iterdir() if (match := COMMIT.match(path.name)))
    checkpoints = [int(match[1]) for path in log.iterdir() if (match := CHECKPOINT.match(path.name))]
    subject = str(folder)
    broken = [(version, path) for version, path in commits if not commit_parses(path)]
    if not broken:
        return Finding("delta log", subject, "ok", f"{len(commits)} commits parse")
    version, path = broken[-1]
    latest = commits[-1][0]
    if len(broken) > 1 or version != latest or any(checkpoint >= version for checkpoint in checkpoints):
        return Finding(
            "delta log",
            subject,
            "problem",
            f"commit {version} of {latest} does not parse ({path}); restore the data directory from a backup "
            "(docs/operations.md#backups)",
        )
    if not repair:
        return Finding(
            "delta log",
            subject,
            "problem",
            f"its latest commit {version} does not parse ({path}); python -m spotify_analytics doctor --repair "
            "moves it aside and the next pipeline run writes its rows again",
        )
    aside = folder / BROKEN_FOLDER / path.name
    aside.parent.mkdir(exist_ok=True)
    for file in commit_files(path):
        file.rename(aside.parent / file.name)
    return Finding("delta log", subject, "repaired", f"moved the broken latest commit {version} to {aside}")


def commit_files(commit: Path) -> list[Path]:
    """A commit's files: its JSON, Delta's checksum of it (``N.crc``), and the hidden checksums Hadoop's local file
    system keeps of each (``.N.json.crc``, ``.N.crc.crc``): one left behind fails the read of the commit written
    again in its place."""
    files = [commit, commit.with_suffix(".crc")]
    files += [file.with_name(f".{file.name}.crc") for file in files]
    return [file for file in files if file.exists()]


def check_delta_logs(data_path: Path, repair: bool) -> list[Finding]:
    return [check_table(folder, repair) for folder in table_folders(data_path)]
