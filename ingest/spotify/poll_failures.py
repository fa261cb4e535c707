"""A listener whose poll failed (Spotify unreachable, or answering server errors after the retries), remembered
until a poll of theirs works again.

One listener's failing poll must not stop anyone's refresh: ``poll`` records the failure in
``state/<user_id>/poll_failed.json`` (first seen, latest reason), polls the other listeners and exits with
:data:`EXIT_POLL_FAILED`; the pipeline goes on to build what landed and names each failed listener in its summary.
Spotify keeps only a listener's last 50 plays, so a failure that lasts longer than ~3 h of their listening loses
plays: the summary says since when.
"""

from ingest.config import Settings
from ingest.spotify.listener_flags import Flagged, ListenerFlag

EXIT_POLL_FAILED = 69  # sysexits EX_UNAVAILABLE: a service the command needs is unavailable
POLL_FAILED = ListenerFlag("poll_failed.json")


def current_poll_failures(settings: Settings) -> list[Flagged]:
    """Every listener whose last poll failed, oldest failure first."""
    return POLL_FAILED.current(settings)


def poll_failure_message(failure: Flagged) -> str:
    """One line: which listener, since when, why, and what happens next."""
    return (
        f"Polling listener {failure.user_id} failed (since {failure.since}): {failure.reason}. The next poll tries "
        "again; Spotify keeps only their last 50 plays, so plays older than those are lost if it keeps failing."
    )
