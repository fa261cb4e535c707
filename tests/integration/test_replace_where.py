"""The adapter's replace_where strategy: the predicates Python models build, the check that a model says
what its rows replace, and the write into the target. (The Gold models' builds through it are tested in
test_python_models.py and test_walking_skeleton.py.)"""

from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import Lakehouse
from dbt.adapters.spark_lakehouse.replacement import (
    KEEP,
    among,
    each_from,
    recorded_predicate,
    replace_where,
    sql_literal,
    write_replacing,
)
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

    with pytest.raises(DbtRuntimeError, match="returned its rows without saying what they replace"):
        recorded_predicate(this)

    rows = object()
    assert replace_where(SimpleNamespace(this=this), rows, "user_id = 'a'") is rows
    assert recorded_predicate(this) == "user_id = 'a'"
    assert replace_where(SimpleNamespace(this=this), rows, KEEP) is rows
    assert recorded_predicate(this) == KEEP
    with pytest.raises(DbtRuntimeError):  # read once: a later build must say it again
        recorded_predicate(this)


def test_the_write_replaces_only_what_the_predicate_names_in_one_commit(lakehouse: Lakehouse) -> None:
    table = "default.replace_where_written"
    lakehouse.sql(f"create or replace table {table} (user_id string, plays int) using delta")
    lakehouse.sql(f"insert into {table} values ('a', 1), ('a', 2), ('b', 3)")
    spark = lakehouse.session
    this = SimpleNamespace(this=table)

    def version() -> int:
        return lakehouse.sql(f"describe history {table} limit 1")[0].version

    def stored() -> list[tuple]:
        return [tuple(row) for row in lakehouse.sql(f"select * from {table} order by user_id, plays")]

    written = version()
    write_replacing(
        spark, replace_where(this, spark.sql("select 'a' as user_id, 9 as plays").limit(0), KEEP), table, "ignore"
    )
    assert version() == written  # nothing replaced: nothing written

    # by name (columns in another order), 'ignore' keeps the table's columns, one commit
    rows = spark.sql("select 10 as plays, 'a' as user_id, 'x' as extra")
    write_replacing(spark, replace_where(this, rows, among("user_id", ["a"])), table, "ignore")
    assert stored() == [("a", 10), ("b", 3)]
    assert version() == written + 1

    # append_new_columns adds the model's new column; pandas rows are accepted
    rows = pd.DataFrame({"user_id": ["b"], "plays": [4], "extra": ["y"]})
    write_replacing(spark, replace_where(this, rows, among("user_id", ["b"])), table, "append_new_columns")
    assert stored() == [("a", 10, None), ("b", 4, "y")]

    with pytest.raises(Exception, match="DELTA_REPLACE_WHERE_MISMATCH"):  # a new row outside what it replaces
        rows = spark.sql("select 'a' as user_id, 11 as plays, 'z' as extra")
        write_replacing(spark, replace_where(this, rows, among("user_id", ["b"])), table, "ignore")
    assert stored() == [("a", 10, None), ("b", 4, "y")]  # and nothing was written
