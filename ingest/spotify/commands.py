"""Typer commands ``auth``, ``poll`` and ``fetch-metadata`` (no JVM in any of them)."""

from typing import Annotated

import typer

UserOption = Annotated[str | None, typer.Option("--user", help="Local listener name (default: SPOTIFY_USER).")]


def auth(
    user: UserOption = None,
    browser: Annotated[bool, typer.Option("--browser", help="Open a local browser and catch the redirect.")] = False,
) -> None:
    """Authorize this app for a listener (Authorization Code flow); tokens saved with mode 0600."""
    from ingest.cli import fail, settings_or_exit
    from ingest.spotify.auth import AuthError, authorize
    from ingest.spotify.client import SpotifyUnavailable
    from ingest.spotify.users import pseudonymous_user_id

    settings = settings_or_exit()

    def read_redirect(url: str) -> str:
        typer.echo(f"Open this URL, approve, then paste the URL you were redirected to:\n{url}")
        return typer.prompt("Redirect URL")

    try:
        path = authorize(settings, pseudonymous_user_id(settings, user), read_redirect, browser)
    except (AuthError, SpotifyUnavailable) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"Authorized. Tokens saved to {path} (mode 0600).")


def poll(user: UserOption = None) -> None:
    """Land the recently-played plays since the last poll (exit 0 and 'skipped' without credentials)."""
    from ingest.cli import fail, settings_or_exit
    from ingest.spotify.client import RateLimited, SpotifyUnavailable
    from ingest.spotify.poll import poll as run_poll
    from ingest.spotify.users import pseudonymous_user_id

    settings = settings_or_exit()
    try:
        result = run_poll(settings, pseudonymous_user_id(settings, user))
    except RateLimited as exc:
        typer.echo(f"poll stopped: {exc}")
        return
    except SpotifyUnavailable as exc:
        raise fail(f"poll failed: {exc}") from None
    if result.status == "skipped":
        typer.echo(f"poll skipped: {result.reason}")
        return
    gap = " GAP: plays may have been lost since the previous poll (recorded)." if result.gap else ""
    typer.echo(f"poll: {result.plays} plays landed.{gap}")


def fetch_metadata(user: UserOption = None) -> None:
    """Fetch metadata (and audio features while they answer) for landed track ids not yet cached."""
    from ingest.cli import fail, settings_or_exit
    from ingest.spotify.client import RateLimited, SpotifyUnavailable, has_credentials, has_tokens, spotify_client
    from ingest.spotify.metadata import fetch_metadata as fetch
    from ingest.spotify.users import pseudonymous_user_id

    settings = settings_or_exit()
    user_id = pseudonymous_user_id(settings, user)
    if not (has_credentials(settings) and has_tokens(settings, user_id)):
        typer.echo("fetch-metadata skipped: no Spotify credentials or tokens")
        return
    from ingest.spotify.landed_ids import landed_track_ids

    try:
        result = fetch(settings, spotify_client(settings, user_id), sorted(landed_track_ids(settings)))
    except RateLimited as exc:
        typer.echo(f"fetch-metadata stopped: {exc}")
        return
    except SpotifyUnavailable as exc:
        raise fail(f"fetch-metadata failed: {exc}") from None
    forbidden = " audio-features: 403, not asked again for now." if result.features_forbidden else ""
    typer.echo(f"fetch-metadata: {result.tracks_fetched} tracks, {result.features_fetched} audio features.{forbidden}")


def register(app: typer.Typer) -> None:
    app.command("auth")(auth)
    app.command("poll")(poll)
    app.command("fetch-metadata")(fetch_metadata)
