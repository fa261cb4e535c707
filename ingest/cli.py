"""Command line of the Spotify Analytics Pipeline: ``python -m ingest --help``."""

import logging
from typing import Annotated

import typer

from ingest.config import ConfigError, Settings, get_settings
from ingest.demo.commands import demo_app
from ingest.lakehouse import server
from ingest.lakehouse.server import ServerError
from ingest.quality.cli import validate_app
from ingest.report.cli import report
from ingest.workload.cli import workload_app

app = typer.Typer(help="Spotify listening lakehouse: lakehouse server, ingest, pipeline.", no_args_is_help=True)
server_app = typer.Typer(help="The lakehouse server: one Spark driver serving Thrift and Spark Connect.")
load_app = typer.Typer(help="Load landed data into Bronze Delta tables (through Spark Connect).")
app.add_typer(server_app, name="server")
app.add_typer(load_app, name="load")
app.add_typer(validate_app, name="validate")
app.add_typer(workload_app, name="workload")
app.add_typer(demo_app, name="demo")
app.command("report")(report)

log = logging.getLogger("ingest")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("py4j", "urllib3", "grpc", "pyspark"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@server_app.command("start")
def server_start(
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Run in this process, logging to stdout (containers).")
    ] = False,
) -> None:
    """Start the lakehouse server (a no-op when it already runs)."""
    settings = settings_or_exit()
    if foreground:
        try:
            server.run_foreground(settings)
        except ServerError as exc:
            raise fail(str(exc)) from None
    try:
        pid, started = server.start(settings)
    except ServerError as exc:
        raise fail(str(exc)) from None
    if started:
        typer.echo(
            f"Lakehouse server started (pid {pid}) for {settings.data_path}: Thrift "
            f"{settings.lakehouse_host}:{settings.thrift_port}, Spark Connect {settings.connect_url}. "
            f"Log: {server.log_file(settings)}"
        )
    else:
        typer.echo(f"Lakehouse server already running (pid {pid}) for {settings.data_path}; nothing to do.")


@server_app.command("stop")
def server_stop() -> None:
    """Stop the lakehouse server."""
    settings = settings_or_exit()
    pid = server.stop(settings)
    typer.echo(f"Lakehouse server (pid {pid}) stopped." if pid else "Lakehouse server is not running.")


@server_app.command("status")
def server_status() -> None:
    """Show whether this data directory's server runs, what it serves, its ports and memory. Exit code 0 when
    ready, 3 otherwise (also when another checkout's server holds the ports)."""
    settings = settings_or_exit()
    state = server.status(settings)
    if not state.running:
        owner = server.port_owner(settings)
        taken = (
            f" Its ports are taken by {owner}: stop that, or set THRIFT_PORT and CONNECT_PORT for this checkout."
            if owner
            else ""
        )
        typer.echo(f"Lakehouse server is not running for {settings.data_path}.{taken}")
        raise typer.Exit(3)
    rss = f"{state.rss_bytes / 2**30:.2f} GiB" if state.rss_bytes else "unknown"
    served = state.served.describe() if state.served else "unknown"
    typer.echo(
        f"Lakehouse server running (pid {state.pid}, RSS {rss}); "
        f"Thrift :{settings.thrift_port} {'open' if state.thrift_open else 'closed'}, "
        f"Spark Connect :{settings.connect_port} {'open' if state.connect_open else 'closed'}; "
        f"serving {served}."
    )
    if not state.ready:
        raise typer.Exit(3)


@server_app.command("fetch-jars")
def server_fetch_jars() -> None:
    """Resolve the Delta Lake jars into the project-local Ivy cache (needs the network once)."""
    settings = settings_or_exit()
    try:
        jars = server.fetch_jars(settings)
    except ServerError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{settings.delta_package} and its dependencies are in {jars}")


@load_app.command("catalog")
def load_catalog() -> None:
    """Load the track catalog (Kaggle CSV, or the generated demo) into bronze.kaggle_tracks_bronze."""
    from ingest.bronze.kaggle_tracks import load_catalog as load
    from ingest.catalog.kaggle_csv import CatalogFormatError
    from ingest.lakehouse.client import connect

    settings = settings_or_exit()
    try:
        result = load(connect(settings), settings)
    except (ServerError, CatalogFormatError) as exc:
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


@app.command("crontab")
def crontab() -> None:
    """Print the scheduler container's crontab (PIPELINE_SCHEDULE, POLL_SCHEDULE)."""
    from ingest.ops.schedule import CRONTAB_TEMPLATE, render_crontab

    settings = settings_or_exit()
    template = settings.project_dir / CRONTAB_TEMPLATE
    typer.echo(render_crontab(template, settings.pipeline_schedule, settings.poll_schedule), nl=False)


def _register_ingest_commands() -> None:
    """Issue 3's commands: auth, poll, fetch-metadata, import-history, load plays/tracks/all, synthetic."""
    from ingest.bronze import load_commands
    from ingest.export import commands as export_commands
    from ingest.spotify import commands as spotify_commands
    from ingest.synthetic import commands as synthetic_commands

    for module in (spotify_commands, export_commands, synthetic_commands):
        module.register(app)
    load_commands.register(load_app)


_register_ingest_commands()


@app.command("pipeline")
def pipeline() -> None:
    """Server up, poll, load, validate, dbt build, docs, report; one run at a time (exit 75 when busy, 77 when
    a listener's Spotify authorisation lapsed: the run goes on and its summary names them)."""
    from ingest.pipeline import run_pipeline

    settings = settings_or_exit()
    raise typer.Exit(run_pipeline(settings))
