"""Run a layer's suites on the lakehouse server: read what each table had written since its last check over Spark
Connect (``increments``), validate it with Great Expectations, build offline Data Docs once, append the results to
quality.validation_results."""

import datetime as dt
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from ingest.config import Settings
from ingest.lakehouse.watchdog import doing
from spotify_analytics.quality import coverage, gx_context, history, increments
from spotify_analytics.quality.gate_config import CRITICAL, GateConfig, load_config
from spotify_analytics.quality.outcomes import Outcome, ValidationReport, from_gx_result, missing_table
from spotify_analytics.quality.suites import FEATURE_COVERAGE, TableSuite, layer_suites, listener_coverage_suite

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

EXAMPLES_SCOPE = "failed_checks_with_examples"


def in_database(suite: TableSuite, database: str | None) -> TableSuite:
    """The suite pointed at the same table name in another database (tests use their own)."""
    if not database:
        return suite
    return suite.on_table(f"{database}.{suite.table.split('.', 1)[1]}")


def validate_suite(
    spark: "SparkSession", context: object, suite: TableSuite, frame: "DataFrame | pd.DataFrame | None" = None
) -> list[Outcome]:
    """Run the suite's checks on ``frame`` (default: the whole table): counts first, in as few passes over the rows
    as Great Expectations bundles them, then examples of the unexpected values of the checks that failed only."""
    started = time.monotonic()
    if frame is None:
        frame = spark.table(suite.table)
    with doing(f"checking {suite.table}"):
        results = gx_context.run_checkpoint(context, suite, frame, gx_context.COUNTS_ONLY)
        checks = {(check.check_id, check.user_id): check for check in suite.checks}
        unrun = set(checks) - {gx_context.check_key(result) for result in results}
        if unrun:  # Great Expectations keeps one expectation per type and column: a check must never vanish silently
            raise RuntimeError(f"{suite.name}: Great Expectations did not run {sorted(unrun, key=str)}")
        failed = {gx_context.check_key(result)[0] for result in results if unexpected_rows(result)}
        if failed:
            only_failed = suite.only(failed, EXAMPLES_SCOPE)
            examples = gx_context.run_checkpoint(context, only_failed, frame, gx_context.EXAMPLES)
            by_key = {gx_context.check_key(result): result for result in examples}
            results = [by_key.get(gx_context.check_key(result), result) for result in results]
    outcomes = [from_gx_result(suite.table, checks[gx_context.check_key(result)], result) for result in results]
    log.info(
        "%s: %d checks, %d failed, %.1f s",
        suite.name, len(outcomes), sum(not outcome.success for outcome in outcomes), time.monotonic() - started,
    )  # fmt: skip
    return outcomes


def unexpected_rows(result: Any) -> bool:
    """A check of rows that failed on some of them (an aggregate check, a share, has no rows to show)."""
    return not result.success and bool((result.result or {}).get("unexpected_count"))


def validate_layer(
    spark: "SparkSession", settings: Settings, layer: str, database: str | None = None
) -> ValidationReport:
    """Validate every table of ``layer`` ('bronze' or 'silver'); ``database`` replaces the tables' database.
    Each suite reads only what was written since it last passed (``increments``); one that finds nothing written
    since is not run again. The Data Docs are built once, at the end."""
    config = load_config(settings.path(settings.quality_config))
    run_at = dt.datetime.now(dt.UTC)
    report = ValidationReport(f"{run_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", run_at, layer)
    suites = [in_database(suite, database) for suite in layer_suites(layer, config, run_at)]
    checked = increments.read_checked(settings.quality_path)
    passed: list[tuple[str, increments.RowsToCheck, str]] = []
    context = None
    for suite in suites:
        if not spark.catalog.tableExists(suite.table) and suite.optional:
            log.info("%s does not exist (nothing has written it yet): nothing to validate", suite.table)
            continue
        if not spark.catalog.tableExists(suite.table):
            log.warning("%s does not exist: not validated", suite.table)
            report.outcomes.append(missing_table(suite, config.severity["missing_table"]))
            continue
        checks = increments.fingerprint(suite.definition(), config)
        rows = increments.rows_to_check(spark, suite.table, suite.stamp, checked.get(suite.name), checks)
        if rows.unchanged:
            log.info("%s: %s: its last checks stand", suite.name, rows.scope)
            report.unchanged.append(suite.name)
            continue
        if context is None:
            context = gx_context.shared_context(settings.quality_path)
        log.info("%s: checking %s", suite.name, rows.scope)
        if suite.scope == FEATURE_COVERAGE:
            outcomes = feature_coverage_outcomes(spark, context, suite, config)
        else:
            outcomes = validate_suite(spark, context, suite, increments.frame_of(spark, rows, suite.key, suite.stamp))
        report.outcomes.extend(outcomes)
        if not any(not outcome.success and outcome.severity == CRITICAL for outcome in outcomes):
            passed.append((suite.name, rows, checks))
    if context is not None:
        report.docs_index = gx_context.build_docs(context, settings.quality_path)
    history.append_results(spark, report)
    for name, rows, checks in passed:
        increments.record_checked(settings.quality_path, name, rows, checks)
    return report


def feature_coverage_outcomes(
    spark: "SparkSession", context: object, suite: TableSuite, config: GateConfig
) -> list[Outcome]:
    """Silver's feature coverage: the table's shares (``suite``) and each listener's, checked on the small frames
    made from one summary of the table on the server (``coverage``)."""
    summary = coverage.coverage_summary(spark, suite.table)
    outcomes = validate_suite(spark, context, suite, coverage.table_shares(spark, summary))
    listeners = coverage.listener_shares(summary)
    per_listener = listener_coverage_suite(suite.table, list(listeners["user_id"]), config)
    return outcomes + (validate_suite(spark, context, per_listener, listeners) if per_listener.checks else [])
