"""Run a layer's suites on the lakehouse server: read each table over Spark Connect, validate it with Great
Expectations, build offline Data Docs, append the results to quality.validation_results."""

import datetime as dt
import logging
import time
import uuid
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.lakehouse.watchdog import doing
from spotify_analytics.quality import docs_assets, gx_context, history
from spotify_analytics.quality.gate_config import load_config
from spotify_analytics.quality.outcomes import Outcome, ValidationReport, from_gx_result, missing_table
from spotify_analytics.quality.suites import SILVER, TableSuite, layer_suites, listener_coverage_suite

if TYPE_CHECKING:
    import pandas as pd
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


def listener_coverage(spark: "SparkSession", table: str) -> "pd.DataFrame":
    """One row per listener of ``table`` (Silver): plays and listening time, with features and in all, and the
    shares (``coverage_plays``, ``coverage_minutes``; NaN for a listener whose plays all lasted 0 ms)."""
    frame = spark.sql(
        f"""
        select user_id, count(*) as plays, count(feature_source) as featured_plays,
               sum(ms_played) as ms_played,
               sum(case when feature_source is not null then ms_played else 0 end) as featured_ms
        from {table}
        where user_id is not null
        group by user_id
        order by user_id
        """
    ).toPandas()
    frame["coverage_plays"] = frame["featured_plays"] / frame["plays"]
    frame["coverage_minutes"] = (frame["featured_ms"] / frame["ms_played"].where(frame["ms_played"] > 0)).astype(float)
    return frame


def validate_suite(
    spark: "SparkSession", context: object, suite: TableSuite, frame: "DataFrame | pd.DataFrame | None" = None
) -> list[Outcome]:
    started = time.monotonic()
    with doing(f"checking {suite.table}"):
        results = gx_context.run_checkpoint(context, suite, table_frame(spark, suite) if frame is None else frame)
    checks = {(check.check_id, check.user_id): check for check in suite.checks}
    unrun = set(checks) - {gx_context.check_key(result) for result in results}
    if unrun:  # Great Expectations keeps one expectation per type and column: a check must never vanish silently
        raise RuntimeError(f"{suite.name}: Great Expectations did not run {sorted(unrun, key=str)}")
    outcomes = [from_gx_result(suite.table, checks[gx_context.check_key(result)], result) for result in results]
    failed = sum(not outcome.success for outcome in outcomes)
    log.info("%s: %d checks, %d failed, %.1f s", suite.name, len(outcomes), failed, time.monotonic() - started)
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
        if layer == SILVER:
            coverage = listener_coverage(spark, suite.table)
            per_listener = listener_coverage_suite(suite.table, list(coverage["user_id"]), config)
            if per_listener.checks:
                report.outcomes.extend(validate_suite(spark, context, per_listener, coverage))
    docs = gx_context.docs_dir(settings.quality_path)
    if context is not None and (docs / "index.html").is_file():
        pages = docs_assets.make_offline(docs)
        log.info("Data Docs: %d pages made offline in %s", pages, docs)
        report.docs_index = docs / "index.html"
    history.append_results(spark, report)
    return report
