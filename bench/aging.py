"""W5: a year of 6-hourly refreshes, as the tables feel them, made cheaply; then W1 on the aged lakehouse.

A refresh MERGEs a few rows into each table it writes, so each table gains a small file and a log entry per refresh.
W5 makes those commits through the same write path, a Delta MERGE, without the pipeline's other work between them:
each "refresh" MERGEs a few rows of every table a refresh writes onto themselves (``when matched then update set *``:
the rows stay as they were, the table gains the files, deletion vectors and log entry of a real refresh's MERGE),
and appends a refresh's rows to the two run logs (``ops.pipeline_runs``, ``quality.validation_results``). Tables are
aged in parallel (a Spark Connect session each). The upkeep (``maintain``) runs on its schedule, on the refreshes'
simulated clock: OPTIMIZE after 32 commits, VACUUM once a simulated week (its 7-day retention counts real time, so
within a sitting it deletes nothing: said in the result).
"""

import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.bronze.schemas import LISTENING_HISTORY
from spotify_analytics.pipeline.dbt import target_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from bench.workloads import Bench

log = logging.getLogger("bench")

REFRESHES = 1460  # a year at one refresh every 6 hours
REFRESH_EVERY = timedelta(hours=6)
ROWS_PER_TOUCH = 5
# The tables a refresh writes that dbt's manifest gives no key for, with the key their rows are unique on: Bronze's
# plays (the load's MERGE) and the Python models (each replaces its recomputed listeners' rows). The others are
# dbt's incremental models with a unique_key (``merged_tables``). The run logs a refresh appends to.
KEYED_ELSEWHERE = {
    LISTENING_HISTORY.qualified: LISTENING_HISTORY.key,
    "gold.mood_session_clusters": ("user_id", "session_id"),
    "gold.track_recommendations": ("user_id", "track_id"),
}
APPENDED = ("ops.pipeline_runs", "quality.validation_results")


@dataclass
class Aging:
    refreshes: int
    seconds: float
    files_before: dict[str, int]
    files_after: dict[str, int]
    bytes_before: int
    bytes_after: int
    upkeep: list[str]


def folder_bytes(folder: Path) -> int:
    return sum((Path(root) / name).stat().st_size for root, _, names in os.walk(folder) for name in names)


def merged_tables(bench: "Bench") -> dict[str, tuple[str, ...]]:
    """Every table a refresh MERGEs into, with its key: dbt's incremental models with a ``unique_key`` (from the
    manifest of the bench's last build) and ``KEYED_ELSEWHERE``."""
    manifest = json.loads((target_path(bench.settings) / "manifest.json").read_text())
    merged = dict(KEYED_ELSEWHERE)
    for node in manifest["nodes"].values():
        config = node["config"]
        if node["resource_type"] == "model" and config["materialized"] == "incremental" and config.get("unique_key"):
            key = config["unique_key"]
            merged[f"{node['schema']}.{node['alias']}"] = (key,) if isinstance(key, str) else tuple(key)
    return merged


def table_files(spark: "SparkSession", tables: list[str]) -> dict[str, int]:
    return {table: int(spark.sql(f"describe detail {table}").first()["numFiles"]) for table in tables}


def touch(spark: "SparkSession", table: str, key: tuple[str, ...], refresh: int) -> None:
    """A refresh's MERGE into ``table``: a few of its rows MERGEd onto themselves (a different few each time)."""
    keys = ", ".join(key)
    rows = f"(select * from {table} where pmod(hash({keys}), 50000) = {refresh % 50000} limit {ROWS_PER_TOUCH})"
    on = " and ".join(f"t.{column} <=> s.{column}" for column in key)
    spark.sql(f"merge into {table} t using {rows} s on {on} when matched then update set *")


def append(spark: "SparkSession", table: str, refresh: int) -> None:
    """A refresh's rows of a run log: copies of a few rows under a run id of the aging's own."""
    columns = [column for column in spark.table(table).columns if column != "run_id"]
    spark.sql(
        f"insert into {table} (run_id, {', '.join(columns)}) "
        f"select 'w5-aging-{refresh:04d}', {', '.join(columns)} from {table} limit {ROWS_PER_TOUCH}"
    )


def age(bench: "Bench", refreshes: int = REFRESHES, threads: int = 4) -> Aging:
    """Age the bench's lakehouse by ``refreshes`` refreshes, with the upkeep on their clock."""
    import time

    from dbt.adapters.spark_lakehouse.channel import session_builder
    from dbt.adapters.spark_lakehouse.outage import kept_for_the_process

    from ingest.lakehouse.secret import read_secret
    from spotify_analytics.maintenance.tables import maintain_tables

    spark = bench.spark
    merged = merged_tables(bench)
    tables = [table for table in (*merged, *APPENDED) if spark.catalog.tableExists(table)]
    files_before, bytes_before = table_files(spark, tables), folder_bytes(bench.settings.data_path)
    sessions = threading.local()
    opened: list[SparkSession] = []

    def session() -> "SparkSession":
        if not hasattr(sessions, "spark"):
            sessions.spark = kept_for_the_process(
                session_builder(bench.settings.connect_url, read_secret(bench.settings)).create()
            )
            opened.append(sessions.spark)
        return sessions.spark

    work: list[Callable[[int], None]] = [
        (lambda n, t=table, k=key: touch(session(), t, k, n)) for table, key in merged.items() if table in tables
    ] + [(lambda n, t=table: append(session(), t, n)) for table in APPENDED if table in tables]
    clock = datetime.now(UTC)
    upkeep: list[str] = []
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for refresh in range(refreshes):
            list(pool.map(lambda job, n=refresh: job(n), work))
            clock += REFRESH_EVERY
            done = maintain_tables(spark, bench.settings, now=clock, only=tables)
            upkeep += [f"refresh {refresh + 1}: {item.line()}" for item in done if item.optimized]
            if (refresh + 1) % 100 == 0:
                log.info("W5: %d of %d refreshes made (%.0f s)", refresh + 1, refreshes, time.monotonic() - started)
    seconds = time.monotonic() - started
    for aging_session in opened:  # what they hold on the server is no part of an aged lakehouse: W1 runs without it
        aging_session.stop()
    return Aging(
        refreshes, seconds, files_before, table_files(spark, tables), bytes_before,
        folder_bytes(bench.settings.data_path), upkeep,
    )  # fmt: skip
