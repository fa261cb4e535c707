"""Quality history: every check of every run appended to the Delta table ``quality.validation_results``
(in ``<data>/quality/validation_results``), declared as a dbt source in models/staging/quality/."""

from typing import TYPE_CHECKING

from ingest.bronze.delta import add_missing_columns
from ingest.lakehouse.identity import DATA_DIR_CONF
from spotify_analytics.quality.outcomes import Outcome, ValidationReport

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

QUALITY_DATABASE = "quality"
RESULTS_TABLE = f"{QUALITY_DATABASE}.validation_results"
RESULTS_COLUMNS = (
    "run_id string, run_at timestamp, layer string, table_name string, expectation_id string, "
    "expectation_type string, column_name string, severity string, success boolean, observed_value string, "
    "observed_number double, unexpected_count bigint, element_count bigint, "
    "user_id string"  # the listener of a per-listener check (feature coverage), else null
)


def _outcome_values(o: Outcome) -> tuple:
    checked = (o.table, o.check_id, o.expectation, o.column, o.severity, o.success)
    return (*checked, o.observed, o.observed_number, o.unexpected_count, o.element_count, o.user_id)


def ensure_results_table(spark: "SparkSession") -> None:
    spark.sql(f"create database if not exists {QUALITY_DATABASE} location '${{{DATA_DIR_CONF}}}/quality'")
    spark.sql(f"create table if not exists {RESULTS_TABLE} ({RESULTS_COLUMNS}) using delta")
    add_missing_columns(spark, RESULTS_TABLE, RESULTS_COLUMNS)


def append_results(spark: "SparkSession", report: ValidationReport) -> int:
    """Append one row per outcome of the run; returns the number of rows appended."""
    ensure_results_table(spark)
    run = (report.run_id, report.run_at, report.layer)
    rows = [(*run, *_outcome_values(o)) for o in report.outcomes]
    if rows:
        spark.createDataFrame(rows, schema=RESULTS_COLUMNS).createOrReplaceTempView("validation_outcomes")
        columns = ", ".join(name.split()[0] for name in RESULTS_COLUMNS.split(", "))
        spark.sql(f"insert into {RESULTS_TABLE} ({columns}) select {columns} from validation_outcomes")
    return len(rows)
