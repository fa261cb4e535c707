"""``python -m ingest validate bronze|silver``: the quality gate as a command and a pipeline step."""

from typing import Annotated

import typer

from ingest.quality.suites import BRONZE, SILVER

validate_app = typer.Typer(
    help="Data quality gate (Great Expectations): exit 0 when all critical checks pass, 1 when one fails."
)


def _validate(layer: str, database: str | None) -> None:
    from ingest.cli import fail, settings_or_exit
    from ingest.lakehouse.client import connect
    from ingest.lakehouse.server import ServerError
    from ingest.quality.gate_config import QualityConfigError
    from ingest.quality.runner import validate_layer

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


@validate_app.command(BRONZE)
def validate_bronze(database: DatabaseOption = None) -> None:
    """Validate the Bronze tables (ranges, keys, timestamps); run before `dbt build`."""
    _validate(BRONZE, database)


@validate_app.command(SILVER)
def validate_silver(database: DatabaseOption = None) -> None:
    """Validate silver.listening_with_features (ranges, keys, timestamps, feature coverage); run before Gold."""
    _validate(SILVER, database)
