"""Credentials and connection manager: dbt-spark's Thrift connection plus the Spark Connect endpoint."""

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dbt.adapters.contracts.connection import Connection
from dbt.adapters.exceptions.connection import FailedToConnectError
from dbt.adapters.spark.connections import SparkConnectionManager, SparkConnectionMethod, SparkCredentials
from dbt.adapters.spark_lakehouse.server_check import check_thrift_connection
from dbt_common.exceptions import DbtRuntimeError

ADAPTER_TYPE = "spark_lakehouse"
SESSION_SETTING = "set:hiveconf:"  # how a Thrift (HiveServer2) client sets a Spark setting for its session


@dataclass
class SparkLakehouseCredentials(SparkCredentials):
    """dbt-spark credentials (``method: thrift`` for SQL) plus where Spark Connect listens: ``connect_url``
    (``sc://host:port``, for a Connect server that is not on the Thrift host) or else ``connect_host`` (default:
    ``host``) and ``connect_port``."""

    connect_host: str | None = None
    connect_port: int = 15002
    connect_url: str | None = None
    # dbt-spark polls a running Thrift query every `poll_interval` seconds, an int defaulting to 5: most of our
    # queries finish in well under a second, so each waited up to 5 s for nothing. A status poll is one cheap
    # RPC, so poll often.
    poll_interval: float = 0.1  # type: ignore[assignment]
    # Server confs holding paths -> the paths this project expects there; a server serving others is refused
    # (server_check), with the hint added to the error.
    expected_server_paths: dict[str, str] = field(default_factory=dict)
    expected_server_hint: str | None = None
    # A file holding the server's shared secret: sent as the Thrift password (``auth: CUSTOM``) and as Spark
    # Connect's bearer token, read whenever a connection opens (so the profile never holds the secret itself).
    secret_file: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.secret_file and self.auth is None:
            self.auth = "CUSTOM"
        if self.method == SparkConnectionMethod.THRIFT:
            # Spark 4's Thrift server turns on the Java 8 date API, with which Delta 4.4's answer to `max(date
            # column)` from its statistics fails (ClassCastException: LocalDate cannot be cast to java.sql.Date),
            # e.g. dbt's usual `where d > (select max(d) from {{ this }})`. SQL results are the same either way.
            # HiveServer2 applies a session setting only with the `set:hiveconf:` prefix.
            self.server_side_parameters.setdefault(f"{SESSION_SETTING}spark.sql.datetime.java8API.enabled", "false")

    @property
    def type(self) -> str:
        return ADAPTER_TYPE

    @property
    def secret_path(self) -> str | None:
        """``secret_file`` as a real path (a relative one from the directory dbt runs in)."""
        return os.path.realpath(os.path.expanduser(self.secret_file)) if self.secret_file else None

    def secret(self) -> str | None:
        """The shared secret from ``secret_file`` (None without one); an unreadable file is an error naming it."""
        path = self.secret_path
        if path is None:
            return None
        try:
            with open(path) as handle:
                secret = handle.read().strip()
        except OSError as exc:
            raise DbtRuntimeError(
                f"Cannot read the server's secret from {path} (the profile's secret_file): {exc.strerror}. The "
                "server makes it at its first start: start it, or point secret_file at its secret"
            ) from None
        if not secret:
            raise DbtRuntimeError(f"The profile's secret_file {path} is empty")
        return secret

    @property
    def spark_connect_url(self) -> str:
        """The Spark Connect URL Python models run against."""
        return self.connect_url or f"sc://{self.connect_host or self.host}:{self.connect_port}"

    def _connection_keys(self) -> tuple[str, ...]:
        return (
            *super()._connection_keys(),
            "connect_host",
            "connect_port",
            "connect_url",
            "expected_server_paths",
            "secret_file",
        )

    def connection_info(self, *, with_aliases: bool = False) -> Iterable[tuple[str, Any]]:
        """What ``dbt debug`` shows: a ``connect_url``'s parameters (they may hold a token) are hidden."""
        for key, value in super().connection_info(with_aliases=with_aliases):
            yield key, (without_parameters(value) if key == "connect_url" and value else value)


def without_parameters(url: str) -> str:
    """A Spark Connect URL without its ``;key=value`` parameters (a token, a user id), fit for logs."""
    address, separator, _ = url.partition(";")
    return f"{address.rstrip('/')}/;…" if separator else url


# What HiveServer2 answers a client whose password its authentication refuses (SASL PLAIN)
REFUSED_LOGIN = "Error validating the login"
# How a Thrift client says the server closed the connection: at a read, or with a reset (at a write, or a read).
CUT_HANDSHAKE = ("TSocket read 0 bytes", "TTransportException: unexpected exception")
CUT_HANDSHAKE_PAUSES = (1.0, 3.0)  # seconds before each further attempt

log = logging.getLogger(__name__)


class SessionCloseTolerantHandle:
    """dbt-spark's Thrift handle, except that a session the server fails to close does not fail the node.

    Closing a session runs Hive's session clean-up on the server, after every query of the session has finished
    and its result has been read. Spark's Thrift server can fail there (its Hive function registry needs classes
    pyspark does not ship: ``NoClassDefFoundError … LlapSigner``), and dbt would report the node that last used the
    connection as an error although its query ran. The failure is logged as a warning instead; the server has
    already dropped the session."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def close(self) -> None:
        try:
            self._handle.close()
        except Exception as exc:  # any failure to close a finished session is the same to us
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            log.warning(
                "The Thrift server failed to close a session whose queries had all finished (%s); nothing was lost",
                first_line,
            )


class SparkLakehouseConnectionManager(SparkConnectionManager):
    TYPE = ADAPTER_TYPE

    @classmethod
    def open(cls, connection: Connection) -> Connection:
        credentials = connection.credentials
        secret = credentials.secret()
        if secret is not None:
            credentials.password = secret
        try:
            connection = cls._open_through_cut_handshakes(connection)
        except FailedToConnectError as exc:
            if REFUSED_LOGIN not in str(exc):
                raise
            sent = (
                f"the secret in {credentials.secret_path}" if secret else "no secret (the profile has no secret_file)"
            )
            raise FailedToConnectError(
                f"The Thrift server at {credentials.host}:{credentials.port} refused this profile's login "
                f"({REFUSED_LOGIN}): it sent {sent}, which is not this server's. Nothing was run there. "
                + (credentials.expected_server_hint or "Point secret_file at this server's secret.")
            ) from exc
        if credentials.method == SparkConnectionMethod.THRIFT:
            connection.handle = SessionCloseTolerantHandle(connection.handle)
        check_thrift_connection(connection)
        return connection

    @classmethod
    def _open_through_cut_handshakes(cls, connection: Connection) -> Connection:
        """dbt-spark's open, again after a pause where the server closed or reset the connection during its
        handshake (seen once in a test session's thousands of connections to a busy server: the server read a
        malformed handshake and closed it); dbt-spark retries only a server that says it is starting. A refused login, a
        server that does not answer and any other failure are raised at once."""
        for attempt, pause in enumerate(CUT_HANDSHAKE_PAUSES, start=2):
            try:
                return super().open(connection)
            except FailedToConnectError as exc:
                said = next((sign for sign in CUT_HANDSHAKE if sign in str(exc)), None)
                if said is None:
                    raise
                credentials = connection.credentials
                log.warning(
                    "The Thrift server at %s:%s closed the connection during its handshake (%s); connecting again "
                    "in %.0f s (attempt %d of %d)",
                    credentials.host, credentials.port, said, pause, attempt, len(CUT_HANDSHAKE_PAUSES) + 1,
                )  # fmt: skip
                time.sleep(pause)
        return super().open(connection)
