"""dbt-tests-adapter's incremental suite for SQL models: unique keys, on_schema_change, merge_exclude_columns and
incremental predicates, with dbt-spark's strategies (merge on Delta; append and insert_overwrite on parquet)."""

from typing import Any

import pytest
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import BaseMergeExcludeColumns
from dbt.tests.adapter.incremental.test_incremental_on_schema_change import BaseIncrementalOnSchemaChangeSetup
from dbt.tests.adapter.incremental.test_incremental_predicates import BaseIncrementalPredicates
from dbt.tests.adapter.incremental.test_incremental_unique_id import BaseIncrementalUniqueKey
from dbt.tests.util import run_dbt

DELTA_MERGE = {"+file_format": "delta", "+incremental_strategy": "merge"}


class TestUniqueKey(BaseIncrementalUniqueKey):
    """Seeds on Delta too: the suite inserts a date as a string literal into the seed, which Spark 4's ANSI store
    assignment refuses for a parquet table and Delta accepts."""

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {"models": DELTA_MERGE, "seeds": {"+file_format": "delta"}}


class TestMergeExcludeColumns(BaseMergeExcludeColumns):
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {"models": DELTA_MERGE}


class KeepsOrFailsOnSchemaChange(BaseIncrementalOnSchemaChangeSetup):
    """on_schema_change 'ignore' keeps the table's columns; 'fail' fails the run with a compilation error."""

    def test_run_incremental_ignore(self, project: Any) -> None:
        self.run_twice_and_assert(
            "model_a incremental_ignore incremental_ignore_target", "incremental_ignore", "incremental_ignore_target",
            project,
        )  # fmt: skip

    def test_run_incremental_fail_on_schema_change(self, project: Any) -> None:
        run_dbt(["run", "--select", "model_a incremental_fail", "--full-refresh"])
        results = run_dbt(["run", "--select", "model_a incremental_fail"], expect_pass=False)
        failed = {result.node.name: result for result in results}["incremental_fail"]
        assert "Compilation Error" in failed.message


class TestAppendOnSchemaChange(KeepsOrFailsOnSchemaChange):
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {"models": {"+incremental_strategy": "append"}}


class TestInsertOverwriteOnSchemaChange(KeepsOrFailsOnSchemaChange):
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {
            "models": {"+file_format": "parquet", "+partition_by": "id", "+incremental_strategy": "insert_overwrite"}
        }


class TestDeltaMergeOnSchemaChange(KeepsOrFailsOnSchemaChange):
    """Delta adds columns (append_new_columns) but does not drop them: sync_all_columns with a removed column is a
    compilation error, as in dbt-spark."""

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {"models": {**DELTA_MERGE, "+unique_key": "id"}}

    def test_run_incremental_append_new_columns(self, project: Any) -> None:
        self.run_incremental_append_new_columns(project)

    def test_run_incremental_sync_all_columns_cannot_remove_a_column(self, project: Any) -> None:
        for model in ["incremental_sync_all_columns", "incremental_sync_remove_only"]:
            run_dbt(["run", "--select", f"model_a {model}", "--full-refresh"])
            results = run_dbt(["run", "--select", f"model_a {model}"], expect_pass=False)
            failed = {result.node.name: result for result in results}[model]
            assert "Compilation Error" in failed.message
            assert "Delta Lake does not support dropping columns" in failed.message


# The base class's model is for delete+insert, which Spark lacks: the same rows, merged on Delta. A row the
# predicate excludes from the merge's target (id 2) is not updated but inserted again.
PREDICATES_MODEL = """
{{ config(materialized='incremental', unique_key='id') }}
select * from values
{%- if is_incremental() %}
    (cast(1 as bigint), 'hey', 'blue'), (cast(2 as bigint), 'yo', 'green'), (cast(3 as bigint), 'anyway', 'purple')
{%- else %}
    (cast(1 as bigint), 'hello', 'blue'), (cast(2 as bigint), 'goodbye', 'red')
{%- endif %}
    as rows(id, msg, color)
"""


class MergePredicates(BaseIncrementalPredicates):
    @pytest.fixture(scope="class")
    def models(self) -> dict[str, str]:
        return {"delete_insert_incremental_predicates.sql": PREDICATES_MODEL}


class TestIncrementalPredicatesMerge(MergePredicates):
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {"models": {**DELTA_MERGE, "+incremental_predicates": ["dbt_internal_dest.id != 2"]}}


class TestPredicatesMerge(MergePredicates):
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, Any]:
        return {"models": {**DELTA_MERGE, "+predicates": ["dbt_internal_dest.id != 2"]}}
