"""A listener whose Spotify authorisation has lapsed, remembered until it works again.

``poll`` and ``fetch-metadata`` never wait for input. When a listener's tokens cannot be used unattended (none
stored, a refresh token Spotify rejects with ``invalid_grant``, a grant lacking a scope this version asks for)
they exit with :data:`EXIT_AUTH_LAPSED` and record the lapse in ``state/<user_id>/authorization_lapsed.json``:
when it was first seen and why. A successful poll or ``auth`` removes it. The pipeline's
summary and the report show the recorded lapses. No listener name is stored: the default listener
(``SPOTIFY_USER``) is recognised by its pseudonym.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.config import Settings
from ingest.landing.store import read_json, write_json
from ingest.spotify.client import AuthorizationLapsed
from ingest.spotify.users import pseudonymous_user_id, user_state_dir

log = logging.getLogger(__name__)

EXIT_AUTH_LAPSED = 77  # sysexits EX_NOPERM: a listener must authorise the app again
LAPSE_FILE = "authorization_lapsed.json"


@dataclass(frozen=True)
class Lapse:
    user_id: str
    since: str  # UTC, ISO 8601, when a command first found the authorisation unusable
    reason: str


def _lapse_file(settings: Settings, user_id: str) -> Path:
    return settings.ingest_state_path / user_id / LAPSE_FILE


def read_lapse(settings: Settings, user_id: str) -> Lapse | None:
    recorded = read_json(_lapse_file(settings, user_id))
    if not isinstance(recorded, dict):
        return None
    return Lapse(user_id, str(recorded.get("since", "")), str(recorded.get("reason", "")))


def record_lapse(settings: Settings, user_id: str, reason: str) -> Lapse:
    """Record the lapse; one already recorded keeps its first ``since`` (the reason is the latest)."""
    earlier = read_lapse(settings, user_id)
    since = earlier.since if earlier else datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = user_state_dir(settings, user_id) / LAPSE_FILE
    write_json(path, {"user_id": user_id, "since": since, "reason": reason}, mode=0o600)
    return Lapse(user_id, since, reason)


def clear_lapse(settings: Settings, user_id: str) -> None:
    path = _lapse_file(settings, user_id)
    if path.exists():
        path.unlink()
        log.info("Spotify authorisation of listener %s works again", user_id)


def current_lapses(settings: Settings) -> list[Lapse]:
    """Every listener whose authorisation is recorded as lapsed, oldest first."""
    lapses = [read_lapse(settings, path.parent.name) for path in settings.ingest_state_path.glob(f"*/{LAPSE_FILE}")]
    return sorted((lapse for lapse in lapses if lapse), key=lambda lapse: (lapse.since, lapse.user_id))


@contextmanager
def recording_lapse(settings: Settings, user_id: str) -> Iterator[None]:
    """Around work with the listener's tokens: record the lapse it meets (and raise it on)."""
    try:
        yield
    except AuthorizationLapsed as exc:
        record_lapse(settings, user_id, str(exc))
        raise


def auth_command(settings: Settings, user_id: str, name: str | None = None) -> str:
    """The command that renews the listener's authorisation (``--user`` only when it is not the default one)."""
    if name:
        return f"python -m spotify_analytics auth --user {name}"
    if user_id == pseudonymous_user_id(settings):
        return "python -m spotify_analytics auth"
    return "python -m spotify_analytics auth --user <this listener's name>"


def lapse_message(settings: Settings, lapse: Lapse, name: str | None = None) -> str:
    """One line: which listener, since when, why, and the command that renews it."""
    who = f"'{name}' ({lapse.user_id})" if name else lapse.user_id
    return (
        f"Spotify authorisation of listener {who} lapsed (since {lapse.since}): {lapse.reason}. No new plays are "
        f"polled for this listener until it is renewed; run: {auth_command(settings, lapse.user_id, name)}"
    )
