"""``python -m spotify_analytics maintain``: the lakehouse's upkeep, the pipeline's last step."""

from typing import Annotated

import typer

from spotify_analytics.cli.common import fail, lakehouse_or_exit

commands = typer.Typer()


@commands.command("maintain")
def maintain(
    tables: Annotated[
        list[str] | None, typer.Argument(help="Only these tables (database.table); default: every Delta table.")
    ] = None,
) -> None:
    """OPTIMIZE Delta tables that gathered many small files, VACUUM them weekly keeping TIME_TRAVEL_DAYS of history
    (docs/operations.md#upkeep). What is due is read from disk: with nothing due, no query is made."""
    from spotify_analytics.maintenance.tables import UnknownTable, maintain_tables

    spark, settings = lakehouse_or_exit()
    try:
        done = maintain_tables(spark, settings, only=tables or None)
    except UnknownTable as exc:
        raise fail(str(exc)) from None
    for upkeep in done:
        typer.echo(upkeep.line())
    typer.echo(f"maintain: {len(done)} table(s) had upkeep due" if done else "maintain: nothing due")
