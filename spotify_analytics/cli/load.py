"""``python -m spotify_analytics load catalog|plays|tracks|all``: landed data into Bronze Delta tables."""

import typer

from spotify_analytics.cli.common import bronze_writer_or_exit, fail

commands = typer.Typer(name="load", help="Load landed data into Bronze Delta tables (through Spark Connect).")


def _merged(label: str, merge) -> str:
    if merge is None:
        return f"{label}: nothing new"
    return f"{label}: {merge.inserted} inserted, {merge.updated} updated, {merge.total} rows"


def _echo_plays(result) -> None:
    typer.echo(
        f"{result.files} landing files; "
        + "; ".join(
            [
                _merged("bronze.listening_history_bronze", result.plays),
                _merged("bronze.podcast_history_bronze", result.podcasts),
                _merged("bronze.audiobook_history_bronze", result.audiobooks),
            ]
        )
        + f"; {result.quarantined} records quarantined in bronze.listening_history_quarantine"
        + (
            f"; classic plays matched to the catalog: {result.resolved_classic}, unresolved: "
            f"{result.unresolved_classic}"
            if result.resolved_classic or result.unresolved_classic
            else ""
        )
    )
    for source_name, reasons in sorted(result.quarantine_reasons.items()):
        counted = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
        typer.echo(f"  quarantined from {source_name}: {counted}")


@commands.command("plays")
def load_plays_command() -> None:
    """Landed plays (polls, exports) → bronze.listening_history_bronze by MERGE on play_id."""
    from ingest.bronze.listening_history import load_plays

    with bronze_writer_or_exit() as (spark, settings):
        _echo_plays(load_plays(spark, settings))


@commands.command("tracks")
def load_tracks_command() -> None:
    """Landed track metadata/features → bronze.my_tracks_features_bronze by MERGE on track_id."""
    from ingest.bronze.track_features import load_track_features

    with bronze_writer_or_exit() as (spark, settings):
        typer.echo(_merged("bronze.my_tracks_features_bronze", load_track_features(spark, settings)))


@commands.command("all")
def load_all_command() -> None:
    """Catalog, plays, track features, then synthetic features for tracks without any."""
    from ingest.bronze.load_all import load_all
    from ingest.kaggle.kaggle_csv import CatalogFormatError

    try:
        with bronze_writer_or_exit() as (spark, settings):
            result = load_all(spark, settings)
    except CatalogFormatError as exc:
        raise fail(str(exc)) from None
    if result.catalog and result.catalog.unchanged:
        typer.echo(
            "bronze.kaggle_tracks_bronze: catalog file unchanged since its last load, "
            f"{result.catalog.merge.total} rows"
        )
    elif result.catalog:
        typer.echo(_merged("bronze.kaggle_tracks_bronze", result.catalog.merge))
    _echo_plays(result.plays)
    typer.echo(_merged("bronze.my_tracks_features_bronze", result.tracks))
    synthetic = "ALLOW_SYNTHETIC=false" if not settings.allow_synthetic else ""
    typer.echo(synthetic or _merged("bronze.my_tracks_features_bronze_synthetic", result.synthetic))


@commands.command("catalog")
def load_catalog() -> None:
    """Load the track catalog (Kaggle CSV, or the generated demo) into bronze.kaggle_tracks_bronze."""
    from ingest.bronze.kaggle_tracks import load_catalog as load
    from ingest.kaggle.kaggle_csv import CatalogFormatError

    try:
        with bronze_writer_or_exit() as (spark, settings):
            result = load(spark, settings)
    except CatalogFormatError as exc:
        raise fail(str(exc)) from None
    merge = result.merge
    label = "GENERATED demo catalog" if result.choice.catalog_source == "generated" else "Kaggle catalog"
    if result.unchanged:
        typer.echo(
            f"{label} {result.choice.path} unchanged since its last load: "
            f"bronze.kaggle_tracks_bronze keeps {merge.total} rows."
        )
        return
    typer.echo(
        f"{label} {result.choice.path} -> bronze.kaggle_tracks_bronze: {merge.inserted} inserted, "
        f"{merge.updated} updated, {merge.deleted} deleted, {merge.total} rows; "
        f"{result.quarantined} rejected rows in bronze.kaggle_tracks_quarantine."
    )
