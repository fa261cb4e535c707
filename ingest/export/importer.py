"""``import-history``: a Spotify privacy export → ``landing/export/<user_id>/<kind>/<sha256>.json``, sanitised.

Loads: every listening-history file of the export, in every naming Spotify has used (``ingest.export.kinds``),
told by its records' shape, so a renamed file still imports. Everything else an export holds (``Userdata.json``,
``Identity.json``, playlists, search queries, PDFs, …) is skipped and listed by name: it never reaches the
lakehouse (it holds emails, addresses, birthdates).
Incremental: the landing name is the sha256 of the file as downloaded, so importing the same file again is a
no-op and an interrupted import resumes (finished files are skipped; a half-written one never became visible,
atomic rename). Key, write disposition and incremental rule: ``PRIVACY_EXPORT`` below.
Personal fields (``ip_addr*``, ``user_agent*``, ``username``) are dropped before anything is written. A history
file that cannot be read (not JSON text, truncated, not a list of plays, unreadable) is refused with a message
naming it; the other files still import. A classic music file's records whose artist is a show the same import
names elsewhere (podcast episodes, before 2023) are counted in a note on the file (``ingest.export.episodes``).
"""

import hashlib
import logging
import zipfile
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson

from ingest.config import Settings
from ingest.export.episodes import episodes_note, library_shows, names_in
from ingest.export.files import ExportEntry, Unreadable, find_export_files
from ingest.export.kinds import BY_KIND, CLASSIC_MUSIC, HistoryKind, history_kind, kind_by_name
from ingest.export.parse import ExportFormatError, parse_json
from ingest.landing.store import write_once
from ingest.resource import Resource
from ingest.spotify.users import pseudonymous_user_id

log = logging.getLogger(__name__)

PERSONAL_PREFIXES = ("ip_addr", "user_agent")
PERSONAL_FIELDS = {"username"}
NOT_HISTORY = "not listening history"

Status = Literal["imported", "already_imported", "skipped", "refused"]


@dataclass(frozen=True)
class FileOutcome:
    name: str  # path, or archive.zip!member
    status: Status
    kind: HistoryKind | None = None
    records: int = 0
    reason: str = ""  # why skipped or refused
    note: str = ""  # how it was read, when that is worth saying
    # Records per show or artist its records name (ingest.export.episodes); the shows of a library file it skipped.
    names: Counter[str] = field(default_factory=Counter, compare=False, repr=False)


@dataclass
class ImportResult:
    files: list[FileOutcome] = field(default_factory=list)
    paths_without_history: list[Path] = field(default_factory=list)

    def having(self, status: Status) -> list[FileOutcome]:
        return [outcome for outcome in self.files if outcome.status == status]

    @property
    def records(self) -> int:
        return sum(outcome.records for outcome in self.having("imported"))

    def per_kind(self) -> dict[str, Counter[str]]:
        """Per kind label: files imported, already imported, refused, and records imported."""
        table: dict[str, Counter[str]] = {}
        for outcome in self.files:
            if outcome.kind is not None:
                counts = table.setdefault(outcome.kind.label, Counter())
                counts[outcome.status] += 1
                counts["records"] += outcome.records
        return table


PRIVACY_EXPORT = Resource(
    name="export",
    key=("user_id", "sha256"),
    write_disposition="write-once",
    incremental="a file already landed (same sha256) is not written again; an interrupted import resumes",
)


def exports_landing_dir(settings: Settings) -> Path:
    return settings.landing_path / PRIVACY_EXPORT.name


def export_landing_dir(settings: Settings, user_id: str) -> Path:
    return exports_landing_dir(settings) / user_id


def sanitise(record: object) -> object:
    if not isinstance(record, dict):
        return record
    return {
        key: value
        for key, value in record.items()
        if key not in PERSONAL_FIELDS and not key.startswith(PERSONAL_PREFIXES)
    }


def import_entry(settings: Settings, entry: ExportEntry, user_id: str) -> FileOutcome:
    """Land one file of an export when it is listening history; say what became of it either way."""
    named = kind_by_name(entry.base_name)
    if named is None and not entry.base_name.lower().endswith(".json"):
        return FileOutcome(entry.name, "skipped", reason=NOT_HISTORY)
    try:
        raw = entry.read()
    except (OSError, zipfile.BadZipFile) as exc:
        reason = "cannot be read: permission denied" if isinstance(exc, PermissionError) else f"cannot be read: {exc}"
        return FileOutcome(entry.name, "refused" if named else "skipped", named, reason=reason)
    checksum = hashlib.sha256(raw).hexdigest()
    landed = next(export_landing_dir(settings, user_id).glob(f"*/{checksum}.json"), None)
    if landed is not None:
        return FileOutcome(entry.name, "already_imported", _landed_kind(landed, named))
    try:
        parsed = parse_json(raw)
    except ExportFormatError as exc:
        return _not_history(entry, named, str(exc))
    records = parsed.value
    if not isinstance(records, list):
        found = "an object" if isinstance(records, dict) else type(records).__name__
        skipped = _not_history(entry, named, f"expected a JSON list of plays, found {found}")
        return replace(skipped, names=library_shows(records)) if skipped.status == "skipped" else skipped
    if not records:
        return FileOutcome(entry.name, "skipped", named, reason="holds no plays (an empty list)", note=parsed.note)
    kind = history_kind(entry.base_name, records)
    if kind is None:
        return _not_history(entry, named, f"its records are not plays ({_first_record(records)})")
    target = export_landing_dir(settings, user_id) / kind.kind / f"{checksum}.json"
    envelope = {
        "user_id": user_id,
        "kind": kind.kind,
        "source_name": entry.base_name,
        "sha256": checksum,
        "imported_at": datetime.now(UTC).isoformat(),
        "records": [sanitise(record) for record in records],
    }
    write_once(target, orjson.dumps(envelope))
    return FileOutcome(entry.name, "imported", kind, len(records), note=parsed.note, names=names_in(kind, records))


def _not_history(entry: ExportEntry, named: HistoryKind | None, reason: str) -> FileOutcome:
    """A file Spotify's names call history is refused when it cannot be read as such; any other is skipped."""
    if named is not None:
        return FileOutcome(entry.name, "refused", named, reason=reason)
    return FileOutcome(entry.name, "skipped", reason=NOT_HISTORY)


def _landed_kind(landed: Path, named: HistoryKind | None) -> HistoryKind | None:
    return BY_KIND.get(landed.parent.name, named)


def _first_record(records: list) -> str:
    first = records[0]
    if not isinstance(first, dict):
        return f"the first record is a {type(first).__name__}, not an object"
    return f"the first record has keys {', '.join(sorted(first)[:8])}"


def import_history(paths: list[Path], settings: Settings, user: str | None = None) -> ImportResult:
    """Import export files, folders and zips for a listener (default: SPOTIFY_USER); load them with ``load plays``.

    A missing path raises FileNotFoundError before anything is imported."""
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f"no such file or folder: {path}")
    user_id = pseudonymous_user_id(settings, user)
    result = ImportResult()
    for path in paths:
        outcomes = [_logged(_outcome(settings, found, user_id)) for found in find_export_files(path)]
        result.files += outcomes
        if not any(outcome.kind is not None and outcome.status != "skipped" for outcome in outcomes):
            result.paths_without_history.append(path)
    result.files = _episodes_said(result.files)
    return result


def _episodes_said(outcomes: list[FileOutcome]) -> list[FileOutcome]:
    """Each classic music file imported with records whose artist is a show the import names elsewhere
    (``ingest.export.episodes``), with a note saying how many."""
    shows = {show for outcome in outcomes if outcome.kind is not CLASSIC_MUSIC for show in outcome.names}
    said = []
    for outcome in outcomes:
        note = episodes_note(outcome.names, outcome.records, shows) if outcome.kind is CLASSIC_MUSIC else ""
        if note:
            log.warning("%s: %s", outcome.name, note)
            outcome = replace(outcome, note="; ".join(filter(None, (outcome.note, note))))
        said.append(outcome)
    return said


def _outcome(settings: Settings, found: ExportEntry | Unreadable, user_id: str) -> FileOutcome:
    if isinstance(found, Unreadable):
        return FileOutcome(found.name, "refused", kind_by_name(found.name), reason=found.reason)
    return import_entry(settings, found, user_id)


def _logged(outcome: FileOutcome) -> FileOutcome:
    """Progress, one line per file (an extended export has a file per year or 10,000 plays)."""
    if outcome.note:
        log.warning("%s: %s", outcome.name, outcome.note)
    if outcome.status == "imported" and outcome.kind:
        log.info("imported %s (%s, %d records)", outcome.name, outcome.kind.label, outcome.records)
    elif outcome.status == "refused":
        log.error("refused %s: %s", outcome.name, outcome.reason)
    else:
        reason = f": {outcome.reason}" if outcome.reason else ""
        log.info("%s %s%s", outcome.status.replace("_", " "), outcome.name, reason)
    return outcome
