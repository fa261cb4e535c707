"""What an incremental Python model replaces: the ``replace_where`` strategy's run-time predicate.

dbt-spark's incremental strategies either rewrite the whole table (``insert_overwrite``) or merge on a
key. A Python model that recomputes some listeners, or nothing, needs neither: it should write only its
new rows and replace only the rows they supersede. With ``incremental_strategy="replace_where"`` the model
returns those rows through :func:`replace_where`, naming the target rows they replace; the strategy then
runs one atomic Delta ``insert into … replace where <predicate> select … from <the new rows>``.

The predicate is known only when the model runs, after dbt has rendered its config, so it travels from the
model to the strategy's SQL through this registry: Python models run in the dbt process (see
``python_submissions``), and the strategy reads it back with ``adapter.replace_where_predicate(this)``.
"""

import threading
from collections.abc import Iterable, Mapping
from typing import Any

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
