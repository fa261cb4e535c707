"""Typer commands ``demo add`` and ``demo remove``: the generated demo listener (``ingest.demo.listener``)."""

from typing import TYPE_CHECKING, Annotated

import typer

from spotify_analytics.cli.common import bronze_writer_or_exit, fail, settings_or_exit

if TYPE_CHECKING:
    pass

commands = typer.Typer(
    name="demo", help="The generated demo listener 'demo': what a first run shows before real data arrives."
)


@commands.command("add")
def demo_add(
    when_empty: Annotated[
        bool,
        typer.Option("--when-empty", help="Only when no plays have landed and no Spotify credentials are set."),
    ] = False,
) -> None:
    """Land a generated year of listening as the listener 'demo' (then run: load all, or the pipeline)."""
    from ingest.demo import DEMO_USER, REMOVE_COMMAND
    from ingest.demo.listener import demo_present, land_demo, why_no_demo
    from ingest.lakehouse.client import ServerError, connect, port_open

    settings = settings_or_exit()
    if when_empty:
        try:
            spark = connect(settings) if port_open(settings.lakehouse_host, settings.connect_port) else None
        except ServerError as exc:
            raise fail(str(exc)) from None
        reason = why_no_demo(settings, spark)
        if reason:
            typer.echo(f"demo: not needed ({reason}).")
            return
    elif demo_present(settings):
        typer.echo(f"demo: the demo listener '{DEMO_USER}' is already there; remove it with: {REMOVE_COMMAND}")
        return
    folder, records = land_demo(settings)
    typer.echo(
        f"demo: landed a GENERATED demo listener '{DEMO_USER}' ({records:,} plays, about a year) in {folder}: "
        "made up by the workload generator to show what the report does, not anyone's listening. "
        "Import your export (python -m spotify_analytics import-history PATH) and remove the demo with: "
        f"{REMOVE_COMMAND}"
    )


@commands.command("remove")
def demo_remove() -> None:
    """Remove the demo listener from every table, its landing file and the report; refit the mood states."""
    from ingest.demo import DEMO_USER
    from ingest.demo.listener import remove_demo
    from ingest.lakehouse.client import ServerError
    from spotify_analytics.pipeline.dbt import run_dbt
    from spotify_analytics.quality.gate_config import QualityConfigError
    from spotify_analytics.report.writer import report_dir, write_report

    try:
        with bronze_writer_or_exit() as (spark, settings):
            removed = remove_demo(spark, settings)
        for table, rows in removed.rows.items():
            typer.echo(f"  {table}: {rows:,} rows of '{DEMO_USER}' deleted")
        if spark.catalog.tableExists("gold.mood_clusters"):
            refit = run_dbt(settings, "run", "--select", "mood_clusters")
            if refit.returncode != 0:
                raise fail(
                    "the mood states could not be rebuilt without the demo: run `dbt run --select mood_clusters`"
                )
        _, pages = write_report(spark, settings, report_dir(settings))
    except (ServerError, QualityConfigError) as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"demo: removed '{DEMO_USER}' ({removed.landing_files} landing file(s)); the report in {report_dir(settings)} "
        f"now shows {len(pages) - 1} listener(s)."
    )
