"""dbt adapter plugin ``spark_lakehouse``.

dbt-spark runs SQL over Thrift but only knows how to run Python models on Databricks. This plugin
inherits everything from dbt-spark (``dependencies=["spark"]``: macros, materializations, relations)
and adds Python models: they run in the dbt process against a Spark Connect session on the Spark server
(the one that serves Thrift, so both languages see one metastore), with the table and incremental
materializations and the ``replace_where`` strategy (see README.md).
"""

from typing import Any

_PLUGIN_NAMES = ("Plugin", "SparkLakehouseConnectionManager")


def __getattr__(name: str) -> Any:
    """dbt reads ``Plugin``; it is loaded on first use, so that ``channel`` (which needs no dbt) imports cheaply."""
    if name in _PLUGIN_NAMES:
        from dbt.adapters.spark_lakehouse import plugin

        return getattr(plugin, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_PLUGIN_NAMES)
