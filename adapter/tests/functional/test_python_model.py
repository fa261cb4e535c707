"""dbt-tests-adapter's Python model suite: refs, versioned refs and sources, incremental models, config and meta,
and models returning pyspark, pandas and pandas-on-Spark DataFrames (dbt-spark runs these on Databricks only)."""

from typing import Any

import pytest
from dbt.tests.adapter.python_model.test_python_model import (
    BasePythonIncrementalTests,
    BasePythonMetaGetTests,
    BasePythonModelTests,
)
from dbt.tests.adapter.python_model.test_spark import BasePySparkTests
from dbt.tests.util import relation_from_name, run_dbt


class TestPythonModel(BasePythonModelTests):
    pass


class TestPythonMetaGet(BasePythonMetaGetTests):
    pass


class TestPythonIncrementalMerge(BasePythonIncrementalTests):
    """The suite's model merges on ``unique_key``, which needs Delta (dbt-spark's file_format default is parquet)."""

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {"models": {"+incremental_strategy": "merge", "+file_format": "delta"}}


class TestPythonIncrementalAppend(BasePythonIncrementalTests):
    """The same model with dbt-spark's defaults: the strategy 'append' (as dbt-spark runs this suite)."""

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {}


class TestPySpark(BasePySparkTests):
    def test_different_dataframes(self, project: Any) -> None:
        """As dbt-spark runs it: without the Koalas model (databricks.koalas is the pandas API for Spark < 3.2,
        pyspark.pandas since), and each table holds the model's five rows."""
        results = run_dbt(["run", "--exclude", "koalas_df"])

        assert sorted(result.node.name for result in results) == ["pandas_df", "pandas_on_spark_df", "pyspark_df"]
        for name in ["pandas_df", "pandas_on_spark_df", "pyspark_df"]:
            relation = relation_from_name(project.adapter, name)
            rows = project.run_sql(
                f"select City, Country, Latitude, Longitude from {relation} order by City", fetch="all"
            )
            assert [(row[0], row[1], round(row[2], 2)) for row in rows][:2] == [
                ("Bogota", "Colombia", 4.6),
                ("Brasilia", "Brazil", -15.78),
            ]
            assert len(rows) == 5
