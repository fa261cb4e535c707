"""What an incremental Python model replaces: the ``replace_where`` strategy's run-time predicate, and the
write that uses it.

dbt-spark's incremental strategies either rewrite the whole table (``insert_overwrite``) or merge on a
key. A Python model that recomputes some listeners, or nothing, needs neither: it should write only its
new rows and replace only the rows they supersede. With ``incremental_strategy="replace_where"`` the model
returns those rows through :func:`replace_where`, naming the target rows they replace; the adapter's
incremental materialization then ends the model's code with :func:`write_replacing`: one atomic Delta
overwrite of the rows matching the predicate by the new rows, straight into the target (no ``__dbt_tmp``
table), and no write at all when the predicate is :data:`KEEP`.

The predicate is known only when the model runs, after dbt has rendered its config, so it travels from the
model to the write through this registry: Python models run in the dbt process (see ``python_submissions``).
"""

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from dbt.adapters.spark_lakehouse.results import as_spark_dataframe
from dbt_common.exceptions import DbtRuntimeError

log = logging.getLogger(__name__)

KEEP = "false"  # the predicate of a build that replaces nothing: the table stays as it is
EVERYTHING = "true"

_predicates: dict[str, str] = {}
_lock = threading.Lock()


def replace_where(dbt: Any, rows: Any, predicate: str) -> Any:
    """Return ``rows`` as the model's result, recording that they replace the target rows matching
    ``predicate`` (SQL over the target's columns). Every new row must match it."""
    with _lock:
        _predicates[str(dbt.this)] = predicate
    return rows


def take_predicate(relation: str) -> str | None:
    """The predicate the model of ``relation`` recorded in this run (forgotten once read)."""
    with _lock:
        return _predicates.pop(relation, None)


def recorded_predicate(relation: str) -> str:
    """The predicate the model of ``relation`` recorded in this run; an error when it recorded none."""
    predicate = take_predicate(relation)
    if predicate is None:
        raise DbtRuntimeError(
            f"{relation} uses incremental_strategy 'replace_where' but its model returned its rows without "
            "saying what they replace: return replace_where(dbt, rows, predicate) "
            "(from dbt.adapters.spark_lakehouse.replacement)"
        )
    return predicate


def write_replacing(spark: Any, result: Any, relation: str, on_schema_change: str) -> None:
    """Replace the rows of the Delta table ``relation`` matching the model's recorded predicate by the model's
    ``result`` (a Spark, pandas or pandas-on-Spark DataFrame), in one commit that fails if a new row lies
    outside the predicate. Columns are matched by name; with ``append_new_columns`` a new column of the rows is
    added to the table, with ``ignore`` the table keeps its columns. Nothing is written when the predicate is
    :data:`KEEP`."""
    predicate = recorded_predicate(relation)
    if predicate == KEEP:
        log.info("%s: kept, the model replaced no rows", relation)
        return
    from pyspark.sql import functions as F  # imported here: the dbt process needs pyspark only for models

    rows = as_spark_dataframe(spark, result, relation)
    if on_schema_change == "append_new_columns":
        writer = rows.writeTo(relation).option("mergeSchema", "true")
    else:  # 'ignore': the table keeps its columns
        writer = rows.select(*spark.table(relation).columns).writeTo(relation)
    writer.overwrite(F.expr(predicate))


def sql_literal(value: str) -> str:
    """A Spark SQL string literal (quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def among(column: str, values: Iterable[str]) -> str:
    """Rows whose ``column`` is one of ``values`` (none when there are no values)."""
    literals = sorted({sql_literal(value) for value in values})
    return f"{column} in ({', '.join(literals)})" if literals else KEEP


def each_from(key: str, order: str, starts: Mapping[str, str]) -> str:
    """Per ``key`` value, its rows whose timestamp ``order`` is at or after the value's start (a timestamp
    as Spark formats it in the session time zone); none when there are no starts."""
    ranges = [
        f"({key} = {sql_literal(value)} and {order} >= timestamp{sql_literal(start)})"
        for value, start in sorted(starts.items())
    ]
    return " or ".join(ranges) if ranges else KEEP
