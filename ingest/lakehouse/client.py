"""Clients of the lakehouse server: a Spark Connect session for loads and checks."""

import socket
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.lakehouse import watchdog
from ingest.lakehouse.identity import identity_problem, served_identity

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class ServerError(RuntimeError):
    """The server could not be reached, started or stopped; the message says why."""


class ForeignServer(ServerError):
    """The server on this checkout's ports serves another data directory (or says none): refused."""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# pyspark's default policy retries an unreachable server for at least 10 minutes; a dead server should stop a
# client within a minute: 0.25 s doubling to 10 s, eight times, is about 36 s of retries in all.
DEAD_SERVER_RETRIES = {"max_retries": 8, "initial_backoff": 250, "backoff_multiplier": 2.0, "max_backoff": 10_000}


# The user id every client of this project names (Spark Connect keys a session by user and session id): a session
# can then be found again by its id alone, whoever started it (``ingest.lakehouse.operations``).
CLIENT_USER_ID = "lakehouse"


def connect(settings: Settings, session_id: str | None = None) -> "SparkSession":
    """A Spark Connect session on the running lakehouse server of this checkout's data directory; a server
    that serves another one is refused (ForeignServer) before anything is read or written. With ``session_id``
    (a UUID), a new session object on the server's session of that id (made when the server has none): the
    process's default session is not reused."""
    if not port_open(settings.lakehouse_host, settings.connect_port):
        raise ServerError(
            f"No lakehouse server answers at {settings.connect_url}. "
            "Start it with: python -m spotify_analytics server start (then run this command again)"
        )
    from dbt.adapters.spark_lakehouse.outage import without_exit_cleanup
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client.retries import DefaultPolicy

    url = f"{settings.connect_url}/;user_id={CLIENT_USER_ID}"
    if session_id is None:
        session = SparkSession.builder.remote(url).getOrCreate()
    else:
        session = SparkSession.builder.remote(f"{url};session_id={session_id}").create()
    session.client.set_retry_policies([DefaultPolicy(**DEAD_SERVER_RETRIES)])  # type: ignore[attr-defined]
    without_exit_cleanup(session)
    watchdog.watch(settings, session)
    problem = identity_problem(settings, served_identity(session), settings.connect_url)
    if problem:
        raise ForeignServer(problem)
    return session
