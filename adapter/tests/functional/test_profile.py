"""Profile keys: where Python models find Spark Connect (``connect_url`` over ``connect_host``/``connect_port``),
what ``dbt debug`` shows of it, the settings of the Thrift session, and the server's secret (``secret_file``)."""

from pathlib import Path
from typing import Any

import pytest
from dbt.adapters.spark_lakehouse.connections import SparkLakehouseCredentials
from dbt.tests.util import relation_from_name, run_dbt
from dbt_common.exceptions import DbtRuntimeError

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
    shown = dict(credentials(connect_url="sc://connect.example:443/;token=t0ps3cret;user_id=me").connection_info())

    assert shown["connect_url"] == "sc://connect.example:443/;…"
    assert "t0ps3cret" not in str(shown)
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


def test_a_secret_file_is_the_thrift_password_and_read_when_a_connection_opens(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    with_file = credentials(secret_file=str(path))

    assert with_file.auth == "CUSTOM"  # HiveServer2's password authentication
    assert credentials().auth is None and credentials().secret() is None
    with pytest.raises(DbtRuntimeError, match=f"Cannot read the server's secret from {path} .*start it"):
        with_file.secret()
    path.write_text("t0ps3cret\n")
    assert with_file.secret() == "t0ps3cret"
    assert "t0ps3cret" not in str(dict(with_file.connection_info()))  # dbt debug shows the file, not the secret


class TestPythonModelRefusedWithAnotherToken:
    """A Python model whose Spark Connect token the server refuses fails naming the server and the refusal (the
    Thrift connection of the same profile is accepted): nothing is written."""

    @pytest.fixture(scope="class")
    def dbt_profile_target(self, dbt_profile_target: dict[str, Any]) -> dict[str, Any]:
        if not dbt_profile_target.get("secret_file"):
            pytest.skip("the server under test requires no secret")
        url = f"sc://{dbt_profile_target['host']}:{dbt_profile_target['connect_port']}"
        return {**dbt_profile_target, "connect_url": f"{url}/;token=not-the-secret"}

    @pytest.fixture(scope="class")
    def models(self) -> dict[str, str]:
        return {"refused_model.py": PYTHON_MODEL}

    def test_the_model_fails_naming_the_refusal(self, project: Any) -> None:
        results = run_dbt(["run"], expect_pass=False)

        message = results.results[0].message
        assert "refused the Python model model.test.refused_model (Invalid authentication token)" in message, message
        assert "Nothing was run there" in message
        relation = relation_from_name(project.adapter, "refused_model")
        assert project.run_sql(f"show tables in {relation.schema} like 'refused_model'", fetch="all") == []
