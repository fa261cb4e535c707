"""Incremental Python models with dbt-spark's strategies on Delta (append, merge with unique_key,
merge_update_columns and merge_exclude_columns, insert_overwrite) and the adapter's replace_where, each model
returning another kind of DataFrame; what dbt.this, dbt.config.get and dbt.is_incremental give a model; and a
model that fails leaving its table as it was."""

from typing import Any

import pytest
from dbt.tests.util import relation_from_name, run_dbt, write_file

KEPT, OLD_2, NEW_2, NEW_3 = (1, "a", "x", "p1"), (2, "b", "y", "p2"), (2, "B", "Y", "p2"), (3, "C", "Z", "p3")
FIRST_ROWS, LATER_ROWS = [KEPT, OLD_2], [NEW_2, NEW_3]

# model name: (its config, what it returns made of the Spark DataFrame `rows`, the table after two builds)
STRATEGIES = {
    "append_pandas": ("", "rows.toPandas()", [KEPT, NEW_2, OLD_2, NEW_3]),
    "merge_no_key": ('incremental_strategy="merge"', "rows", [KEPT, NEW_2, OLD_2, NEW_3]),
    "merge_unique_key_pandas_on_spark": (
        'incremental_strategy="merge", unique_key="id"', "rows.pandas_api()", [KEPT, NEW_2, NEW_3]
    ),
    "merge_update_columns": (
        'incremental_strategy="merge", unique_key="id", merge_update_columns=["msg"]', "rows",
        [KEPT, (2, "B", "y", "p2"), NEW_3],
    ),
    "merge_exclude_columns": (
        'incremental_strategy="merge", unique_key="id", merge_exclude_columns=["msg"]', "rows",
        [KEPT, (2, "b", "Y", "p2"), NEW_3],
    ),
    "insert_overwrite_table": ('incremental_strategy="insert_overwrite"', "rows.toPandas()", [NEW_2, NEW_3]),
    "insert_overwrite_partitions": (
        'incremental_strategy="insert_overwrite", partition_by=["part"]', "rows", [KEPT, NEW_2, NEW_3]
    ),
    "replace_where_pandas_on_spark": (
        'incremental_strategy="replace_where"', 'replace_where(dbt, rows.pandas_api(), "id >= 2")', [KEPT, NEW_2, NEW_3]
    ),
}  # fmt: skip


def strategy_model(config: str, returned: str) -> str:
    """An incremental Delta model with ``config``: its first build writes FIRST_ROWS, later builds return
    LATER_ROWS, as ``returned`` makes them from the Spark DataFrame ``rows``."""
    return f"""
from dbt.adapters.spark_lakehouse.replacement import replace_where


def model(dbt, session):
    dbt.config(materialized="incremental", file_format="delta", {config})
    data = {LATER_ROWS} if dbt.is_incremental else {FIRST_ROWS}
    rows = session.createDataFrame(data, "id bigint, msg string, color string, part string")
    return {returned}
"""


CONTEXT_MODEL = """
def model(dbt, session):
    dbt.config(materialized="incremental", file_format="delta", incremental_strategy="merge", unique_key="run")
    rows_before = session.table(str(dbt.this)).count() if dbt.is_incremental else None
    seen = (
        int(dbt.is_incremental), str(dbt.this), dbt.this.schema, dbt.this.identifier, rows_before,
        dbt.config.get("unique_key"), dbt.config.get("incremental_strategy"), dbt.config.get("no_such_key", "fallback"),
    )
    return session.createDataFrame(
        [seen], "run int, this string, schema string, identifier string, rows_before bigint, unique_key string, "
        "strategy string, fallback string",
    )
"""


def rows_of(project: Any, name: str) -> list[tuple]:
    relation = relation_from_name(project.adapter, name)
    return [tuple(row) for row in project.run_sql(f"select * from {relation} order by all", fetch="all")]


def delta_version(project: Any, name: str) -> int:
    relation = relation_from_name(project.adapter, name)
    return project.run_sql(f"describe history {relation} limit 1", fetch="one")[0]


class TestPythonIncrementalStrategies:
    @pytest.fixture(scope="class")
    def models(self) -> dict[str, str]:
        models = {f"{name}.py": strategy_model(config, returned) for name, (config, returned, _) in STRATEGIES.items()}
        return models | {"context.py": CONTEXT_MODEL}

    def test_each_strategy_writes_what_dbt_spark_writes_for_sql_models(self, project: Any) -> None:
        run_dbt(["run"])
        first = {name: rows_of(project, name) for name in STRATEGIES}
        versions = {name: delta_version(project, name) for name in STRATEGIES}

        run_dbt(["run"])

        assert first == {name: FIRST_ROWS for name in STRATEGIES}
        assert {name: rows_of(project, name) for name in STRATEGIES} == {
            name: expected for name, (_, _, expected) in STRATEGIES.items()
        }
        # one commit into each table; the rows staged for the SQL strategies are dropped
        assert {name: delta_version(project, name) - versions[name] for name in STRATEGIES} == dict.fromkeys(
            STRATEGIES, 1
        )
        tables = project.run_sql(f"show tables in {project.test_schema}", fetch="all")
        assert not [table for table in tables if table[1].endswith("__dbt_tmp")]

    def test_a_model_sees_its_relation_config_and_whether_it_is_incremental(self, project: Any) -> None:
        schema = project.test_schema
        this = relation_from_name(project.adapter, "context").render()
        run_dbt(["run", "--select", "context", "--full-refresh"])
        run_dbt(["run", "--select", "context"])

        assert rows_of(project, "context") == [
            (0, this, schema, "context", None, "run", "merge", "fallback"),
            (1, this, schema, "context", 1, "run", "merge", "fallback"),
        ]


FAILING = {
    "merge_model": ("incremental", 'incremental_strategy="merge", unique_key="id"'),
    "append_model": ("incremental", 'incremental_strategy="append"'),
    "replace_where_model": ("incremental", 'incremental_strategy="replace_where"'),
    "table_model": ("table", ""),
}


def one_row_model(materialized: str, config: str, *, failing: bool) -> str:
    """A Delta model of one row, or, ``failing``, one that raises instead of returning its rows."""
    return f"""
def model(dbt, session):
    dbt.config(materialized="{materialized}", file_format="delta", {config})
    if {failing}:
        raise RuntimeError("this build fails on purpose")
    return session.createDataFrame([(1, "a")], "id bigint, msg string")
"""


SCHEMA_CHANGING_MODEL = """
def model(dbt, session):
    dbt.config(materialized="incremental", file_format="delta", incremental_strategy="merge", unique_key="id",
               on_schema_change="fail")
    if dbt.is_incremental:
        return session.createDataFrame([(2, "b", 0.5)], "id bigint, msg string, added double")
    return session.createDataFrame([(1, "a")], "id bigint, msg string")
"""


class TestFailingPythonModelKeepsItsTable:
    @pytest.fixture(scope="class")
    def models(self) -> dict[str, str]:
        built = {f"{name}.py": one_row_model(*model, failing=False) for name, model in FAILING.items()}
        return built | {"schema_changing_model.py": SCHEMA_CHANGING_MODEL}

    def test_a_failing_build_leaves_the_table_as_it_was(self, project: Any) -> None:
        run_dbt(["run"])
        names = [*FAILING, "schema_changing_model"]
        before = {name: (rows_of(project, name), delta_version(project, name)) for name in names}
        for name, model in FAILING.items():
            write_file(one_row_model(*model, failing=True), project.project_root, "models", f"{name}.py")

        results = run_dbt(["run"], expect_pass=False)

        messages = {result.node.name: result.message or "" for result in results}
        assert all("this build fails on purpose" in messages[name] for name in FAILING), messages
        assert "Compilation Error" in messages["schema_changing_model"]
        assert {name: (rows_of(project, name), delta_version(project, name)) for name in names} == before
        assert before["merge_model"][0] == [(1, "a")]
