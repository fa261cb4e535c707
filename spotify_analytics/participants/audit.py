"""The withdrawals' audit trail: the Delta table ``ops.withdrawals``, one row per completed withdrawal.

A row holds when, what was removed (rows per table, files), which tables' old versions were erased and with
which retention override, and a one-way hash of the pseudonym (``identity.audit_hash``), so a repeated
withdrawal is recognised; never the pseudonym or the name.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ingest.bronze.delta import sql_string
from ingest.lakehouse.identity import DATA_DIR_CONF
from spotify_analytics.pipeline.run_log import OPS_DATABASE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

WITHDRAWALS_TABLE = f"{OPS_DATABASE}.withdrawals"
WITHDRAWALS_SCHEMA = (
    "participant_hash string, started_at timestamp, finished_at timestamp, rows_removed map<string, bigint>, "
    "rows_removed_total bigint, files_deleted int, files_edited int, tables_erased array<string>, "
    "retention_override string, attempts int"
)


@dataclass(frozen=True)
class AuditRow:
    participant_hash: str
    started_at: datetime
    finished_at: datetime
    rows_removed: dict[str, int]
    files_deleted: int
    files_edited: int
    tables_erased: list[str]
    retention_override: str
    attempts: int


def ensure_withdrawals_table(spark: "SparkSession") -> None:
    spark.sql(f"create database if not exists {OPS_DATABASE} location '${{{DATA_DIR_CONF}}}/ops'")
    spark.sql(f"create table if not exists {WITHDRAWALS_TABLE} ({WITHDRAWALS_SCHEMA}) using delta")


def record_withdrawal(spark: "SparkSession", row: AuditRow) -> None:
    """Add the row; a row of the same withdrawal (hash and start) already there is replaced, so a run killed
    after this step and repeated leaves one row."""
    ensure_withdrawals_table(spark)
    rows_removed = json.dumps(row.rows_removed)
    tables = json.dumps(row.tables_erased)
    spark.sql(
        f"""
        merge into {WITHDRAWALS_TABLE} as target
        using (
            select
                {sql_string(row.participant_hash)} as participant_hash,
                timestamp {sql_string(row.started_at.isoformat())} as started_at,
                timestamp {sql_string(row.finished_at.isoformat())} as finished_at,
                from_json({sql_string(rows_removed)}, 'map<string, bigint>') as rows_removed,
                cast({sum(row.rows_removed.values())} as bigint) as rows_removed_total,
                {row.files_deleted} as files_deleted,
                {row.files_edited} as files_edited,
                from_json({sql_string(tables)}, 'array<string>') as tables_erased,
                {sql_string(row.retention_override)} as retention_override,
                {row.attempts} as attempts
        ) as source
        on target.participant_hash = source.participant_hash and target.started_at = source.started_at
        when matched then update set *
        when not matched then insert *
        """
    ).collect()


def earlier_withdrawals(spark: "SparkSession", participant_hash: str) -> list[datetime]:
    """When the participant with this hash was withdrawn before (finish times, oldest first)."""
    if not spark.catalog.tableExists(WITHDRAWALS_TABLE):
        return []
    rows = spark.sql(
        f"select finished_at from {WITHDRAWALS_TABLE} where participant_hash = {sql_string(participant_hash)} "
        "order by finished_at"
    ).collect()
    return [row["finished_at"] for row in rows]
