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

from ingest.config import Settings
from ingest.spotify.client import AuthorizationLapsed
from ingest.spotify.listener_flags import Flagged, ListenerFlag
from ingest.spotify.users import pseudonymous_user_id

log = logging.getLogger(__name__)

EXIT_AUTH_LAPSED = 77  # sysexits EX_NOPERM: a listener must authorise the app again
LAPSED = ListenerFlag("authorization_lapsed.json")
Lapse = Flagged


def read_lapse(settings: Settings, user_id: str) -> Lapse | None:
    return LAPSED.read(settings, user_id)


def record_lapse(settings: Settings, user_id: str, reason: str) -> Lapse:
    """Record the lapse; one already recorded keeps its first ``since`` (the reason is the latest)."""
    return LAPSED.record(settings, user_id, reason)


def clear_lapse(settings: Settings, user_id: str) -> None:
    if LAPSED.clear(settings, user_id):
        log.info("Spotify authorisation of listener %s works again", user_id)


def current_lapses(settings: Settings) -> list[Lapse]:
    """Every listener whose authorisation is recorded as lapsed, oldest first."""
    return LAPSED.current(settings)


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
