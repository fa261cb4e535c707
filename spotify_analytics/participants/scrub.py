"""A participant's files: their own folders (landing, state with their Spotify tokens), and every other file that
names them, which is edited so it no longer does.

- **Their folders**: every folder named after the pseudonym under ``landing/`` (``export/<user_id>/``,
  ``api/<user_id>/``) and ``state/`` (tokens, cursors, poll records) is deleted.
- **JSON records** (``state/*.json``, Great Expectations' suites and validation results under ``quality/gx``):
  every list item and every key that names the pseudonym, or one of their ``play_id``s, is taken out; a
  validation result's statistics are counted again from the results that remain. A file that still names them
  after that is deleted.
- **Other text files** (the server's and dbt's logs, dbt's compiled SQL and artifacts): the pseudonym is
  overwritten in place by a mask of the same length (``masked``), so a log the server keeps appending to stays
  the same file; a binary file that names it (dbt's partial-parse cache) is deleted (it is made again).
- **Interrupted table creations** (``<database>/_interrupted/*``, a table folder whose creation was killed before
  its first commit): deleted whole. They hold no committed row (the rows are loaded again from the landing
  files), and a half-written Parquet file cannot be read to check whom it names.
"""

import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.bronze.delta import INTERRUPTED_FOLDER
from ingest.landing.store import atomic_write

log = logging.getLogger(__name__)

MASK_WORD = "withdrawn"
PLAY_ID = re.compile(r"[0-9a-f]{64}")
CHUNK = 1 << 20


@dataclass
class Needles:
    """What names a participant in a file: their pseudonym, and their play ids (64 hex digits)."""

    pseudonym: str
    play_ids: frozenset[str] = field(default_factory=frozenset)

    def in_text(self, text: str) -> bool:
        if self.pseudonym in text:
            return True
        return bool(self.play_ids) and any(token in self.play_ids for token in PLAY_ID.findall(text))


@dataclass
class FileCounts:
    deleted: int = 0
    edited: int = 0

    def add(self, other: "FileCounts") -> None:
        self.deleted += other.deleted
        self.edited += other.edited


def participant_folders(roots: Iterable[Path], pseudonym: str) -> list[Path]:
    """Every folder named after the pseudonym under the roots (``landing/``, ``state/``)."""
    return sorted(path for root in roots if root.is_dir() for path in root.rglob(pseudonym) if path.is_dir())


def remove_folders(folders: list[Path]) -> FileCounts:
    counts = FileCounts()
    for folder in folders:
        counts.deleted += sum(1 for path in folder.rglob("*") if path.is_file())
        shutil.rmtree(folder, ignore_errors=True)
    return counts


def interrupted_creations(data: Path) -> list[Path]:
    """The table folders whose creation never committed, moved aside under a database folder's
    ``_interrupted/`` (``ingest.bronze.delta.complete_interrupted_creation``)."""
    return sorted(path for path in data.glob(f"*/{INTERRUPTED_FOLDER}/*") if path.is_dir())


def file_names(path: Path, needle: bytes) -> bool:
    """Whether the file's bytes hold ``needle`` (read in chunks: a log can be large)."""
    overlap = len(needle) - 1
    tail = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                if needle in tail + chunk:
                    return True
                tail = chunk[-overlap:] if overlap else b""
    except OSError:
        return False
    return False


# ---------------------------------------------------------------- JSON records


def _names(value: object, needles: Needles) -> bool:
    if isinstance(value, str):
        return needles.in_text(value)
    if isinstance(value, list):
        return any(_names(item, needles) for item in value)
    if isinstance(value, dict):
        return any(needles.in_text(str(key)) or _names(item, needles) for key, item in value.items())
    return False


def scrubbed(value: object, needles: Needles) -> object:
    """``value`` without the list items and keys that name the participant (a dict keeps its other keys)."""
    if isinstance(value, list):
        return [scrubbed(item, needles) for item in value if not _names(item, needles)]
    if isinstance(value, dict):
        kept = {
            key: scrubbed(item, needles)
            for key, item in value.items()
            if not needles.in_text(str(key)) and not (isinstance(item, str) and needles.in_text(item))
        }
        return recount_validation(kept) if kept != value else kept
    return value


def recount_validation(value: dict) -> dict:
    """A Great Expectations validation result's statistics and success, from the results it holds."""
    results, statistics = value.get("results"), value.get("statistics")
    if not isinstance(results, list) or not isinstance(statistics, dict):
        return value
    successful = sum(1 for result in results if isinstance(result, dict) and result.get("success"))
    statistics.update(
        evaluated_expectations=len(results),
        successful_expectations=successful,
        unsuccessful_expectations=len(results) - successful,
        success_percent=100.0 * successful / len(results) if results else None,
    )
    value["success"] = successful == len(results)
    return value


def scrub_json_file(path: Path, needles: Needles) -> FileCounts:
    """Take the participant out of a JSON file; delete it when that is not possible."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return FileCounts()
    if not needles.in_text(text):
        return FileCounts()
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        path.unlink(missing_ok=True)
        return FileCounts(deleted=1)
    kept = scrubbed(value, needles)
    if _names(kept, needles):
        path.unlink(missing_ok=True)
        return FileCounts(deleted=1)
    atomic_write(path, json.dumps(kept, indent=2).encode(), mode=os.stat(path).st_mode & 0o777)
    return FileCounts(edited=1)


def scrub_json_files(root: Path, needles: Needles, skip: Iterable[Path] = ()) -> FileCounts:
    counts = FileCounts()
    skipped = list(skip)
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        if path.is_file() and not any(path.is_relative_to(folder) for folder in skipped):
            counts.add(scrub_json_file(path, needles))
    return counts


# ---------------------------------------------------------------- other files


def files_under(root: Path, skip: Iterable[Path]) -> Iterator[Path]:
    skipped = list(skip)
    if not root.is_dir():
        return
    for directory, folders, files in os.walk(root):
        here = Path(directory)
        folders[:] = [name for name in folders if not any((here / name).is_relative_to(s) for s in skipped)]
        for name in files:
            yield here / name


def masked(pseudonym: str) -> bytes:
    """What overwrites the pseudonym in a text file: ``MASK_WORD`` padded with ``#`` to the same length."""
    return f"{MASK_WORD:#^{len(pseudonym)}}"[: len(pseudonym)].encode()


def redact_file(path: Path, pseudonym: str) -> FileCounts:
    """Overwrite the pseudonym in a text file, in place; delete a binary file that holds it."""
    needle = pseudonym.encode()
    if not file_names(path, needle):
        return FileCounts()
    content = path.read_bytes()
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        path.unlink(missing_ok=True)
        return FileCounts(deleted=1)
    with path.open("r+b") as handle:
        start = content.find(needle)
        while start >= 0:
            handle.seek(start)
            handle.write(masked(pseudonym))
            start = content.find(needle, start + len(needle))
    return FileCounts(edited=1)


def redact_files(roots: Iterable[Path], pseudonym: str, skip: Iterable[Path]) -> FileCounts:
    counts = FileCounts()
    skipped = list(skip)
    for root in roots:
        for path in files_under(root, skipped):
            if path.is_file() and not path.is_symlink():
                counts.add(redact_file(path, pseudonym))
    return counts
