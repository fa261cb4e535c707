"""``python -m spotify_analytics report``: write the wellbeing report from Silver and Gold into ``<data>/reports``."""

import logging
from pathlib import Path
from typing import Annotated

import typer

from spotify_analytics.cli.common import fail, settings_or_exit

log = logging.getLogger(__name__)
commands = typer.Typer()


@commands.command("report")
def report(
    out: Annotated[Path | None, typer.Option(help="Output folder (default: <DATA_DIR>/reports).")] = None,
    gold: Annotated[str, typer.Option(help="Database holding the Gold tables.")] = "gold",
    silver: Annotated[str, typer.Option(help="Database holding silver.listening_with_features.")] = "silver",
) -> None:
    """Write index.html (all listeners) and user-<user_id>.html per listener; print their paths.

    Tables that are not built yet show as "not available yet" sections; the command still succeeds. Charts that
    rest on audio features are greyed out for a listener whose features cover less of their listening time than
    the quality gate's coverage.listener_minutes minimum (QUALITY_CONFIG)."""
    from ingest.lakehouse.client import ServerError, connect
    from ingest.lakehouse.watchdog import doing
    from spotify_analytics.quality.gate_config import QualityConfigError
    from spotify_analytics.report.writer import report_dir, write_report

    settings = settings_or_exit()
    out_dir = settings.path(out) if out else report_dir(settings)
    try:
        with doing("reading Silver and Gold for the report"):
            data, paths = write_report(connect(settings), settings, out_dir, gold, silver)
    except (ServerError, QualityConfigError) as exc:
        raise fail(str(exc)) from None
    missing = [read.missing for read in data.all_reads() if read.missing]
    typer.echo(f"Wellbeing report for {len(paths) - 1} listener(s) in {out_dir}:")
    for path in paths:
        typer.echo(f"  {path}")
    if missing:
        typer.echo("Not available yet (sections say so): " + "; ".join(sorted(set(missing))))
