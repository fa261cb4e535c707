"""``python -m ingest report``: write the wellbeing report from Silver and Gold into ``<data>/reports``."""

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)

REPORTS_FOLDER = "reports"


def report(
    out: Annotated[Path | None, typer.Option(help="Output folder (default: <DATA_DIR>/reports).")] = None,
    gold: Annotated[str, typer.Option(help="Database holding the Gold tables.")] = "gold",
    silver: Annotated[str, typer.Option(help="Database holding silver.listening_with_features.")] = "silver",
) -> None:
    """Write index.html (all listeners) and user-<user_id>.html per listener; print their paths.

    Tables that are not built yet show as "not available yet" sections; the command still succeeds. Charts that
    rest on audio features are greyed out for a listener whose features cover less of their listening time than
    the quality gate's coverage.listener_minutes minimum (QUALITY_CONFIG)."""
    from ingest.cli import fail, settings_or_exit
    from ingest.lakehouse.client import connect
    from ingest.lakehouse.server import ServerError
    from ingest.quality.gate_config import QualityConfigError, load_config
    from ingest.report.data import read_report_data
    from ingest.report.writer import write_reports

    settings = settings_or_exit()
    out_dir = settings.path(out) if out else settings.data_path / REPORTS_FOLDER
    try:
        little_data_below = load_config(settings.path(settings.quality_config)).coverage["listener_minutes"].min
        data = read_report_data(connect(settings), gold=gold, silver=silver)
    except (ServerError, QualityConfigError) as exc:
        raise fail(str(exc)) from None
    generated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths = write_reports(data, out_dir, generated_at, little_data_below or 0.0)
    missing = [read.missing for read in data.all_reads() if read.missing]
    typer.echo(f"Wellbeing report for {len(paths) - 1} listener(s) in {out_dir}:")
    for path in paths:
        typer.echo(f"  {path}")
    if missing:
        typer.echo("Not available yet (sections say so): " + "; ".join(sorted(set(missing))))
