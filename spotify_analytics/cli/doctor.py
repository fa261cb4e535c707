"""``python -m spotify_analytics doctor``: check the lakehouse after a crash, and repair what can be repaired."""

from typing import Annotated

import typer

from spotify_analytics.cli.common import settings_or_exit

commands = typer.Typer()


@commands.command("doctor")
def doctor(
    repair: Annotated[
        bool, typer.Option("--repair", help="Repair what can be repaired, saying what was done.")
    ] = False,
) -> None:
    """Check the locks, the Delta logs, the server, the metastore against the table folders and dbt's leftover
    temporary tables; one line per finding. Exit 0 when nothing needs a hand, 1 when something does (each line says
    what to do)."""
    from spotify_analytics.doctor.findings import exit_code
    from spotify_analytics.doctor.run import examine

    findings = examine(settings_or_exit(), repair)
    for finding in findings:
        typer.echo(finding.line())
    raise typer.Exit(exit_code(findings))
