"""``python -m spotify_analytics validate bronze|silver``: the quality gate as a command and a pipeline step."""

from typing import Annotated

import typer

from spotify_analytics.cli.common import fail, settings_or_exit
from spotify_analytics.quality.suites import BRONZE, SILVER

commands = typer.Typer(
    name="validate",
    help="Data quality gate (Great Expectations): exit 0 when all critical checks pass, 1 when one fails.",
)


def _validate(layer: str, database: str | None) -> None:
    from ingest.lakehouse.client import ServerError, connect
    from spotify_analytics.quality.gate_config import QualityConfigError
    from spotify_analytics.quality.runner import validate_layer

    settings = settings_or_exit()
    try:
        report = validate_layer(connect(settings), settings, layer, database)
    except (ServerError, QualityConfigError) as exc:
        raise fail(str(exc)) from None
    typer.echo(report.summary())
    raise typer.Exit(report.exit_code)


DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Validate the same table names in this database instead (e.g. a test copy)."),
]


@commands.command(BRONZE)
def validate_bronze(database: DatabaseOption = None) -> None:
    """Validate the Bronze tables (ranges, keys, timestamps); run before `dbt build`."""
    _validate(BRONZE, database)


@commands.command(SILVER)
def validate_silver(database: DatabaseOption = None) -> None:
    """Validate silver.listening_with_features (ranges, keys, timestamps, feature coverage); run before Gold."""
    _validate(SILVER, database)
