"""A spotipy client on the configured URLs, with spotipy's retries off and our own capped backoff.

spotipy's urllib3 retry honours any ``Retry-After`` (hours are seen in the wild), so it is disabled
(``retries=0``, ``status_retries=0``). ``call`` retries 429 after ``Retry-After`` when that is within
``SPOTIFY_BACKOFF_CAP`` (else raises ``RateLimited``: stop now, the next run resumes), 5xx and timeouts a
bounded number of times, and a 401 once after a forced token refresh.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import requests
import spotipy
from spotipy.oauth2 import SpotifyOauthError

from ingest.config import Settings
from ingest.spotify.tokens import TokenFile
from ingest.spotify.users import token_file

log = logging.getLogger(__name__)
# spotipy logs request headers (bearer tokens) and token-request bodies at DEBUG: never let them through.
logging.getLogger("spotipy").setLevel(logging.CRITICAL)

SCOPES = "user-read-recently-played user-read-private"
T = TypeVar("T")


class SpotifyUnavailable(RuntimeError):
    """No credentials or tokens, or the service keeps failing: the command stops cleanly."""


class RateLimited(SpotifyUnavailable):
    def __init__(self, retry_after: float) -> None:
        super().__init__(
            f"Spotify asked to wait {retry_after:.0f} s (Retry-After), above SPOTIFY_BACKOFF_CAP; "
            "stopping now, the next run resumes where this one stopped."
        )
        self.retry_after = retry_after


def oauth_manager(settings: Settings, user_id: str, open_browser: bool = False) -> spotipy.SpotifyOAuth:
    manager = spotipy.SpotifyOAuth(
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        redirect_uri=settings.redirect_uri,
        scope=SCOPES,
        cache_handler=TokenFile(token_file(settings, user_id)),
        open_browser=open_browser,
        requests_timeout=settings.spotify_request_timeout,
    )
    manager.OAUTH_AUTHORIZE_URL = f"{settings.spotify_accounts_url.rstrip('/')}/authorize"
    manager.OAUTH_TOKEN_URL = token_url(settings)
    return manager


def token_url(settings: Settings) -> str:
    return f"{settings.spotify_accounts_url.rstrip('/')}/api/token"


def has_credentials(settings: Settings) -> bool:
    return bool(settings.client_id and settings.client_secret.get_secret_value())


def has_tokens(settings: Settings, user_id: str) -> bool:
    return TokenFile(token_file(settings, user_id)).get_cached_token() is not None


def spotify_client(settings: Settings, user_id: str) -> spotipy.Spotify:
    if not has_credentials(settings):
        raise SpotifyUnavailable("CLIENT_ID and CLIENT_SECRET are not set")
    if not has_tokens(settings, user_id):
        raise SpotifyUnavailable("no Spotify tokens for this listener; run: python -m ingest auth")
    return _api_client(settings, oauth_manager(settings, user_id))


def app_client(settings: Settings) -> spotipy.Spotify:
    """A client with the app's own token (client credentials): catalog endpoints such as search, no listener."""
    if not has_credentials(settings):
        raise SpotifyUnavailable("CLIENT_ID and CLIENT_SECRET are not set")
    manager = spotipy.SpotifyClientCredentials(
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        requests_timeout=settings.spotify_request_timeout,
        cache_handler=spotipy.MemoryCacheHandler(),  # the app token is never written to disk
    )
    manager.OAUTH_TOKEN_URL = token_url(settings)
    return _api_client(settings, manager)


def _api_client(settings: Settings, auth_manager: spotipy.oauth2.SpotifyAuthBase) -> spotipy.Spotify:
    client = spotipy.Spotify(
        auth_manager=auth_manager,
        requests_timeout=settings.spotify_request_timeout,
        retries=0,
        status_retries=0,
    )
    client.prefix = settings.spotify_api_base_url.rstrip("/") + "/"
    # Even with retries=0, urllib3 turns a 429/5xx in spotipy's status_forcelist into a RetryError that
    # spotipy reports as 429 without Retry-After: a plain session lets the real status and headers through.
    client._session = requests.Session()
    return client


def _force_refresh(client: spotipy.Spotify) -> None:
    manager = client.auth_manager
    if isinstance(manager, spotipy.SpotifyClientCredentials):
        manager.cache_handler.save_token_to_cache(None)  # the next request asks for a new app token
        return
    cached = manager.cache_handler.get_cached_token() or {}
    if not cached.get("refresh_token"):
        raise SpotifyUnavailable("the access token was rejected and there is no refresh token; run auth again")
    try:
        manager.refresh_access_token(cached["refresh_token"])
    except SpotifyOauthError:
        raise SpotifyUnavailable("the refresh token was rejected; run: python -m ingest auth") from None


def call(settings: Settings, client: spotipy.Spotify, request: Callable[[], T], what: str) -> T:
    """Run one API request with our backoff policy."""
    failures = 0
    refreshed = False
    while True:
        try:
            return request()
        except spotipy.SpotifyException as exc:
            if exc.http_status == 401 and not refreshed:
                refreshed = True
                _force_refresh(client)
                continue
            if exc.http_status == 429:
                retry_after = float((exc.headers or {}).get("Retry-After", 1))
                if retry_after > settings.spotify_backoff_cap:
                    raise RateLimited(retry_after) from None
                log.warning("%s: rate limited, waiting %.0f s (Retry-After)", what, retry_after)
                time.sleep(retry_after)
                continue
            if exc.http_status < 500:
                raise
            error = f"HTTP {exc.http_status}"
        except (requests.Timeout, requests.ConnectionError) as exc:
            error = type(exc).__name__
        except SpotifyOauthError:
            raise SpotifyUnavailable(
                "the token service refused the stored tokens; run: python -m ingest auth"
            ) from None
        failures += 1
        if failures > settings.spotify_max_retries:
            raise SpotifyUnavailable(f"{what}: {error} after {failures} attempts; the next run retries")
        delay = min(0.5 * 2 ** (failures - 1), settings.spotify_backoff_cap)
        log.warning("%s: %s, retry %d/%d in %.1f s", what, error, failures, settings.spotify_max_retries, delay)
        time.sleep(delay)
