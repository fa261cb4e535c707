"""The run summary: printed at the end of a run and appended to the Delta table ``ops.pipeline_runs``.

One row per step of each run (steps after a failure are recorded as ``not_run``), so the table answers
"when did the pipeline last succeed, which step fails, how long does each step take".
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ingest.lakehouse.identity import DATA_DIR_CONF
from spotify_analytics.pipeline.steps import StepResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

OPS_DATABASE = "ops"
RUNS_TABLE = f"{OPS_DATABASE}.pipeline_runs"
RUNS_SCHEMA = (
    "run_id string, run_started_at timestamp, run_status string, step_number int, step string, command string, "
    "status string, exit_code int, started_at timestamp, duration_seconds double, message string"
)


@dataclass
class PipelineRun:
    run_id: str
    started_at: datetime
    results: list[StepResult] = field(default_factory=list)

    @classmethod
    def new(cls) -> "PipelineRun":
        started = datetime.now(UTC)
        return cls(f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}", started)

    @property
    def failed_step(self) -> StepResult | None:
        return next((result for result in self.results if result.status == "failed"), None)

    @property
    def status(self) -> str:
        return "failed" if self.failed_step else "succeeded"


def format_summary(run: PipelineRun) -> str:
    seconds = (datetime.now(UTC) - run.started_at).total_seconds()
    failed = run.failed_step
    outcome = f"FAILED at step {failed.step} ({failed.message})" if failed else "succeeded"
    lines = [f"Pipeline run {run.run_id} {outcome} in {seconds:.0f} s", ""]
    lines.append(f"  {'step':<18} {'status':<8} {'seconds':>8}  command")
    for result in run.results:
        note = f"  [{result.message}]" if result.message else ""
        lines.append(f"  {result.step:<18} {result.status:<8} {result.seconds:>8.1f}  {result.command}{note}")
    return "\n".join(lines)


def ensure_runs_table(spark: "SparkSession") -> None:
    """``ops`` lives in <data>/ops, like ``bronze`` in <data>/bronze."""
    spark.sql(f"create database if not exists {OPS_DATABASE} location '${{{DATA_DIR_CONF}}}/ops'")
    spark.sql(f"create table if not exists {RUNS_TABLE} ({RUNS_SCHEMA}) using delta")


def append_run(spark: "SparkSession", run: PipelineRun) -> None:
    rows = [
        (
            run.run_id,
            run.started_at,
            run.status,
            number,
            result.step,
            result.command,
            result.status,
            result.exit_code,
            result.started_at,
            round(result.seconds, 3),
            result.message,
        )
        for number, result in enumerate(run.results, start=1)
    ]
    ensure_runs_table(spark)
    spark.createDataFrame(rows, schema=RUNS_SCHEMA).write.insertInto(RUNS_TABLE)
