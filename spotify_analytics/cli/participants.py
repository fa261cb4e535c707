"""Typer group ``participants``: ``participants set NAME --timezone ZONE`` (``ingest.participants.timezones``)."""

from typing import Annotated

import typer

from spotify_analytics.cli.common import bronze_writer_or_exit, fail, settings_or_exit

commands = typer.Typer(name="participants", help="The study's participants.", no_args_is_help=True)

NAME_HELP = "The listener name given to import-history --user or auth --user, or the pseudonym u_…"


@commands.command("set")
def participants_set(
    name: Annotated[str, typer.Argument(help=NAME_HELP)],
    timezone: Annotated[str, typer.Option("--timezone", help="The participant's IANA timezone, e.g. Europe/Berlin.")],
) -> None:
    """Record a participant's timezone: Silver's local hour, weekday and part of day, and the local days of Gold,
    use it instead of TIMEZONE. The next build (pipeline, or dbt build) rebuilds that participant's rows only."""
    from ingest.participants.timezones import (
        UnknownParticipant,
        UnknownTimezone,
        check_timezone,
        current_timezone,
        require_participant,
        set_timezone,
        suggested_timezone,
    )

    settings = settings_or_exit()
    try:
        user_id = require_participant(settings, name)
        check_timezone(timezone)
    except (UnknownParticipant, UnknownTimezone) as exc:
        raise fail(str(exc)) from None
    with bronze_writer_or_exit() as (spark, settings):
        before = current_timezone(spark, user_id)
        changed = set_timezone(spark, settings, user_id, timezone)
    was = before or f"TIMEZONE, {settings.timezone}"
    if changed:
        typer.echo(
            f"participants: {name} ({user_id}) now has timezone {timezone} (was {was}); the next build rebuilds "
            "their Silver rows and Gold periods (python -m spotify_analytics pipeline)."
        )
    else:
        typer.echo(f"participants: {name} ({user_id}) already has timezone {timezone}: nothing changed.")
    suggested = suggested_timezone(settings, user_id)
    if suggested and suggested != timezone:
        typer.echo(f"note: the country their extended exports were played from suggests {suggested}.")
