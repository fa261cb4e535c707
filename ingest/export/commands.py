"""Typer command ``import-history PATH…``."""

from pathlib import Path
from typing import Annotated

import typer


def import_history_command(
    paths: Annotated[list[Path], typer.Argument(help="Export files, folders or the downloaded zip.")],
    user: Annotated[str | None, typer.Option("--user", help="Local listener name (default: SPOTIFY_USER).")] = None,
) -> None:
    """Import a Spotify privacy export into the landing zone (then run: load plays, or load all)."""
    from ingest.cli import fail, settings_or_exit
    from ingest.export.files import find_export_files
    from ingest.export.importer import import_history

    settings = settings_or_exit()
    try:
        total = len(list(find_export_files(paths)))
        with typer.progressbar(length=total, label="Importing export files", file=None) as bar:
            result = import_history(paths, settings, user, progress=lambda _file: bar.update(1))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"import-history: {len(result.imported)} files imported ({result.records} records), "
        f"{len(result.already_imported)} already imported, {len(result.failed)} refused."
    )
    for reason in result.failed.values():
        typer.echo(f"refused: {reason}", err=True)
    if result.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("import-history")(import_history_command)
