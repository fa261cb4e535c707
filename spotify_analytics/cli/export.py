"""Typer command ``import-history PATH…``."""

from pathlib import Path
from typing import Annotated

import typer

from spotify_analytics.cli.common import fail, settings_or_exit

commands = typer.Typer()


@commands.command("import-history")
def import_history_command(
    paths: Annotated[list[Path], typer.Argument(help="Export files, folders or the downloaded zip.")],
    user: Annotated[str | None, typer.Option("--user", help="Local listener name (default: SPOTIFY_USER).")] = None,
) -> None:
    """Import a Spotify privacy export into the landing zone (then run: load plays, or load all).

    Every listening-history file is imported, whatever Spotify named it; everything else in the export is
    skipped and listed. Exit code 1 when a history file is refused or a path holds no listening history."""
    from ingest.export.importer import import_history
    from spotify_analytics.cli.common import demo_note

    settings = settings_or_exit()
    try:
        result = import_history(paths, settings, user)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    for line in summary_lines(result):
        typer.echo(line)
    for outcome in result.having("refused"):
        typer.echo(f"refused: {outcome.name}: {outcome.reason}", err=True)
    if result.having("imported"):
        demo_note(settings)
    for path in result.paths_without_history:
        typer.echo(f"error: {path} holds no listening history (nothing was imported from it)", err=True)
    if result.having("refused") or result.paths_without_history:
        raise typer.Exit(1)


def summary_lines(result) -> list[str]:
    """One line per kind of history, the files skipped by reason, then the totals."""
    lines = [
        f"  {label}: {counts['imported']} imported ({counts['records']:,} records), "
        f"{counts['already_imported']} already imported, {counts['skipped']} skipped, {counts['refused']} refused"
        for label, counts in sorted(result.per_kind().items())
    ]
    reasons: dict[str, list[str]] = {}
    for outcome in result.having("skipped"):
        reasons.setdefault(outcome.reason, []).append(Path(outcome.name.split("!")[-1]).name)
    lines += [f"  skipped, {reason}: {', '.join(names)}" for reason, names in sorted(reasons.items())]
    lines += [f"  note: {outcome.name}: {outcome.note}" for outcome in result.files if outcome.note]
    total = (
        f"import-history: {len(result.having('imported'))} files imported ({result.records:,} records), "
        f"{len(result.having('already_imported'))} already imported, {len(result.having('skipped'))} skipped, "
        f"{len(result.having('refused'))} refused."
    )
    return [*lines, total]
