"""What a Python model returns, and the table write of the table and incremental materializations.

A model may return a Spark (Connect) DataFrame, a pandas DataFrame or a pandas-on-Spark DataFrame; each
becomes a DataFrame of the model's Spark Connect session before it is written. (The ``replace_where``
write is in ``replacement``.)
"""

import sys
from typing import Any

from dbt_common.exceptions import DbtRuntimeError


def as_spark_dataframe(spark: Any, result: Any, relation: str) -> Any:
    """``result``, the model of ``relation``'s return value, as a DataFrame of ``spark``: a Spark DataFrame as it
    is, a pandas-on-Spark one by ``to_spark()`` (its index is dropped), a pandas one by ``createDataFrame``."""
    from pyspark.sql import DataFrame

    if isinstance(result, DataFrame):
        return result
    # pandas and pandas-on-Spark are imported only by models that use them: look them up, don't import them
    pandas_on_spark = sys.modules.get("pyspark.pandas")
    if pandas_on_spark is not None and isinstance(result, pandas_on_spark.DataFrame):
        return result.to_spark()
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(result, pandas.DataFrame):
        return spark.createDataFrame(result)
    raise DbtRuntimeError(
        f"{relation}: a Python model returns a Spark, pandas or pandas-on-Spark DataFrame, "
        f"not {type(result).__module__}.{type(result).__qualname__}"
    )


def write_table(spark: Any, result: Any, relation: str, file_format: str, partition_by: str | list[str] | None) -> None:
    """Replace the table ``relation`` (or create it) by the model's result, schema and partitioning included, in
    one write: for Delta an atomic overwrite, so a reader sees the old table or the new one."""
    rows = as_spark_dataframe(spark, result, relation)
    writer = rows.write.mode("overwrite").format(file_format).option("overwriteSchema", "true")
    if partition_by:
        writer = writer.partitionBy(*([partition_by] if isinstance(partition_by, str) else partition_by))
    writer.saveAsTable(relation)
