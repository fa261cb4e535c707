"""``auth``: the Authorization Code flow for one listener, tokens cached per listener with mode 0600.

Headless: print the authorize URL, the user opens it anywhere, and pastes the URL the browser was
redirected to (``http://127.0.0.1:8888/callback?code=…``; the page itself may fail to load, that is fine).
With ``--browser`` spotipy opens a local browser and catches the redirect on the loopback port.
A successful authorisation ends a recorded lapse of the listener's authorisation (``lapse``).
"""

import logging
from collections.abc import Callable

from ingest.config import Settings
from ingest.spotify.client import SpotifyUnavailable, has_credentials, missing_scopes, oauth_manager
from ingest.spotify.lapse import clear_lapse
from ingest.spotify.tokens import TokenFile
from ingest.spotify.users import token_file

log = logging.getLogger(__name__)


class AuthError(RuntimeError):
    """The flow failed; the message carries no token or secret."""


def authorize(
    settings: Settings,
    user_id: str,
    read_redirect: Callable[[str], str],
    browser: bool = False,
) -> str:
    """Run the flow; returns the token file path. ``read_redirect(url)`` shows the URL and returns the
    pasted redirect URL (headless mode)."""
    if not has_credentials(settings):
        raise SpotifyUnavailable("CLIENT_ID and CLIENT_SECRET must be set (in the environment or .env) to authorize")
    manager = oauth_manager(settings, user_id, open_browser=browser, interactive=True)
    if browser:
        code = manager.get_auth_response(open_browser=True)
    else:
        redirected = read_redirect(manager.get_authorize_url()).strip()
        code = manager.parse_response_code(redirected)
        if not code or code == redirected:
            raise AuthError("the pasted text is not the redirect URL with a ?code=… parameter")
    try:
        manager.get_access_token(code, as_dict=False, check_cache=False)
    except Exception as exc:  # spotipy raises several types; none may leak the code or secret
        raise AuthError(f"Spotify refused the authorization code ({type(exc).__name__}); run auth again") from None
    path = token_file(settings, user_id)
    lacking = missing_scopes((TokenFile(path).get_cached_token() or {}).get("scope"))
    if lacking:
        raise AuthError(f"Spotify granted this app too little: the scope(s) {', '.join(lacking)} are missing")
    clear_lapse(settings, user_id)
    log.info("Spotify tokens saved to %s (mode 0600)", path)
    return str(path)
