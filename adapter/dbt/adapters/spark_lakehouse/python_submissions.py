"""Run a compiled dbt Python model against a Spark Connect session on the lakehouse server.

The compiled code (the model's ``model(dbt, session)`` plus dbt's materialization footer) is executed
in this process with ``spark`` bound to a remote session, so DataFrame work runs on the server and
pandas/scikit-learn code runs here.
"""

import threading
from typing import Any

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.spark_lakehouse.connections import SparkLakehouseCredentials
from dbt.adapters.spark_lakehouse.server_check import check_connect_session
from dbt_common.exceptions import DbtRuntimeError

_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


def connect_session(url: str) -> Any:
    """One Spark Connect session per server URL for the life of the dbt process."""
    from pyspark.sql import SparkSession

    with _sessions_lock:
        session = _sessions.get(url)
        if session is None:
            try:
                session = SparkSession.builder.remote(url).getOrCreate()
            except Exception as exc:  # pyspark raises several types for an unreachable server
                raise DbtRuntimeError(
                    f"Cannot open a Spark Connect session at {url}: {exc}. "
                    "Is the lakehouse server running? (python -m ingest server status)"
                ) from exc
            _sessions[url] = session
        return session


class SparkConnectPythonJobHelper(PythonJobHelper):
    def __init__(self, parsed_model: dict, credentials: SparkLakehouseCredentials) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    def submit(self, compiled_code: str) -> None:
        spark = connect_session(self.credentials.connect_url)
        check_connect_session(spark, self.credentials)
        model_name = self.parsed_model.get("unique_id", self.parsed_model.get("alias", "model"))
        code = compile(compiled_code, f"<dbt python model {model_name}>", "exec")
        exec(code, {"spark": spark, "__name__": "__dbt_python_model__"})
