"""``python -m spotify_analytics evaluate recommendations|clusters``: offline evaluation of the Gold Python models."""

from typing import Annotated

import typer

from spotify_analytics.cli.common import lakehouse_or_exit

commands = typer.Typer(name="evaluate", help="Offline evaluation of the Gold Python models.", no_args_is_help=True)


@commands.command("recommendations")
def recommendations_command(
    holdout_plays: Annotated[int, typer.Option(min=1, help="Latest plays per listener to hold out.")] = 50,
) -> None:
    """Hit rate of track_recommendations on each listener's held-out latest plays vs a popularity baseline."""
    from spotify_analytics.evaluation.recommendations import evaluate_recommendations, report

    spark, settings = lakehouse_or_exit()
    typer.echo(report(evaluate_recommendations(spark, settings, holdout_plays)))


@commands.command("clusters")
def clusters_command() -> None:
    """Silhouette of every k in the configured range, the chosen k, and the built clusters' sizes."""
    from spotify_analytics.evaluation.clusters import evaluate_clusters, report

    spark, settings = lakehouse_or_exit()
    typer.echo(report(evaluate_clusters(spark, settings)))
