"""The report's notice of listeners whose Spotify authorisation lapsed: plays since then are missing."""

from collections.abc import Sequence
from html import escape

from ingest.spotify.lapse import Lapse


def lapse_notice(lapses: Sequence[Lapse], user_id: str | None = None) -> str:
    """A warning naming each listener (only ``user_id`` when given) whose authorisation lapsed, since when and
    why; '' when there is none."""
    shown = [lapse for lapse in lapses if user_id is None or lapse.user_id == user_id]
    if not shown:
        return ""
    items = "".join(
        f'<li data-user="{escape(lapse.user_id)}"><strong>{escape(lapse.user_id)}</strong> since '
        f'<time datetime="{escape(lapse.since)}">{escape(lapse.since)}</time>: {escape(lapse.reason)}</li>'
        for lapse in shown
    )
    return (
        '<div class="warning" data-warning="authorisation-lapsed">Spotify authorisation lapsed: no new plays are '
        f"polled for these listeners, so this report misses their listening since then.<ul>{items}</ul>"
        "Renew it with <code>python -m spotify_analytics auth --user &lt;listener's name&gt;</code> "
        "(without <code>--user</code> for the default listener, SPOTIFY_USER).</div>"
    )
