"""``poll``: recently-played plays since the stored ``after`` cursor, landed raw; no JVM.

Each API response with plays lands as ``landing/api/<user_id>/recently_played/<fetched_at>.json`` (write once,
atomic) before the cursor moves, so a crash at any point loses nothing (a response without plays lands nothing:
most polls find none, and each would be a file for every 30 minutes of a study): the next poll asks again and ``load``
dedupes by ``play_id``. Spotify keeps only the last 50 plays: when a full page's oldest play is newer than
the previous cursor, plays in between are lost; that gap is logged and recorded under ``landing/api/<user_id>/gaps``.
Without CLIENT_ID/CLIENT_SECRET poll is skipped; with them, tokens that cannot be used unattended raise
``AuthorizationLapsed`` (recorded, see ``lapse``) and never prompt.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from spotipy import SpotifyException

from ingest.config import Settings
from ingest.landing.store import read_json, write_json, write_once
from ingest.spotify.client import (
    AuthorizationLapsed,
    RateLimited,
    SpotifyUnavailable,
    call,
    has_credentials,
    spotify_client,
)
from ingest.spotify.lapse import clear_lapse, recording_lapse
from ingest.spotify.metadata import cache_page_tracks, fetch_metadata
from ingest.spotify.poll_failures import POLL_FAILED
from ingest.spotify.recently_played import RECENTLY_PLAYED, api_landing_dir, land_page
from ingest.spotify.users import listeners_with_tokens, pseudonymous_user_id, user_state_dir

log = logging.getLogger(__name__)

PAGE_LIMIT = 50


@dataclass(frozen=True)
class PollResult:
    status: str  # 'polled' | 'skipped'
    plays: int = 0
    gap: bool = False
    reason: str = ""


def played_at_ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _cursor_file(settings: Settings, user_id: str):
    return user_state_dir(settings, user_id) / "recently_played_cursor.json"


@dataclass(frozen=True)
class ListenerPoll:
    """How one listener's poll ended."""

    user_id: str
    status: Literal["polled", "skipped", "lapsed", "failed", "rate_limited", "not_asked"]
    result: PollResult | None = None
    reason: str = ""


def listeners_to_poll(settings: Settings) -> list[str]:
    """Every listener authorised with ``auth`` (tokens stored); the default listener (SPOTIFY_USER) when none is, so
    that a missing authorisation shows as a lapse."""
    return listeners_with_tokens(settings) or [pseudonymous_user_id(settings)]


def poll_listeners(settings: Settings, user_ids: list[str]) -> list[ListenerPoll]:
    """Poll each listener in turn; one listener's failure is recorded (``poll_failures``) and the others are polled.
    A rate limit is the app's, not a listener's: the rest are left to the next run."""
    outcomes: list[ListenerPoll] = []
    for number, user_id in enumerate(user_ids):
        try:
            result = poll(settings, user_id)
        except RateLimited as exc:
            outcomes.append(ListenerPoll(user_id, "rate_limited", reason=str(exc)))
            outcomes.extend(ListenerPoll(later, "not_asked", reason="rate limited") for later in user_ids[number + 1 :])
            break
        except AuthorizationLapsed as exc:  # recorded by poll
            outcomes.append(ListenerPoll(user_id, "lapsed", reason=str(exc)))
            continue
        except Exception as exc:  # unreachable, server errors after the retries, a response it cannot read
            reason = str(exc) if isinstance(exc, SpotifyUnavailable) else f"{type(exc).__name__}: {exc}"
            POLL_FAILED.record(settings, user_id, reason[:500])
            log.error("Polling listener %s failed: %s (recorded; the other listeners are polled)", user_id, reason)
            log.debug("The failure in full", exc_info=True)
            outcomes.append(ListenerPoll(user_id, "failed", reason=reason[:500]))
            continue
        outcomes.append(ListenerPoll(user_id, result.status, result))  # type: ignore[arg-type]
    return outcomes


def poll(settings: Settings, user_id: str) -> PollResult:
    if not has_credentials(settings):
        return PollResult("skipped", reason="CLIENT_ID/CLIENT_SECRET not set")
    with recording_lapse(settings, user_id):
        result = _poll(settings, user_id)
    clear_lapse(settings, user_id)  # the listener's tokens worked
    if POLL_FAILED.clear(settings, user_id):
        log.info("Polling listener %s works again", user_id)
    return result


def _poll(settings: Settings, user_id: str) -> PollResult:
    client = spotify_client(settings, user_id)
    cursor = (read_json(_cursor_file(settings, user_id), {}) or {}).get(RECENTLY_PLAYED.cursor)
    params = {"limit": PAGE_LIMIT} | ({RECENTLY_PLAYED.cursor: cursor} if cursor is not None else {})
    response = call(settings, client, lambda: client.current_user_recently_played(**params), "recently-played")
    fetched_at = datetime.now(UTC)
    stamp = fetched_at.strftime("%Y%m%dT%H%M%S%fZ")
    items = response.get("items") or []
    if not items:  # no play since the cursor: nothing to land (a poll every 30 minutes mostly finds none)
        return PollResult("polled", plays=0)
    landing = api_landing_dir(settings, user_id)
    land_page(settings, user_id, params, response, fetched_at)
    gap = _check_gap(items, cursor)
    if gap:
        write_once(landing / "gaps" / f"{stamp}.json", _dumps(gap | {"user_id": user_id, "detected_at": stamp}))
        log.warning(
            "Possible gap: the page was full and its oldest play (%s) is newer than the previous cursor (%s); "
            "plays in between may be lost. Poll more often (every 15-30 min).",
            gap["oldest_play_ms"],
            gap["previous_cursor_ms"],
        )
    cache_page_tracks(settings, items)
    if items:
        newest = max(played_at_ms(item["played_at"]) for item in items)
        write_json(_cursor_file(settings, user_id), {RECENTLY_PLAYED.cursor: newest, "updated_at": stamp}, mode=0o600)
        _try_audio_features(settings, client, [item["track"]["id"] for item in items if item.get("track")])
    return PollResult("polled", plays=len(items), gap=bool(gap))


def _try_audio_features(settings: Settings, client, track_ids: list[str]) -> None:
    """Real audio features for the new plays while the endpoint answers (a 403 is remembered)."""
    try:
        fetch_metadata(settings, client, track_ids)
    except (SpotifyUnavailable, SpotifyException) as exc:
        log.warning("Metadata not fetched this time (the plays are landed): %s", exc)


def _check_gap(items: list[dict], cursor: int | None) -> dict | None:
    if cursor is None or len(items) < PAGE_LIMIT:
        return None
    oldest = min(played_at_ms(item["played_at"]) for item in items)
    if oldest <= int(cursor):
        return None
    return {"previous_cursor_ms": int(cursor), "oldest_play_ms": oldest}


def _dumps(value: object) -> bytes:
    import orjson

    return orjson.dumps(value)
