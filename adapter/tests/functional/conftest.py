"""Fixtures: dbt-tests-adapter's project fixtures, and the profile of the Spark server under test.

The server is not started here. A host project whose test session starts one provides a session fixture
``spark_lakehouse_server`` returning its profile keys (``host``, ``port``, ``connect_port`` or ``connect_url``,
``secret_file``); otherwise they come from the environment: ``DBT_SPARK_LAKEHOUSE_HOST`` (127.0.0.1),
``DBT_SPARK_LAKEHOUSE_PORT`` (Thrift, 10000), ``DBT_SPARK_LAKEHOUSE_CONNECT_PORT`` (15002) or
``DBT_SPARK_LAKEHOUSE_CONNECT_URL``, ``DBT_SPARK_LAKEHOUSE_SECRET_FILE`` (a server that requires a secret).
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dbt.tests.fixtures.project import *  # noqa: F403  (dbt's `project` fixture and the fixtures it needs)


@pytest.fixture(scope="session")
def spark_lakehouse_profile(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Profile keys of the server under test: the host project's ``spark_lakehouse_server`` or the environment."""
    try:
        return dict(request.getfixturevalue("spark_lakehouse_server"))
    except pytest.FixtureLookupError:
        return profile_from_environment(os.environ)


def profile_from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "host": environ.get("DBT_SPARK_LAKEHOUSE_HOST", "127.0.0.1"),
        "port": int(environ.get("DBT_SPARK_LAKEHOUSE_PORT", "10000")),
        "connect_port": int(environ.get("DBT_SPARK_LAKEHOUSE_CONNECT_PORT", "15002")),
    }
    if url := environ.get("DBT_SPARK_LAKEHOUSE_CONNECT_URL"):
        profile["connect_url"] = url
    if secret_file := environ.get("DBT_SPARK_LAKEHOUSE_SECRET_FILE"):
        profile["secret_file"] = secret_file
    return profile


@pytest.fixture(scope="class")
def dbt_profile_target(spark_lakehouse_profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "spark_lakehouse",
        "method": "thrift",
        "threads": 2,
        "connect_retries": 3,
        "connect_timeout": 10,
        "retry_all": False,
        **spark_lakehouse_profile,
    }


@pytest.fixture(scope="class")
def logs_dir(tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Iterator[str]:
    """dbt's logs of each test class, in the session's temporary directory rather than the checkout."""
    path = tmp_path_factory.mktemp("dbt_logs") / prefix
    os.environ["DBT_LOG_PATH"] = str(path)
    yield str(Path(path))
    del os.environ["DBT_LOG_PATH"]
