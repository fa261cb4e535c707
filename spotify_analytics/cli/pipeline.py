"""``python -m spotify_analytics pipeline`` and ``crontab``: the scheduled run and its schedule."""

import typer

from spotify_analytics.cli.common import settings_or_exit

commands = typer.Typer()


@commands.command("crontab")
def crontab() -> None:
    """Print the scheduler container's crontab (PIPELINE_SCHEDULE, POLL_SCHEDULE)."""
    from spotify_analytics.pipeline.schedule import CRONTAB_TEMPLATE, render_crontab

    settings = settings_or_exit()
    template = settings.project_dir / CRONTAB_TEMPLATE
    typer.echo(render_crontab(template, settings.pipeline_schedule, settings.poll_schedule), nl=False)


@commands.command("pipeline")
def pipeline() -> None:
    """Server up, poll, load, validate, dbt build, docs, report; one run at a time (exit 75 when busy, 77 when
    a listener's Spotify authorisation lapsed: the run goes on and its summary names them)."""
    from spotify_analytics.pipeline.run import run_pipeline

    settings = settings_or_exit()
    raise typer.Exit(run_pipeline(settings))
