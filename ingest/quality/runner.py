"""Run a layer's suites on the lakehouse server: read each table over Spark Connect, validate it with Great
Expectations, build offline Data Docs, append the results to quality.validation_results."""

import datetime as dt
import logging
import time
import uuid
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.quality import docs_assets, gx_context, history
from ingest.quality.gate_config import load_config
from ingest.quality.outcomes import Outcome, ValidationReport, from_gx_result, missing_table
from ingest.quality.suites import TableSuite, layer_suites

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


def in_database(suite: TableSuite, database: str | None) -> TableSuite:
    """The suite pointed at the same table name in another database (tests use their own)."""
    if not database:
        return suite
    return suite.on_table(f"{database}.{suite.table.split('.', 1)[1]}")


def table_frame(spark: "SparkSession", suite: TableSuite) -> "DataFrame":
    frame = spark.table(suite.table)
    if suite.derived_columns:
        frame = frame.selectExpr("*", *(f"{sql} as {name}" for name, sql in suite.derived_columns.items()))
    return frame


def validate_suite(spark: "SparkSession", context: object, suite: TableSuite) -> list[Outcome]:
    started = time.monotonic()
    results = gx_context.run_checkpoint(context, suite, table_frame(spark, suite))
    checks = {check.check_id: check for check in suite.checks}
    outcomes = [
        from_gx_result(suite.table, checks[result.expectation_config.meta["check_id"]], result) for result in results
    ]
    failed = sum(not outcome.success for outcome in outcomes)
    log.info("%s: %d checks, %d failed, %.1f s", suite.table, len(outcomes), failed, time.monotonic() - started)
    return outcomes


def validate_layer(
    spark: "SparkSession", settings: Settings, layer: str, database: str | None = None
) -> ValidationReport:
    """Validate every table of ``layer`` ('bronze' or 'silver'); ``database`` replaces the tables' database."""
    config = load_config(settings.path(settings.quality_config))
    run_at = dt.datetime.now(dt.UTC)
    report = ValidationReport(f"{run_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", run_at, layer)
    suites = [in_database(suite, database) for suite in layer_suites(layer, config, run_at)]
    context = None
    for suite in suites:
        if not spark.catalog.tableExists(suite.table):
            log.warning("%s does not exist: not validated", suite.table)
            report.outcomes.append(missing_table(suite, config.severity["missing_table"]))
            continue
        if context is None:
            log.info("Opening the Great Expectations context in %s", settings.quality_path)
            context = gx_context.open_context(settings.quality_path)
        report.outcomes.extend(validate_suite(spark, context, suite))
    docs = gx_context.docs_dir(settings.quality_path)
    if context is not None and (docs / "index.html").is_file():
        pages = docs_assets.make_offline(docs)
        log.info("Data Docs: %d pages made offline in %s", pages, docs)
        report.docs_index = docs / "index.html"
    history.append_results(spark, report)
    return report
