"""Profile keys: where Python models find Spark Connect (``connect_url`` over ``connect_host``/``connect_port``),
what ``dbt debug`` shows of it, and the settings of the Thrift session."""

from typing import Any

import pytest
from dbt.adapters.spark_lakehouse.connections import SparkLakehouseCredentials
from dbt.tests.util import relation_from_name, run_dbt

THRIFT = {"method": "thrift", "host": "thrift.example", "port": 10000, "schema": "analytics", "database": None}


def credentials(**keys: Any) -> SparkLakehouseCredentials:
    return SparkLakehouseCredentials.from_dict({**THRIFT, **keys})


def test_spark_connect_is_on_the_thrift_host_unless_the_profile_says_otherwise() -> None:
    assert credentials().spark_connect_url == "sc://thrift.example:15002"
    assert credentials(connect_port=16000).spark_connect_url == "sc://thrift.example:16000"
    assert credentials(connect_host="connect.example").spark_connect_url == "sc://connect.example:15002"
    assert (
        credentials(
            connect_host="ignored", connect_port=1, connect_url="sc://connect.example:443/;use_ssl=true"
        ).spark_connect_url
    ) == "sc://connect.example:443/;use_ssl=true"


def test_dbt_debug_shows_the_connect_url_without_its_parameters() -> None:
    shown = dict(credentials(connect_url="sc://connect.example:443/;token=secret;user_id=me").connection_info())

    assert shown["connect_url"] == "sc://connect.example:443/;…"
    assert "secret" not in str(shown)
    assert dict(credentials(connect_url="sc://connect.example:15002").connection_info())["connect_url"] == (
        "sc://connect.example:15002"
    )


def test_thrift_sessions_turn_off_the_java8_date_api_unless_the_profile_says_otherwise() -> None:
    setting = "set:hiveconf:spark.sql.datetime.java8API.enabled"

    assert credentials().server_side_parameters[setting] == "false"
    assert credentials(server_side_parameters={setting: "true"}).server_side_parameters[setting] == "true"


PYTHON_MODEL = """
def model(dbt, session):
    dbt.config(materialized="table", file_format="delta")
    return session.createDataFrame([(1, "through connect_url")], "id int, how string")
"""


class TestConnectUrlOverridesConnectHostAndPort:
    """Python models reach Spark Connect at ``connect_url`` even when ``connect_host``/``connect_port`` lead
    nowhere (a Connect server that is not on the Thrift host is configured this way)."""

    @pytest.fixture(scope="class")
    def dbt_profile_target(self, dbt_profile_target: dict[str, Any]) -> dict[str, Any]:
        url = dbt_profile_target.get("connect_url") or (
            f"sc://{dbt_profile_target['host']}:{dbt_profile_target['connect_port']}"
        )
        return {**dbt_profile_target, "connect_host": "no-such-host.invalid", "connect_port": 9, "connect_url": url}

    @pytest.fixture(scope="class")
    def models(self) -> dict[str, str]:
        return {"through_connect_url.py": PYTHON_MODEL}

    def test_python_model_runs_through_connect_url(self, project: Any) -> None:
        run_dbt(["run"])

        relation = relation_from_name(project.adapter, "through_connect_url")
        assert project.run_sql(f"select id, how from {relation}", fetch="all") == [(1, "through connect_url")]
