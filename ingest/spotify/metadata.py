"""Track metadata and audio features, one id at a time (batch endpoints are gone), cached on disk.

Cache: ``landing/api/metadata/tracks/<id>.json`` and ``.../audio_features/<id>.json`` (write once), so an id
is fetched at most once ever. ``poll`` writes the track objects of each page it lands into the track cache, so ids
whose track object already arrived in a recently-played payload are not fetched, and the cache is the index of
every landed track (listing it is cheap; parsing every landed page on every poll was not). ``audio-features``
answers 403 for apps created after Nov 2024: the first 403 is remembered in ``state/audio_features_forbidden.json``
and the endpoint is not asked again for AUDIO_FEATURES_RETRY_AFTER.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import spotipy

from ingest.config import Settings
from ingest.landing.store import landed_files, private_dir, read_json, write_json, write_once
from ingest.resource import Resource
from ingest.spotify.client import call
from ingest.spotify.recently_played import landed_pages, page_items

log = logging.getLogger(__name__)

TRACKS = Resource(
    name="tracks",
    key=("id",),
    write_disposition="write-once",
    incremental="an id is fetched at most once ever: ids already cached or seen in a recently-played page are skipped",
)
AUDIO_FEATURES = Resource(
    name="audio_features",
    key=("id",),
    write_disposition="write-once",
    incremental="an id is fetched at most once ever; after a 403 the endpoint rests for AUDIO_FEATURES_RETRY_AFTER",
)


@dataclass
class MetadataResult:
    tracks_fetched: int = 0
    features_fetched: int = 0
    features_forbidden: bool = False


def metadata_dir(settings: Settings) -> Path:
    return settings.landing_path / "api" / "metadata"


def _forbidden_file(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "audio_features_forbidden.json"


def audio_features_forbidden(settings: Settings) -> bool:
    since = (read_json(_forbidden_file(settings), {}) or {}).get("forbidden_at")
    return since is not None and time.time() - since < settings.audio_features_retry_after


def cache_page_tracks(settings: Settings, items: list[dict]) -> int:
    """The track objects of a recently-played page into the track cache (a play's payload carries the full
    object): the cache is then the one index of landed tracks, read by listing it, never by parsing every page."""
    folder = metadata_dir(settings) / TRACKS.name
    return sum(
        write_once(folder / f"{track['id']}.json", orjson.dumps(track))
        for track in (item.get("track") or {} for item in items)
        if track.get("id")
    )


def _pages_cached(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "pages_tracks_cached.json"


def cached_track_ids(settings: Settings) -> set[str]:
    """Ids whose track object is landed: the track cache, after the tracks of every landed page not read yet (one
    poll did not land itself, or one landed by an earlier version) are put into it."""
    api = settings.landing_path / "api"
    done = set(read_json(_pages_cached(settings), []) or [])
    pages = {str(page.relative_to(api)): page for page in landed_pages(settings)}
    new = sorted(set(pages) - done)
    for name in new:
        cache_page_tracks(settings, page_items(pages[name]))
    if new:
        write_json(_pages_cached(settings), sorted(done | set(new)), mode=0o600)
    return {path.stem for path in landed_files(metadata_dir(settings) / TRACKS.name)}


def known_track_ids(settings: Settings) -> set[str]:
    """Ids whose track object is already landed (the track cache)."""
    return cached_track_ids(settings)


def fetch_metadata(settings: Settings, client: spotipy.Spotify, track_ids: list[str]) -> MetadataResult:
    result = MetadataResult()
    known = known_track_ids(settings)
    cache = metadata_dir(settings)
    for track_id in sorted(set(track_ids) - known):
        try:
            track = call(settings, client, lambda t=track_id: client.track(t), f"track {track_id}")
        except spotipy.SpotifyException as exc:
            if exc.http_status not in (400, 404):
                raise
            log.warning("track %s: Spotify does not know this id (HTTP %d); skipped", track_id, exc.http_status)
            continue
        result.tracks_fetched += write_once(cache / TRACKS.name / f"{track_id}.json", orjson.dumps(track))
    for track_id in sorted(set(track_ids)):
        target = cache / AUDIO_FEATURES.name / f"{track_id}.json"
        if target.exists():
            continue
        if audio_features_forbidden(settings):
            result.features_forbidden = True
            break
        try:
            features = call(settings, client, lambda t=track_id: client.audio_features([t]), "audio-features")
        except spotipy.SpotifyException as exc:
            if exc.http_status != 403:
                raise
            write_json(_forbidden_file(settings), {"forbidden_at": time.time()}, mode=0o600)
            log.warning(
                "audio-features answered 403 (apps created after Nov 2024 have no access); not asking again "
                "for %.0f h. Tracks get Kaggle or synthetic features instead.",
                settings.audio_features_retry_after / 3600,
            )
            result.features_forbidden = True
            break
        if features and features[0]:
            result.features_fetched += write_once(target, orjson.dumps(features[0]))
    return result
