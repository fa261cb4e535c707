"""Typer group ``participants``: ``list`` who is enrolled, ``set`` one's timezone (``ingest.participants.timezones``),
``withdraw`` one of them (``spotify_analytics.participants``)."""

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from spotify_analytics.cli.common import bronze_writer_or_exit, fail, settings_or_exit

if TYPE_CHECKING:
    from spotify_analytics.participants.withdrawal import Survey

commands = typer.Typer(
    name="participants", help="The study's participants: who is enrolled, their timezones, withdrawing one."
)


NAME_HELP = "The listener name given to import-history --user or auth --user, or the pseudonym u_…"


@commands.command("list")
def participants_list() -> None:
    """One line per participant: pseudonym, sources, first and last play, music plays, minutes, the share of
    plays with audio features (Silver's; Bronze's plays before Silver is built) and their timezone (or TIMEZONE,
    and the zone their exports suggest)."""
    from spotify_analytics.cli.common import lakehouse_or_exit
    from spotify_analytics.participants.roster import roster

    spark, settings = lakehouse_or_exit()
    participants = roster(spark, settings)
    if not participants:
        typer.echo("No participants yet: import an export (import-history) or authorise a listener (auth).")
        return
    header = f"{'pseudonym':<20} {'sources':<40} {'first play':<10} {'last play':<10} {'plays':>9} "
    typer.echo(header + f"{'minutes':>10} {'features':>8}  timezone")
    for person in participants:
        first = person.first_play.strftime("%Y-%m-%d") if person.first_play else "-"
        last = person.last_play.strftime("%Y-%m-%d") if person.last_play else "-"
        coverage = "-" if person.feature_coverage is None else f"{person.feature_coverage:.0%}"
        sources = ", ".join(sorted(person.sources)) or "-"
        name = f"{person.pseudonym} (generated demo)" if person.generated else person.pseudonym
        zone = person.timezone or f"{settings.timezone} (TIMEZONE)"
        if person.suggested_timezone:
            zone += f", exports suggest {person.suggested_timezone}"
        typer.echo(
            f"{name:<20} {sources:<40} {first:<10} {last:<10} {person.plays:>9,} {person.minutes:>10,.0f} {coverage:>8}"
            f"  {zone}"
        )
    counted = {person.counted_in for person in participants if person.counted_in}
    typer.echo(f"{len(participants)} participant(s); plays, minutes and features from {', '.join(sorted(counted))}.")


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
            "their Silver rows and Gold periods (spotify-analytics pipeline)."
        )
    else:
        typer.echo(f"participants: {name} ({user_id}) already has timezone {timezone}: nothing changed.")
    suggested = suggested_timezone(settings, user_id)
    if suggested and suggested != timezone:
        typer.echo(f"note: the country their extended exports were played from suggests {suggested}.")


@commands.command("withdraw")
def participants_withdraw(
    name: Annotated[str, typer.Argument(help=NAME_HELP)],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (needed without a terminal).")] = False,
) -> None:
    """Remove a participant from every table, landing file, state file (their Spotify tokens) and the report, erase
    the old versions of every table they were in (VACUUM), and record the withdrawal in ops.withdrawals by a
    one-way hash. Refused while a pipeline run holds its lock (exit 75). A withdrawal that was stopped is
    completed by running it again."""
    from ingest.lakehouse.client import ServerError
    from spotify_analytics.delta.maintenance import EXIT_BUSY, PipelineBusy, maintenance_session
    from spotify_analytics.participants.identity import NotAParticipant, pseudonym_of
    from spotify_analytics.participants.withdrawal import survey, withdraw

    if not yes and not sys.stdin.isatty():
        raise fail("withdrawing a participant asks for confirmation, and there is no terminal: pass --yes", 2)
    settings = settings_or_exit()
    try:
        pseudonym = pseudonym_of(settings, name)
    except NotAParticipant as exc:
        raise fail(str(exc)) from None
    try:
        with maintenance_session(settings, "participants withdraw") as spark:
            found = survey(spark, settings, pseudonym)
            if found.found:
                describe(found)
            go_ahead = found.found and (yes or typer.confirm(f"Withdraw {pseudonym}: delete all of this?"))
            done = withdraw(spark, settings, pseudonym, lambda line: typer.echo(f"  {line}")) if go_ahead else None
    except PipelineBusy as exc:
        raise fail(f"{exc} Nothing was changed; withdraw when the run has ended.", EXIT_BUSY) from None
    except ServerError as exc:
        raise fail(str(exc)) from None
    if done is None and found.found:
        raise fail("not withdrawn; nothing was changed")
    if done is None and found.withdrawn_before:
        when = found.withdrawn_before[-1].strftime("%Y-%m-%d %H:%M UTC")
        typer.echo(f"participants withdraw: already withdrawn ({when}); nothing of them remains.")
        return
    if done is None:
        raise fail(
            f"no participant {name!r} in the lakehouse (no rows, landing or state files, or report page name "
            "them); nothing was changed. `spotify-analytics participants list` shows the participants."
        )
    for warning in done.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"participants withdraw: {pseudonym} withdrawn: {sum(done.rows_removed.values()):,} row(s) from "
        f"{len(done.rows_removed)} table(s), {done.files_deleted} file(s) deleted, {done.files_edited} edited; old "
        f"versions erased in {len(done.tables_erased)} table(s); recorded in ops.withdrawals by a one-way hash."
    )


def describe(found: "Survey") -> None:
    """What the lakehouse holds of the participant."""
    typer.echo(f"Participant {found.pseudonym}:")
    for table, rows in found.rows.items():
        typer.echo(f"  {rows:>9,} row(s) in {table}")
    for folder in found.folders:
        typer.echo(f"  folder {folder}")
    if found.report_page:
        typer.echo(f"  report page {found.report_page}")
    if found.resumes:
        typer.echo("  an earlier withdrawal of them did not finish: this one completes it")
    for when in found.withdrawn_before:
        typer.echo(f"  (withdrawn before on {when:%Y-%m-%d %H:%M} UTC: they were enrolled again since)")
