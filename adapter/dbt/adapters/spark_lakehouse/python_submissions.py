"""Run a compiled dbt Python model against a Spark Connect session on the server.

The compiled code (the model's ``model(dbt, session)`` plus the materialization's footer) is executed in the
dbt process with ``spark`` bound to a remote session, so DataFrame work runs on the server and pandas or
scikit-learn code runs here.

Each model run gets a session of its own, stopped when it ends (as each Python model is a job of its own on
Databricks): a session caches table metadata, so a long-lived one would read a parquet table as it was when it
first read it, not as a SQL model or a seed has since rewritten it; nor does one model's session state (settings,
temporary views) reach another. While the model runs, its session is the thread's active one: pandas-on-Spark and
``SparkSession.getActiveSession()``, which take no session argument, find it (dbt runs models in threads).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.spark_lakehouse.channel import refused_token, session_builder
from dbt.adapters.spark_lakehouse.connections import SparkLakehouseCredentials, without_parameters
from dbt.adapters.spark_lakehouse.outage import OutagePolicy, address_of, kept_for_the_process, refuses
from dbt.adapters.spark_lakehouse.server_check import check_connect_session
from dbt_common.exceptions import DbtRuntimeError


@contextmanager
def model_session(url: str, token: str | None = None) -> Iterator[Any]:
    """A new Spark Connect session at ``url`` (sending ``token``), this thread's active one until it is stopped on
    leaving."""
    session = open_session(url, token)
    try:
        with active(session):
            yield session
    finally:
        session.stop()


def open_session(url: str, token: str | None = None) -> Any:
    """A new Spark Connect session at ``url`` (sending ``token``, see ``channel``) that gives up on a dead server
    within the process's outage budget (``outage``)."""
    try:
        session = session_builder(url, token).create()
    except Exception as exc:  # pyspark raises several types for a bad URL
        raise DbtRuntimeError(f"Cannot open a Spark Connect session at {without_parameters(url)}: {exc}") from exc
    session.client.set_retry_policies([OutagePolicy(url)])
    return kept_for_the_process(session)


@contextmanager
def active(session: Any) -> Iterator[None]:
    """Make ``session`` this thread's active Spark Connect session for the duration, then restore the
    previous one. pyspark 4.1 keeps it in a thread-local that only its builder sets, on creating a session."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    local = ConnectSession._active_session
    previous = getattr(local, "session", None)
    local.session = session
    try:
        yield
    finally:
        local.session = previous


class SparkConnectPythonJobHelper(PythonJobHelper):
    def __init__(self, parsed_model: dict, credentials: SparkLakehouseCredentials) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    def submit(self, compiled_code: str) -> None:
        model_name = self.parsed_model.get("unique_id", self.parsed_model.get("alias", "model"))
        code = compile(compiled_code, f"<dbt python model {model_name}>", "exec")
        url = self.credentials.spark_connect_url
        try:
            with model_session(url, self.credentials.secret()) as spark:
                check_connect_session(spark, self.credentials)
                exec(code, {"spark": spark, "__name__": "__dbt_python_model__"})
        except Exception as exc:
            reason = refused_token(exc)
            if reason is not None:
                sent = (
                    "the token in its connect_url"
                    if ";token=" in url
                    else f"the secret in {self.credentials.secret_path}"
                    if self.credentials.secret_file
                    else "no secret"
                )
                raise DbtRuntimeError(
                    f"The Spark Connect server at {without_parameters(url)} refused the Python model {model_name} "
                    f"({reason}): this profile sent {sent}, which is not this server's. Nothing was run there."
                ) from exc
            if not refuses(address_of(url)):
                raise
            raise DbtRuntimeError(
                f"The Spark Connect server at {without_parameters(url)} stopped answering while the Python model "
                f"{model_name} ran: start the server again and rerun dbt (nothing half-written is kept: a Delta "
                "commit is all or nothing)"
            ) from exc
