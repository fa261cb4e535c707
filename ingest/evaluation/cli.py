"""``python -m ingest.evaluation``: print the offline evaluation of the Gold Python models."""

import logging
from typing import Annotated

import typer

from ingest.config import ConfigError, get_settings
from ingest.lakehouse.client import connect
from ingest.lakehouse.server import ServerError

evaluation_app = typer.Typer(help="Offline evaluation of the Gold Python models.", no_args_is_help=True)


def _session():
    try:
        settings = get_settings()
        return connect(settings), settings
    except (ConfigError, ServerError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@evaluation_app.callback()
def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@evaluation_app.command("recommendations")
def recommendations_command(
    holdout_plays: Annotated[int, typer.Option(min=1, help="Latest plays per listener to hold out.")] = 50,
) -> None:
    """Hit rate of track_recommendations on each listener's held-out latest plays vs a popularity baseline."""
    from ingest.evaluation.recommendations import evaluate_recommendations, report

    spark, settings = _session()
    typer.echo(report(evaluate_recommendations(spark, settings, holdout_plays)))


@evaluation_app.command("clusters")
def clusters_command() -> None:
    """Silhouette of every k in the configured range, the chosen k, and the built clusters' sizes."""
    from ingest.evaluation.clusters import evaluate_clusters, report

    spark, settings = _session()
    typer.echo(report(evaluate_clusters(spark, settings)))
