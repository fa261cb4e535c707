"""Clients of the lakehouse server: a Spark Connect session for loads and checks."""

import socket
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.lakehouse import watchdog
from ingest.lakehouse.identity import identity_problem, listener_identity, served_identity
from ingest.lakehouse.secret import read_secret

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
    """A Spark Connect session on the running lakehouse server of this checkout's data directory, authenticated
    with the lakehouse secret; a server that serves another one, or refuses the secret, is refused (ForeignServer)
    before anything is read or written. With ``session_id`` (a UUID), a new session object on the server's session
    of that id (made when the server has none): the process's default session is not reused."""
    if not port_open(settings.lakehouse_host, settings.connect_port):
        raise ServerError(
            f"No lakehouse server answers at {settings.connect_url}. "
            "Start it with: python -m spotify_analytics server start (then run this command again)"
        )
    from dbt.adapters.spark_lakehouse.channel import refused_token, session_builder
    from dbt.adapters.spark_lakehouse.outage import kept_for_the_process
    from pyspark.sql.connect.client.retries import DefaultPolicy

    url = f"{settings.connect_url}/;user_id={CLIENT_USER_ID}"
    if session_id is None:
        session = session_builder(url, read_secret(settings)).getOrCreate()
    else:
        session = session_builder(f"{url};session_id={session_id}", read_secret(settings)).create()
    session.client.set_retry_policies([DefaultPolicy(**DEAD_SERVER_RETRIES)])
    kept_for_the_process(session)
    watchdog.watch(settings, session)
    try:
        served = served_identity(session)
    except Exception as exc:  # pyspark raises several types; only a refused secret is answered here
        reason = refused_token(exc)
        if reason is None:
            if session_id is not None:
                _forget(session)
            raise
        served = listener_identity(settings, reason)
    problem = identity_problem(settings, served, settings.connect_url)
    if problem:
        raise ForeignServer(problem)
    return session


def _forget(session: "SparkSession") -> None:
    """Drop a session object whose session the server no longer has (its client released it as it ended, or the
    server dropped it), without asking the server to release it again. pyspark makes the first session a process
    creates its default one: kept, the next ``connect`` would be handed this closed session
    (``INVALID_HANDLE.SESSION_CLOSED``)."""
    session.release_session_on_close = False  # type: ignore[attr-defined]
    session.stop()
