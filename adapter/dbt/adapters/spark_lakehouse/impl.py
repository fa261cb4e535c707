"""The adapter: dbt-spark's SparkAdapter with a Spark Connect submission method for Python models (the
``replace_where`` incremental strategy is in ``replacement`` and the adapter's macros)."""

from typing import Any

from dbt.adapters.__about__ import version as base_adapter_version
from dbt.adapters.base import PythonJobHelper
from dbt.adapters.base.impl import AdapterTrackingRelationInfo
from dbt.adapters.contracts.connection import AdapterResponse
from dbt.adapters.contracts.relation import RelationConfig
from dbt.adapters.spark.impl import SparkAdapter
from dbt.adapters.spark_lakehouse.__version__ import version
from dbt.adapters.spark_lakehouse.connections import ADAPTER_TYPE, SparkLakehouseConnectionManager
from dbt.adapters.spark_lakehouse.python_submissions import SparkConnectPythonJobHelper


class SparkLakehouseAdapter(SparkAdapter):
    ConnectionManager = SparkLakehouseConnectionManager  # type: ignore[assignment]

    @property
    def default_python_submission_method(self) -> str:
        return "spark_connect"

    @property
    def python_submission_helpers(self) -> dict[str, type[PythonJobHelper]]:
        return {"spark_connect": SparkConnectPythonJobHelper}

    def generate_python_submission_response(self, submission_result: Any) -> AdapterResponse:
        return AdapterResponse(_message="OK")

    @classmethod
    def get_adapter_run_info(cls, config: RelationConfig) -> AdapterTrackingRelationInfo:
        # dbt derives the module from the class name ('sparklakehouse'); name ours explicitly.
        return AdapterTrackingRelationInfo(
            adapter_name=ADAPTER_TYPE,
            base_adapter_version=base_adapter_version,
            adapter_version=version,
            model_adapter_details=cls._get_adapter_specific_run_info(config),
        )
