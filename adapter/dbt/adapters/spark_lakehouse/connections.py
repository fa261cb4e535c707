"""Credentials and connection manager: dbt-spark's Thrift connection plus the Spark Connect endpoint."""

from dataclasses import dataclass

from dbt.adapters.spark.connections import SparkConnectionManager, SparkCredentials

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

    @property
    def type(self) -> str:
        return ADAPTER_TYPE

    @property
    def connect_url(self) -> str:
        return f"sc://{self.connect_host or self.host}:{self.connect_port}"

    def _connection_keys(self) -> tuple[str, ...]:
        return (*super()._connection_keys(), "connect_host", "connect_port")


class SparkLakehouseConnectionManager(SparkConnectionManager):
    TYPE = ADAPTER_TYPE
