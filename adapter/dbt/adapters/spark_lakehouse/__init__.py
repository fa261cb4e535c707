"""dbt adapter plugin ``spark_lakehouse``.

dbt-spark runs SQL over Thrift but only knows how to run Python models on Databricks. This plugin
inherits everything from dbt-spark (``dependencies=["spark"]``: macros, materializations, relations)
and adds Python models: they run in the dbt process against a Spark Connect session on the Spark server
(the one that serves Thrift, so both languages see one metastore), with the table and incremental
materializations and the ``replace_where`` strategy (see README.md).
"""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.spark_lakehouse.connections import (
    SparkLakehouseConnectionManager,
    SparkLakehouseCredentials,
)
from dbt.adapters.spark_lakehouse.impl import SparkLakehouseAdapter
from dbt.include import spark_lakehouse

Plugin = AdapterPlugin(
    adapter=SparkLakehouseAdapter,  # type: ignore[arg-type]
    credentials=SparkLakehouseCredentials,
    include_path=spark_lakehouse.PACKAGE_PATH,
    dependencies=["spark"],
)

__all__ = ["Plugin", "SparkLakehouseConnectionManager"]
