"""The plugin object dbt loads (``dbt.adapters.spark_lakehouse.Plugin``)."""

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
