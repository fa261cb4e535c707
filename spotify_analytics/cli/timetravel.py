"""Typer commands ``history TABLE`` and ``restore TABLE`` (``spotify_analytics.delta.history``)."""

from datetime import datetime
from typing import Annotated

import typer

from spotify_analytics.cli.common import fail, lakehouse_or_exit, settings_or_exit

commands = typer.Typer()


@commands.command("history")
def history_command(
    table: Annotated[str, typer.Argument(help="The table, e.g. bronze.listening_history_bronze.")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show the newest N versions.")] = 20,
) -> None:
    """A table's versions, newest first: version, time (UTC), operation, rows written and the rows a MERGE,
    UPDATE or DELETE inserted (+), updated (~) and deleted (-)."""
    from spotify_analytics.delta.history import TableNotFound, resolve_table, table_history

    spark, settings = lakehouse_or_exit()
    try:
        name = resolve_table(spark, settings, table)
    except TableNotFound as exc:
        raise fail(str(exc)) from None
    versions = table_history(spark, name)
    typer.echo(f"{name}: {len(versions)} version(s) in its log")
    typer.echo(f"{'version':>7}  {'time (UTC)':<19}  {'operation':<28} {'rows written':>12}  changes")
    for version in versions[:limit]:
        written = "-" if version.rows_written is None else f"{version.rows_written:,}"
        time = f"{version.timestamp:%Y-%m-%d %H:%M:%S}"
        typer.echo(f"{version.version:>7}  {time:<19}  {version.operation:<28} {written:>12}  {version.changes}")


@commands.command("restore")
def restore_command(
    table: Annotated[str, typer.Argument(help="The table, e.g. bronze.listening_history_bronze.")],
    to_version: Annotated[int | None, typer.Option("--to-version", help="The version to go back to.")] = None,
    to_timestamp: Annotated[
        datetime | None, typer.Option("--to-timestamp", help="The time (UTC) whose version to go back to.")
    ] = None,
) -> None:
    """Set a table back to an earlier version (a new version with that content; `history` lists them). Refused
    while a pipeline run holds its lock (exit 75). After restoring Bronze, rebuild Silver and Gold with
    `dbt build --full-refresh`: an incremental build does not take out plays Bronze no longer has."""
    from ingest.lakehouse.client import ServerError
    from spotify_analytics.delta.history import NoSuchVersion, TableNotFound, resolve_table, restore_table
    from spotify_analytics.delta.maintenance import EXIT_BUSY, PipelineBusy, maintenance_session
    from spotify_analytics.delta.restored_loads import forget_undone_loads

    if (to_version is None) == (to_timestamp is None):
        raise fail("give one of --to-version N or --to-timestamp T", 2)
    settings = settings_or_exit()
    problem, metrics, forgotten, name = None, {}, [], table
    try:
        with maintenance_session(settings, f"restore {table}") as spark:
            try:
                name = resolve_table(spark, settings, table)
                metrics = restore_table(spark, name, to_version, to_timestamp)
                forgotten = forget_undone_loads(spark, settings) if name.startswith("bronze.") else []
            except (TableNotFound, NoSuchVersion) as exc:
                problem = str(exc)
    except PipelineBusy as exc:
        raise fail(f"{exc} Nothing was restored; restore when the run has ended.", EXIT_BUSY) from None
    except ServerError as exc:
        raise fail(str(exc)) from None
    if problem:
        raise fail(f"{problem}; nothing was restored")
    target = f"version {to_version}" if to_version is not None else f"its version at {to_timestamp} UTC"
    removed, restored = metrics.get("num_removed_files", 0), metrics.get("num_restored_files", 0)
    typer.echo(f"restore: {name} is back to {target} ({removed} file(s) set aside, {restored} restored).")
    if forgotten:
        typer.echo(
            f"  {len(forgotten)} landed file(s) no Bronze table holds rows of any more will be loaded again by the "
            "next `load all`; delete a bad one from data/landing first to keep it out."
        )
    if name.startswith(("bronze.", "silver.")):
        typer.echo("  next: rebuild what reads it: dbt build --full-refresh")
