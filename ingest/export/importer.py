"""``import-history``: export files → ``landing/export/<user_id>/<kind>/<sha256>.json``, sanitised.

The landing name is the sha256 of the file as downloaded, so importing the same file again is a no-op,
and an interrupted import resumes: finished files are skipped, a half-written one never became visible
(atomic rename). Personal fields (``ip_addr*``, ``user_agent*``, ``username``) are dropped before
anything is written. A file that is not UTF-8, not complete JSON or not a list of records is refused with
a message naming it; the other files still import.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ingest.config import Settings
from ingest.export.files import ExportFile, find_export_files
from ingest.landing.store import write_once
from ingest.spotify.users import pseudonymous_user_id

log = logging.getLogger(__name__)

PERSONAL_PREFIXES = ("ip_addr", "user_agent")
PERSONAL_FIELDS = {"username"}


class ExportFormatError(ValueError):
    """An export file that cannot be imported at all; the message names the file and the problem."""


@dataclass
class ImportResult:
    imported: list[str] = field(default_factory=list)
    already_imported: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    records: int = 0


def export_landing_dir(settings: Settings, user_id: str) -> Path:
    return settings.landing_path / "export" / user_id


def sanitise(record: object) -> object:
    if not isinstance(record, dict):
        return record
    return {
        key: value
        for key, value in record.items()
        if key not in PERSONAL_FIELDS and not key.startswith(PERSONAL_PREFIXES)
    }


def parse_export(raw: bytes, name: str) -> list:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportFormatError(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    try:
        records = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ExportFormatError(f"{name}: not valid JSON, truncated or corrupt ({exc})") from None
    if not isinstance(records, list):
        raise ExportFormatError(
            f"{name}: expected a JSON list of plays at the top level, found {type(records).__name__}"
        )
    return records


def import_file(settings: Settings, export: ExportFile, user_id: str) -> tuple[bool, int]:
    """Land one export file. Returns (newly imported?, records)."""
    raw = export.read()
    checksum = hashlib.sha256(raw).hexdigest()
    target = export_landing_dir(settings, user_id) / export.kind / f"{checksum}.json"
    if target.exists():
        return False, 0
    records = [sanitise(r) for r in parse_export(raw, export.name)]
    envelope = {
        "user_id": user_id,
        "kind": export.kind,
        "source_name": Path(export.member or export.path).name,
        "sha256": checksum,
        "imported_at": datetime.now(UTC).isoformat(),
        "records": records,
    }
    return write_once(target, orjson.dumps(envelope)), len(records)


def import_history(
    paths: list[Path],
    settings: Settings,
    user: str | None = None,
    progress: Callable[[ExportFile], None] | None = None,
) -> ImportResult:
    """Import export files/folders/zips for a listener (default: SPOTIFY_USER). Load them with ``load plays``."""
    user_id = pseudonymous_user_id(settings, user)
    result = ImportResult()
    exports = list(find_export_files(paths))
    for export in exports:
        try:
            imported, count = import_file(settings, export, user_id)
        except ExportFormatError as exc:
            result.failed[export.name] = str(exc)
            log.error("%s", exc)
        else:
            (result.imported if imported else result.already_imported).append(export.name)
            result.records += count
        if progress:
            progress(export)
    return result
