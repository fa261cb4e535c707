"""A withdrawal's progress on disk, so one that was killed is completed by running it again.

``state/withdrawals/<audit hash>.json`` (private, like all of ``state/``) holds what is done: the steps, the rows
deleted per table, the tables whose old versions are erased, and the table properties to set back. It names the
participant only by the audit hash, never by pseudonym or name, and is deleted when the withdrawal is complete.
"""

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest.config import Settings
from ingest.landing.store import private_dir, read_json, write_json

FOLDER = "withdrawals"


@dataclass
class Journal:
    path: Path
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    steps_done: list[str] = field(default_factory=list)
    rows_removed: dict[str, int] = field(default_factory=dict)  # table -> rows deleted (summed over attempts)
    rows_deleting: dict[str, int] = field(default_factory=dict)  # table -> rows of a DELETE not known to be done
    tables_to_erase: list[str] = field(default_factory=list)  # tables whose old versions must be erased
    tables_erased: list[str] = field(default_factory=list)
    original_properties: dict[str, dict[str, str | None]] = field(default_factory=dict)
    files_deleted: int = 0
    files_edited: int = 0
    attempts: int = 1

    def save(self) -> None:
        state = {key: value for key, value in asdict(self).items() if key != "path"}
        write_json(self.path, state, mode=0o600)

    def done(self, step: str) -> bool:
        return step in self.steps_done

    def mark(self, step: str) -> None:
        self.steps_done.append(step)
        self.save()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def journal_path(settings: Settings, audit_hash: str) -> Path:
    return private_dir(private_dir(settings.ingest_state_path) / FOLDER) / f"{audit_hash}.json"


def open_journal(settings: Settings, audit_hash: str) -> tuple[Journal, bool]:
    """The withdrawal's journal and whether it resumes an earlier attempt."""
    path = journal_path(settings, audit_hash)
    saved = read_json(path, None)
    if not isinstance(saved, dict):
        return Journal(path), False
    journal = Journal(path, **{key: value for key, value in saved.items() if key in Journal.__dataclass_fields__})
    journal.attempts += 1
    return journal, True


def pending_journal(settings: Settings, audit_hash: str) -> bool:
    return (settings.ingest_state_path / FOLDER / f"{audit_hash}.json").is_file()
