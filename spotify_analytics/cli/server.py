"""``python -m spotify_analytics server start|stop|status|fetch-jars``: the lakehouse server."""

from typing import Annotated

import typer

from ingest.lakehouse.client import ServerError
from spotify_analytics.cli.common import fail, settings_or_exit
from spotify_analytics.server import process as server
from spotify_analytics.server.command import jar_packages

commands = typer.Typer(name="server", help="The lakehouse server: one Spark driver serving Thrift and Spark Connect.")


@commands.command("start")
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


@commands.command("stop")
def server_stop() -> None:
    """Stop the lakehouse server."""
    settings = settings_or_exit()
    pid = server.stop(settings)
    typer.echo(f"Lakehouse server (pid {pid}) stopped." if pid else "Lakehouse server is not running.")


@commands.command("status")
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
    if not state.requires_secret:
        typer.echo(
            "It does not require the lakehouse secret: an earlier version started it. Restart it, so that no one "
            "reads the lakehouse without the secret: python -m spotify_analytics server stop && "
            "python -m spotify_analytics server start"
        )
    if not state.ready:
        raise typer.Exit(3)


@commands.command("fetch-jars")
def server_fetch_jars() -> None:
    """Resolve the Delta Lake jars and hive-llap-common into the project-local Ivy cache (needs the network once)."""
    settings = settings_or_exit()
    try:
        jars = server.fetch_jars(settings)
    except ServerError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{jar_packages(settings)} and their dependencies are in {jars}")
