"""Credentials and connection manager: dbt-spark's Thrift connection plus the Spark Connect endpoint."""

from dataclasses import dataclass, field

from dbt.adapters.contracts.connection import Connection
from dbt.adapters.spark.connections import SparkConnectionManager, SparkCredentials
from dbt.adapters.spark_lakehouse.server_check import check_thrift_connection

ADAPTER_TYPE = "spark_lakehouse"


@dataclass
class SparkLakehouseCredentials(SparkCredentials):
    """dbt-spark credentials (``method: thrift`` for SQL) plus where Spark Connect listens."""

    connect_host: str | None = None
    connect_port: int = 15002
    # dbt-spark polls a running Thrift query every `poll_interval` seconds, an int defaulting to 5: most of our
    # queries finish in well under a second, so each waited up to 5 s for nothing. A status poll is one cheap
    # RPC, so poll often.
    poll_interval: float = 0.1  # type: ignore[assignment]
    # Server confs holding paths -> the paths this project expects there; a server serving others is refused
    # (server_check), with the hint added to the error.
    expected_server_paths: dict[str, str] = field(default_factory=dict)
    expected_server_hint: str | None = None

    @property
    def type(self) -> str:
        return ADAPTER_TYPE

    @property
    def connect_url(self) -> str:
        return f"sc://{self.connect_host or self.host}:{self.connect_port}"

    def _connection_keys(self) -> tuple[str, ...]:
        return (*super()._connection_keys(), "connect_host", "connect_port", "expected_server_paths")


class SparkLakehouseConnectionManager(SparkConnectionManager):
    TYPE = ADAPTER_TYPE

    @classmethod
    def open(cls, connection: Connection) -> Connection:
        connection = super().open(connection)
        check_thrift_connection(connection)
        return connection
