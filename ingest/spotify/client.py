"""A spotipy client on the configured URLs, with spotipy's retries off and our own capped backoff.

spotipy's urllib3 retry honours any ``Retry-After`` (hours are seen in the wild), so it is disabled
(``retries=0``, ``status_retries=0``). ``call`` retries 429 after ``Retry-After`` when that is within
``SPOTIFY_BACKOFF_CAP`` (else raises ``RateLimited``: stop now, the next run resumes), 5xx and timeouts a
bounded number of times, and a 401 once after a forced token refresh.

Nothing here waits for input: spotipy's SpotifyOAuth asks on stdin for a new authorisation whenever it has
no usable token (none stored, or one lacking a scope it asks for). The listener's manager used by poll and
fetch-metadata raises ``AuthorizationLapsed`` there instead, as it does when Spotify rejects the refresh token
(``invalid_grant``: refresh tokens expire after six months); only ``auth`` is interactive.
"""

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

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


class AuthorizationLapsed(SpotifyUnavailable):
    """The listener's stored authorisation no longer works (or never existed): only ``auth`` can renew it."""


INSUFFICIENT_SCOPE = "insufficient client scope"  # Spotify's 403 message for a token without the endpoint's scope
REFRESH_REJECTED = (
    "Spotify rejected the stored refresh token (invalid_grant): refresh tokens expire after six months, "
    "or when the listener removes the app's access"
)


class RateLimited(SpotifyUnavailable):
    def __init__(self, retry_after: float) -> None:
        super().__init__(
            f"Spotify asked to wait {retry_after:.0f} s (Retry-After), above SPOTIFY_BACKOFF_CAP; "
            "stopping now, the next run resumes where this one stopped."
        )
        self.retry_after = retry_after


class ListenerOAuth(spotipy.SpotifyOAuth):
    """spotipy's Authorization Code manager that keeps the scopes Spotify granted (spotipy stores the ones it
    asked for) and, unless interactive, raises instead of prompting for a new authorisation."""

    def __init__(self, *args: Any, interactive: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interactive = interactive

    def get_auth_response(self, open_browser: bool | None = None) -> str:
        if not self.interactive:
            raise AuthorizationLapsed("there is no usable Spotify token for this listener")
        return super().get_auth_response(open_browser)

    def _add_custom_values_to_token_info(self, token_info: dict) -> dict:
        granted = token_info.get("scope")
        token_info = super()._add_custom_values_to_token_info(token_info)
        if granted is not None:
            token_info["scope"] = granted
        return token_info


def oauth_manager(
    settings: Settings, user_id: str, open_browser: bool = False, interactive: bool = False
) -> ListenerOAuth:
    manager = ListenerOAuth(
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        redirect_uri=settings.redirect_uri,
        scope=SCOPES,
        cache_handler=TokenFile(token_file(settings, user_id)),
        open_browser=open_browser,
        requests_timeout=settings.spotify_request_timeout,
        interactive=interactive,
    )
    manager.OAUTH_AUTHORIZE_URL = f"{settings.spotify_accounts_url.rstrip('/')}/authorize"
    manager.OAUTH_TOKEN_URL = token_url(settings)
    return manager


def token_url(settings: Settings) -> str:
    return f"{settings.spotify_accounts_url.rstrip('/')}/api/token"


def has_credentials(settings: Settings) -> bool:
    return bool(settings.client_id and settings.client_secret.get_secret_value())


def missing_scopes(granted: str | None) -> list[str]:
    """The scopes the app asks for (SCOPES) that a grant lacks."""
    return sorted(set(SCOPES.split()) - set((granted or "").split()))


def token_problem(settings: Settings, user_id: str) -> str | None:
    """Why the listener's stored tokens cannot be used without a new authorisation; None when they can."""
    token = TokenFile(token_file(settings, user_id)).get_cached_token()
    if not token:
        return "no Spotify tokens are stored for this listener"
    if not token.get("refresh_token"):
        return "the stored Spotify tokens have no refresh token"
    lacking = missing_scopes(token.get("scope"))
    if lacking:
        return f"the stored authorisation lacks the scope(s) {', '.join(lacking)} that this version asks for"
    return None


def spotify_client(settings: Settings, user_id: str) -> spotipy.Spotify:
    """The listener's API client; AuthorizationLapsed when their tokens cannot be used unattended."""
    if not has_credentials(settings):
        raise SpotifyUnavailable("CLIENT_ID and CLIENT_SECRET are not set")
    problem = token_problem(settings, user_id)
    if problem:
        raise AuthorizationLapsed(problem)
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
        raise AuthorizationLapsed("the access token was rejected and there is no refresh token")
    try:
        manager.refresh_access_token(cached["refresh_token"])
    except SpotifyOauthError as exc:
        raise token_refused(exc) from None


def token_refused(exc: SpotifyOauthError) -> SpotifyUnavailable:
    """The token service's refusal, by its error code (never its request: that holds the secret)."""
    if exc.error == "invalid_grant":
        return AuthorizationLapsed(REFRESH_REJECTED)
    if exc.error == "invalid_client":
        return SpotifyUnavailable("the token service refused this app's CLIENT_ID/CLIENT_SECRET (invalid_client)")
    return SpotifyUnavailable(f"the token service refused the stored tokens ({exc.error or 'no error code'})")


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
            if exc.http_status == 403 and INSUFFICIENT_SCOPE in str(exc.msg).lower():
                raise AuthorizationLapsed(f"Spotify refused {what}: the authorisation lacks a scope it needs") from None
            if exc.http_status < 500:
                raise
            error = f"HTTP {exc.http_status}"
        except (requests.Timeout, requests.ConnectionError) as exc:
            error = type(exc).__name__
        except SpotifyOauthError as exc:
            raise token_refused(exc) from None
        failures += 1
        if failures > settings.spotify_max_retries:
            raise SpotifyUnavailable(f"{what}: {error} after {failures} attempts; the next run retries")
        delay = min(0.5 * 2 ** (failures - 1), settings.spotify_backoff_cap)
        log.warning("%s: %s, retry %d/%d in %.1f s", what, error, failures, settings.spotify_max_retries, delay)
        time.sleep(delay)
