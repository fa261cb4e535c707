"""Track metadata and audio features, one id at a time (batch endpoints are gone), cached on disk.

Cache: ``landing/api/metadata/tracks/<id>.json`` and ``.../audio_features/<id>.json`` (write once), so an id
is fetched at most once ever. Ids whose track object already arrived in a recently-played payload are not
fetched. ``audio-features`` answers 403 for apps created after Nov 2024: the first 403 is remembered in
``state/audio_features_forbidden.json`` and the endpoint is not asked again for AUDIO_FEATURES_RETRY_AFTER.
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
from ingest.spotify.recently_played import landed_pages, page_track_ids

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


def known_track_ids(settings: Settings) -> set[str]:
    """Ids whose track object is already landed (a recently-played payload or the track cache)."""
    known = {p.stem for p in landed_files(metadata_dir(settings) / TRACKS.name)}
    return known | set(page_track_ids(landed_pages(settings)))


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
