"""Spotify search for classic-export plays the catalog did not match: normalised (artist, title) → track id.

Loads: one answer per pair, cached write-once under ``landing/api/metadata/search/<sha256 of the key>.json``
(a miss is cached too), so a pair is asked at most once ever; a hit's track object also lands in the track
cache (``metadata/tracks/<id>.json``), so its metadata is never fetched again. Incremental: only pairs with no
cached answer are asked, at most ``SPOTIFY_SEARCH_MAX_PER_RUN`` per run; a rate limit past the cap or a failing
service stops the searching (never the load), and the next run goes on. Key: the normalised pair
(``ingest.kaggle.matching.match_key``). Auth: the app's client-credentials token, so it needs
``CLIENT_ID``/``CLIENT_SECRET`` but no listener tokens.
"""

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import spotipy

from ingest.config import Settings
from ingest.kaggle.matching import match_key
from ingest.landing.store import write_once
from ingest.spotify.client import SpotifyUnavailable, app_client, call, has_credentials
from ingest.spotify.metadata import metadata_dir

log = logging.getLogger(__name__)

RESULTS_PER_SEARCH = 5
MatchKey = tuple[str, str]


def _cache_file(settings: Settings, key: MatchKey) -> Path:
    digest = hashlib.sha256(orjson.dumps(key)).hexdigest()
    return metadata_dir(settings) / "search" / f"{digest}.json"


def cached_answer(settings: Settings, key: MatchKey) -> tuple[bool, str | None]:
    """(asked before, track id or None)."""
    path = _cache_file(settings, key)
    if not path.exists():
        return False, None
    return True, orjson.loads(path.read_bytes()).get("track_id")


def _best_match(items: list[dict], key: MatchKey) -> dict | None:
    """The first result whose title and one of whose artists match the key once normalised."""
    for track in items:
        artists = [artist.get("name") for artist in track.get("artists") or []]
        if any(match_key(artist, track.get("name")) == key for artist in artists):
            return track
    return None


def search_tracks(settings: Settings, pairs: Iterable[tuple[str, str]]) -> dict[MatchKey, str | None]:
    """Answers for the (artist, title) pairs: cached ones, then new searches within this run's budget.
    A pair missing from the result was not asked (no credentials, budget spent, or the service stopped us)."""
    answers: dict[MatchKey, str | None] = {}
    to_ask: dict[MatchKey, tuple[str, str]] = {}
    for artist, title in pairs:
        key = match_key(artist, title)
        asked, track_id = cached_answer(settings, key)
        if asked:
            answers[key] = track_id
        else:
            to_ask.setdefault(key, (artist, title))
    if not to_ask or not has_credentials(settings):
        return answers
    budget = settings.spotify_search_max_per_run
    if len(to_ask) > budget:
        log.warning("%d (artist, title) pairs to search; %d this run, the rest next run", len(to_ask), budget)
    client = app_client(settings)
    for number, (key, (artist, title)) in enumerate(list(to_ask.items())[:budget], start=1):
        try:
            answers[key] = _search_one(settings, client, key, artist, title)
        except (SpotifyUnavailable, spotipy.SpotifyException) as exc:
            log.warning("Spotify search stopped after %d of %d pairs: %s", number - 1, len(to_ask), exc)
            break
        if number % 100 == 0:
            log.info("Spotify search: %d of %d pairs", number, min(len(to_ask), budget))
    return answers


def _search_one(settings: Settings, client: spotipy.Spotify, key: MatchKey, artist: str, title: str) -> str | None:
    query = f'track:"{title}" artist:"{artist}"'
    response = call(
        settings,
        client,
        lambda: client.search(q=query, limit=RESULTS_PER_SEARCH, type="track"),
        "search",
    )
    track = _best_match((response.get("tracks") or {}).get("items") or [], key)
    track_id = track.get("id") if track else None
    if track and track_id:
        write_once(metadata_dir(settings) / "tracks" / f"{track_id}.json", orjson.dumps(track))
    answer = {"artist": artist, "title": title, "track_id": track_id, "searched_at": datetime.now(UTC).isoformat()}
    write_once(_cache_file(settings, key), orjson.dumps(answer))
    return track_id
