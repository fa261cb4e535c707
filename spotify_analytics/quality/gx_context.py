"""Great Expectations plumbing: the file context under ``<DATA_DIR>/quality/gx``, its Data Docs site in
``<DATA_DIR>/quality/docs``, and one checkpoint run of a suite on a Spark Connect DataFrame (a table's rows) or a
small pandas DataFrame (a summary computed on the server, e.g. coverage per listener).

``import great_expectations`` takes seconds: only this module imports it, and only when a run starts.
"""

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_analytics.quality.suites import TableSuite

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

DATASOURCE = "lakehouse"
SUMMARY_DATASOURCE = "lakehouse_summaries"  # pandas frames summarised from a table on the server
BATCH_DEFINITION = "whole_table"
DOCS_SITE = "quality_docs"
DEFAULT_SITE = "local_site"
# Counts only: every check's unexpected count, computed in the passes Great Expectations bundles aggregates into
# (examples of unexpected values cost a pass over the rows per check); examples for the checks that failed.
COUNTS_ONLY = {"result_format": "BASIC", "partial_unexpected_count": 0}
EXAMPLES = {"result_format": "BASIC", "partial_unexpected_count": 5}
_contexts: dict[Path, Any] = {}


def shared_context(quality_dir: Path) -> Any:
    """The context of ``quality_dir``, opened once per process (the pipeline's worker checks Bronze and Silver)."""
    if quality_dir not in _contexts:
        log.info("Opening the Great Expectations context in %s", quality_dir)
        _contexts[quality_dir] = open_context(quality_dir)
    return _contexts[quality_dir]


def build_docs(context: Any, quality_dir: Path) -> Path | None:
    """Build the Data Docs site once for the run's validations, made readable offline; its index."""
    from spotify_analytics.quality import docs_assets

    context.build_data_docs(site_names=[DOCS_SITE])
    index = docs_dir(quality_dir) / "index.html"
    if not index.is_file():
        return None
    pages = docs_assets.make_offline(docs_dir(quality_dir))
    log.info("Data Docs: %d pages made offline in %s", pages, docs_dir(quality_dir))
    return index


def open_context(quality_dir: Path) -> Any:
    """The file-backed context, with progress bars off and one Data Docs site writing to ``docs/``."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    quality_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    site = {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir(quality_dir))},
    }
    sites = context.list_data_docs_sites()
    if DEFAULT_SITE in sites:
        context.delete_data_docs_site(DEFAULT_SITE)
    if DOCS_SITE in sites:
        context.update_data_docs_site(DOCS_SITE, site)
    else:
        context.add_data_docs_site(DOCS_SITE, site)
    context.variables.save()
    return context


def docs_dir(quality_dir: Path) -> Path:
    return quality_dir / "docs"


def _batch_definition(context: Any, table: str, summary: bool) -> Any:
    sources = context.data_sources
    source = sources.add_or_update_pandas(SUMMARY_DATASOURCE) if summary else sources.add_or_update_spark(DATASOURCE)
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


def _expectation_suite(context: Any, suite: TableSuite) -> Any:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations = gx.ExpectationSuite(name=suite.name)
    for check in suite.checks:
        meta = {"check_id": check.check_id, "kind": check.kind, "severity": check.severity, "user_id": check.user_id}
        expectations.add_expectation(getattr(gxe, check.expectation)(**check.kwargs, meta=meta))
    return context.suites.add_or_update(expectations)


def check_key(result: Any) -> tuple[str, str | None]:
    """The (check id, listener) an ExpectationValidationResult belongs to, from the meta its expectation carries."""
    meta = result.expectation_config.meta
    return meta["check_id"], meta.get("user_id")


def run_checkpoint(
    context: Any, suite: TableSuite, dataframe: "DataFrame | pd.DataFrame", result_format: dict[str, Any]
) -> list[Any]:
    """Validate ``dataframe`` against ``suite`` (the suite is rewritten from code each run); the results are stored
    for the Data Docs (``build_docs``). Returns Great Expectations' ExpectationValidationResult objects."""
    import great_expectations as gx
    import pandas as pd

    batches = _batch_definition(context, suite.name, summary=isinstance(dataframe, pd.DataFrame))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batches, suite=_expectation_suite(context, suite))
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{suite.layer}__{suite.name}",
            validation_definitions=[definition],
            result_format=result_format,
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": dataframe})
    return [expectation for run in result.run_results.values() for expectation in run.results]
