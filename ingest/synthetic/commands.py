"""Typer sub-app ``synthetic``: ``generate-all`` and ``populate-missing``."""

import typer

synthetic_app = typer.Typer(help="Deterministic synthetic audio features (ALLOW_SYNTHETIC=false: none).")


def _run(generate) -> None:
    from ingest.cli import fail, settings_or_exit
    from ingest.lakehouse.client import connect
    from ingest.lakehouse.server import ServerError

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


@synthetic_app.command("generate-all")
def generate_all_command() -> None:
    """Synthetic features for every listened track (identical values on every run)."""
    from ingest.bronze.synthetic_features import generate_all

    _run(generate_all)


@synthetic_app.command("populate-missing")
def populate_missing_command() -> None:
    """Synthetic features only for listened tracks with no real, Kaggle or synthetic features yet."""
    from ingest.bronze.synthetic_features import populate_missing

    _run(populate_missing)


def register(app: typer.Typer) -> None:
    app.add_typer(synthetic_app, name="synthetic")
