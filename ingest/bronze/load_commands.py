"""Typer commands ``load plays``, ``load tracks``, ``load all`` on the existing ``load`` sub-app."""

import typer


def _session():
    from ingest.cli import fail, settings_or_exit
    from ingest.lakehouse.client import connect
    from ingest.lakehouse.server import ServerError

    settings = settings_or_exit()
    try:
        return connect(settings), settings
    except ServerError as exc:
        raise fail(str(exc)) from None


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


def load_plays_command() -> None:
    """Landed plays (polls, exports) → bronze.listening_history_bronze by MERGE on play_id."""
    from ingest.bronze.listening_history import load_plays

    spark, settings = _session()
    _echo_plays(load_plays(spark, settings))


def load_tracks_command() -> None:
    """Landed track metadata/features → bronze.my_tracks_features_bronze by MERGE on track_id."""
    from ingest.bronze.track_features import load_track_features

    spark, settings = _session()
    typer.echo(_merged("bronze.my_tracks_features_bronze", load_track_features(spark, settings)))


def load_all_command() -> None:
    """Catalog, plays, track features, then synthetic features for tracks without any."""
    from ingest.bronze.load_all import load_all
    from ingest.catalog.kaggle_csv import CatalogFormatError
    from ingest.cli import fail

    spark, settings = _session()
    try:
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


def register(load_app: typer.Typer) -> None:
    load_app.command("plays")(load_plays_command)
    load_app.command("tracks")(load_tracks_command)
    load_app.command("all")(load_all_command)
