"""Typer sub-app ``synthetic``: ``generate-all`` and ``populate-missing``."""

import typer

from spotify_analytics.cli.common import bronze_writer_or_exit, settings_or_exit

commands = typer.Typer(name="synthetic", help="Deterministic synthetic audio features (ALLOW_SYNTHETIC=false: none).")


def _run(generate) -> None:
    if not settings_or_exit().allow_synthetic:
        typer.echo("ALLOW_SYNTHETIC=false: no synthetic features generated.")
        return
    with bronze_writer_or_exit() as (spark, settings):
        merge = generate(spark, settings)
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
