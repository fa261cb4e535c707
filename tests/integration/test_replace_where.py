"""The adapter's replace_where strategy: the predicates Python models build, and the check that a model says
what its rows replace. (The Gold models' writes through it are tested in test_python_models.py.)"""

from types import SimpleNamespace

import pytest
from conftest import Lakehouse
from dbt.adapters.spark_lakehouse.impl import SparkLakehouseAdapter
from dbt.adapters.spark_lakehouse.replacement import KEEP, among, each_from, replace_where, sql_literal
from dbt_common.exceptions import DbtRuntimeError

AWKWARD = "o'brien \\ 'quoted'"


def test_predicates_select_exactly_the_rows_they_name(lakehouse: Lakehouse) -> None:
    lakehouse.sql("create or replace table default.replace_where_rows (user_id string, at timestamp) using delta")
    lakehouse.sql(
        "insert into default.replace_where_rows values "
        f"({sql_literal(AWKWARD)}, timestamp'2026-01-01 10:00:00'), "
        f"({sql_literal(AWKWARD)}, timestamp'2026-01-01 10:00:00.000001'), ('other', timestamp'2026-01-02')"
    )

    def count(predicate: str) -> int:
        [row] = lakehouse.sql(f"select count(*) as n from default.replace_where_rows where {predicate}")
        return row.n

    [stored] = lakehouse.sql("select distinct user_id from default.replace_where_rows where user_id != 'other'")
    assert stored.user_id == AWKWARD  # the literal round-trips
    assert count(among("user_id", [AWKWARD, AWKWARD])) == 2
    assert count(among("user_id", [AWKWARD, "other"])) == 3
    assert count(among("user_id", [])) == 0 and among("user_id", []) == KEEP
    assert count(each_from("user_id", "at", {AWKWARD: "2026-01-01 10:00:00.000001"})) == 1  # microseconds kept
    assert count(each_from("user_id", "at", {AWKWARD: "2026-01-01 10:00:00.000000", "other": "2026-01-03"})) == 2
    assert each_from("user_id", "at", {}) == KEEP

    with pytest.raises(Exception, match="DELTA_REPLACE_WHERE_MISMATCH"):  # a new row outside what it replaces
        lakehouse.sql(
            f"insert into default.replace_where_rows replace where {among('user_id', ['other'])} "
            f"select {sql_literal(AWKWARD)}, timestamp'2026-01-05'"
        )
    assert count("true") == 3  # and nothing was written


def test_a_replace_where_model_must_say_what_its_rows_replace() -> None:
    this = "gold.replace_where_example"
    adapter = SparkLakehouseAdapter.__new__(SparkLakehouseAdapter)  # the method reads no adapter state

    with pytest.raises(DbtRuntimeError, match="returned its rows without saying what they replace"):
        adapter.replace_where_predicate(this)

    rows = object()
    assert replace_where(SimpleNamespace(this=this), rows, "user_id = 'a'") is rows
    assert adapter.replace_where_predicate(this) == "user_id = 'a'"
    assert replace_where(SimpleNamespace(this=this), rows, KEEP) is rows
    assert adapter.replace_where_predicate(this) is None  # nothing replaced: the strategy writes nothing
    with pytest.raises(DbtRuntimeError):  # read once: a later build must say it again
        adapter.replace_where_predicate(this)
