"""Typer sub-app ``synthetic``: ``generate-all`` and ``populate-missing``."""

import typer

from spotify_analytics.cli.common import fail, settings_or_exit

commands = typer.Typer(name="synthetic", help="Deterministic synthetic audio features (ALLOW_SYNTHETIC=false: none).")


def _run(generate) -> None:
    from ingest.lakehouse.client import ServerError, connect

    settings = settings_or_exit()
    if not settings.allow_synthetic:
        typer.echo("ALLOW_SYNTHETIC=false: no synthetic features generated.")
        return
    try:
        merge = generate(connect(settings), settings)
    except ServerError as exc:
        raise fail(str(exc)) from None
    if merge is None:
        typer.echo("No tracks need synthetic features.")
    else:
        typer.echo(
            f"bronze.my_tracks_features_bronze_synthetic: {merge.inserted} inserted, {merge.updated} updated, "
            f"{merge.total} rows."
        )


@commands.command("generate-all")
def generate_all_command() -> None:
    """Synthetic features for every listened track (identical values on every run)."""
    from ingest.bronze.synthetic_features import generate_all

    _run(generate_all)


@commands.command("populate-missing")
def populate_missing_command() -> None:
    """Synthetic features only for listened tracks with no real, Kaggle or synthetic features yet."""
    from ingest.bronze.synthetic_features import populate_missing

    _run(populate_missing)
