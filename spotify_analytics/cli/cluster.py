"""``python -m spotify_analytics cluster master|worker``: a Spark standalone cluster for the lakehouse server."""

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ingest.lakehouse.secret import close_to_others
from spotify_analytics.cli.common import settings_or_exit
from spotify_analytics.server import cluster
from spotify_analytics.server.command import spark_env

commands = typer.Typer(
    name="cluster",
    help="A Spark standalone cluster for the lakehouse server (then SPARK_MASTER=spark://HOST:PORT). Each daemon "
    "runs in the foreground and requires the lakehouse secret (made in the data directory when it has none).",
)

Host = Annotated[str, typer.Option("--host", help="Address to bind and advertise (a name or IP the others reach).")]


def _become(command: list[str]) -> NoReturn:
    """Exec the daemon in this process (its pid stays the one a supervisor started), logging to stdout/stderr."""
    settings = settings_or_exit()
    close_to_others(settings)
    os.execve(command[0], command, spark_env(settings))


@commands.command("master")
def cluster_master(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The master's port (spark://HOST:PORT).")] = cluster.MASTER_PORT,
    webui_port: Annotated[int, typer.Option("--webui-port", help="Its web UI.")] = cluster.MASTER_WEBUI_PORT,
) -> None:
    """Run a Spark standalone master."""
    _become(cluster.master_command(settings_or_exit(), host, port, webui_port))


@commands.command("worker")
def cluster_worker(
    master_url: Annotated[str, typer.Argument(help="The master, spark://HOST:PORT.")],
    host: Host = "127.0.0.1",
    cores: Annotated[int, typer.Option("--cores", min=1, help="Cores its executors may use.")] = 2,
    memory: Annotated[str, typer.Option("--memory", help="Memory its executors may use, e.g. 1g.")] = "1g",
    webui_port: Annotated[int, typer.Option("--webui-port", help="Its web UI.")] = cluster.WORKER_WEBUI_PORT,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="Its executors' folders and logs (default: <data>/lakehouse/workers/HOST)."),
    ] = None,
) -> None:
    """Run a Spark standalone worker of the master at MASTER_URL."""
    settings = settings_or_exit()
    worker = cluster.Worker(
        master_url, host, cores, memory, webui_port, work_dir or cluster.default_work_dir(settings, host)
    )
    _become(cluster.worker_command(settings, worker))
