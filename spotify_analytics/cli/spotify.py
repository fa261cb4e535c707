"""Typer commands ``auth``, ``poll`` and ``fetch-metadata`` (no JVM in any of them).

``poll`` and ``fetch-metadata`` never wait for input: a listener whose authorisation has lapsed ends them with
exit code 77 (``lapse.EXIT_AUTH_LAPSED``) and one message naming the listener and the ``auth`` command to run.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from spotify_analytics.cli.common import fail, settings_or_exit

if TYPE_CHECKING:
    from ingest.config import Settings

commands = typer.Typer()

UserOption = Annotated[str | None, typer.Option("--user", help="Local listener name (default: SPOTIFY_USER).")]


@commands.command("auth")
def auth(
    user: UserOption = None,
    browser: Annotated[bool, typer.Option("--browser", help="Open a local browser and catch the redirect.")] = False,
) -> None:
    """Authorize this app for a listener (Authorization Code flow); tokens saved with mode 0600."""
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


def lapsed_line(settings: "Settings", command: str, user_id: str, name: str | None) -> str:
    """The one line of a command stopped by a lapsed authorisation (``name``: the listener's, when known)."""
    from ingest.spotify.lapse import lapse_message, read_lapse

    lapse = read_lapse(settings, user_id)
    who = f"'{name}'" if name else user_id
    message = lapse_message(settings, lapse, name) if lapse else f"Spotify authorisation of listener {who} lapsed"
    return f"error: {command}: {message}"


def lapsed(settings: "Settings", command: str, user_id: str, user: str | None) -> typer.Exit:
    """The one message of a command stopped by a lapsed authorisation, and its exit code."""
    from ingest.spotify.lapse import EXIT_AUTH_LAPSED

    typer.echo(lapsed_line(settings, command, user_id, user or settings.spotify_user), err=True)
    return typer.Exit(EXIT_AUTH_LAPSED)


@contextmanager
def spotify_outcomes(settings: "Settings", command: str, user_id: str, user: str | None) -> Iterator[None]:
    """How a Spotify call ends a command: rate limited, it stops cleanly (exit 0, the next run resumes); a lapsed
    authorisation exits 77 naming the listener; any other unavailability fails (exit 1)."""
    from ingest.spotify.client import AuthorizationLapsed, RateLimited, SpotifyUnavailable

    try:
        yield
    except RateLimited as exc:
        typer.echo(f"{command} stopped: {exc}")
        raise typer.Exit(0) from None
    except AuthorizationLapsed:
        raise lapsed(settings, command, user_id, user) from None
    except SpotifyUnavailable as exc:
        raise fail(f"{command} failed: {exc}") from None


@commands.command("poll")
def poll(user: UserOption = None) -> None:
    """Land the recently-played plays since the last poll: of the listener --user names, else of every listener
    authorised with auth (the default listener, SPOTIFY_USER, when none is). Never prompts: exit 0 and 'skipped'
    without CLIENT_ID/CLIENT_SECRET; a listener whose authorisation has lapsed (no, expired, rejected or
    insufficient tokens) is named with the auth command to run (exit 77); a listener whose poll failed (Spotify
    unreachable, server errors after the retries) is recorded and the others are polled (exit 69)."""
    from ingest.spotify.client import has_credentials
    from ingest.spotify.lapse import EXIT_AUTH_LAPSED
    from ingest.spotify.poll import listeners_to_poll, poll_listeners
    from ingest.spotify.poll_failures import EXIT_POLL_FAILED
    from ingest.spotify.users import pseudonymous_user_id

    settings = settings_or_exit()
    if not has_credentials(settings):
        typer.echo("poll skipped: CLIENT_ID/CLIENT_SECRET not set")
        return
    user_ids = [pseudonymous_user_id(settings, user)] if user else listeners_to_poll(settings)
    outcomes = poll_listeners(settings, user_ids)
    for outcome in outcomes:
        said = "poll" if len(outcomes) == 1 else f"poll {outcome.user_id}"
        if outcome.result is not None and outcome.status == "polled":
            gap = " GAP: plays may have been lost since the previous poll (recorded)." if outcome.result.gap else ""
            typer.echo(f"{said}: {outcome.result.plays} plays landed.{gap}")
        elif outcome.status in ("rate_limited", "not_asked"):
            typer.echo(f"{said} stopped: {outcome.reason}")
        elif outcome.status == "lapsed":
            default = outcome.user_id == pseudonymous_user_id(settings)
            typer.echo(
                lapsed_line(settings, said, outcome.user_id, user or (settings.spotify_user if default else None)),
                err=True,
            )
        elif outcome.status == "failed":
            typer.echo(f"error: {said} failed: {outcome.reason} (recorded; the next poll tries again)", err=True)
    if any(outcome.result is not None and outcome.result.plays for outcome in outcomes):
        from spotify_analytics.cli.common import demo_note

        demo_note(settings)
    statuses = {outcome.status for outcome in outcomes}
    raise typer.Exit(EXIT_AUTH_LAPSED if "lapsed" in statuses else EXIT_POLL_FAILED if "failed" in statuses else 0)


@commands.command("fetch-metadata")
def fetch_metadata(user: UserOption = None) -> None:
    """Fetch metadata (and audio features while they answer) for landed track ids not yet cached. Never
    prompts: 'skipped' without CLIENT_ID/CLIENT_SECRET, exit 77 when the listener's authorisation has lapsed."""
    from ingest.spotify.client import has_credentials, spotify_client
    from ingest.spotify.lapse import recording_lapse
    from ingest.spotify.metadata import fetch_metadata as fetch
    from ingest.spotify.users import pseudonymous_user_id

    settings = settings_or_exit()
    user_id = pseudonymous_user_id(settings, user)
    if not has_credentials(settings):
        typer.echo("fetch-metadata skipped: CLIENT_ID/CLIENT_SECRET not set")
        return
    from ingest.spotify.landed_ids import landed_track_ids

    with spotify_outcomes(settings, "fetch-metadata", user_id, user), recording_lapse(settings, user_id):
        result = fetch(settings, spotify_client(settings, user_id), sorted(landed_track_ids(settings)))
    forbidden = " audio-features: 403, not asked again for now." if result.features_forbidden else ""
    typer.echo(f"fetch-metadata: {result.tracks_fetched} tracks, {result.features_fetched} audio features.{forbidden}")
