"""What is wrong with a listener's polling, remembered per listener until it ends: one file per condition under
``state/<user_id>/``, holding when it was first seen and the latest reason. No listener name is stored.

The conditions (``ingest.spotify.lapse``, ``ingest.spotify.poll_failures``) are each a ``ListenerFlag``; the pipeline's
summary and the report show the flags that are up.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.config import Settings
from ingest.landing.store import read_json, write_json
from ingest.spotify.users import user_state_dir


@dataclass(frozen=True)
class Flagged:
    user_id: str
    since: str  # UTC, ISO 8601, when a command first met the condition
    reason: str  # the latest reason


@dataclass(frozen=True)
class ListenerFlag:
    file_name: str  # under state/<user_id>/

    def _file(self, settings: Settings, user_id: str) -> Path:
        return settings.ingest_state_path / user_id / self.file_name

    def read(self, settings: Settings, user_id: str) -> Flagged | None:
        recorded = read_json(self._file(settings, user_id))
        if not isinstance(recorded, dict):
            return None
        return Flagged(user_id, str(recorded.get("since", "")), str(recorded.get("reason", "")))

    def record(self, settings: Settings, user_id: str, reason: str) -> Flagged:
        """Raise the flag; one already up keeps its first ``since`` (the reason is the latest)."""
        earlier = self.read(settings, user_id)
        since = earlier.since if earlier else datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = user_state_dir(settings, user_id) / self.file_name
        write_json(path, {"user_id": user_id, "since": since, "reason": reason}, mode=0o600)
        return Flagged(user_id, since, reason)

    def clear(self, settings: Settings, user_id: str) -> bool:
        """Lower the flag; whether it was up."""
        path = self._file(settings, user_id)
        if not path.exists():
            return False
        path.unlink()
        return True

    def current(self, settings: Settings) -> list[Flagged]:
        """Every listener whose flag is up, oldest first."""
        found = [
            self.read(settings, path.parent.name) for path in settings.ingest_state_path.glob(f"*/{self.file_name}")
        ]
        return sorted((flag for flag in found if flag), key=lambda flag: (flag.since, flag.user_id))
