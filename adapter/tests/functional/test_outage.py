"""A Spark Connect server that went away costs a dbt process one retry budget, not one per call: the first call
gives up once the port has refused connections for the budget, later calls (other Python models) at once, and the
model fails naming the server. No server is needed: a loopback port nothing listens on stands for a dead one."""

import socket
import time

import pytest
from dbt.adapters.spark_lakehouse import outage
from dbt.adapters.spark_lakehouse.connections import SparkLakehouseCredentials
from dbt.adapters.spark_lakehouse.python_submissions import SparkConnectPythonJobHelper, open_session
from dbt_common.exceptions import DbtRuntimeError
from pyspark.errors import PySparkException

BUDGET = 3.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_url(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(outage, "BUDGET_SECONDS", BUDGET)
    return f"sc://127.0.0.1:{closed_port()}"


def timed_failure(url: str) -> float:
    session = open_session(url)
    started = time.monotonic()
    with pytest.raises(PySparkException, match="UNAVAILABLE"):
        session.conf.get("spark.sql.ansi.enabled")
    return time.monotonic() - started


def test_calls_to_a_dead_server_share_one_budget(dead_url: str) -> None:
    first = timed_failure(dead_url)
    second, third = timed_failure(dead_url), timed_failure(dead_url)

    assert BUDGET <= first < BUDGET + 12  # the backoff step that crossed the budget, at most 10 s
    assert (second, third) < (1.0, 1.0)


def test_a_python_model_whose_server_died_fails_naming_it(dead_url: str) -> None:
    credentials = SparkLakehouseCredentials.from_dict(
        {"method": "thrift", "host": "127.0.0.1", "port": 10000, "schema": "analytics", "connect_url": dead_url}
    )
    job = SparkConnectPythonJobHelper({"unique_id": "model.demo.clusters"}, credentials)

    with pytest.raises(
        DbtRuntimeError,
        match=f"The Spark Connect server at {dead_url} stopped answering while the "
        "Python model model.demo.clusters ran: start the server again and rerun dbt",
    ):
        job.submit("spark.sql('select 1').collect()")
