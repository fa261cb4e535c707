"""``spotify-analytics superset export``: the running Superset's dashboards written back to the repository."""

from pathlib import Path
from typing import Annotated

import typer

from spotify_analytics.cli.common import fail, settings_or_exit

commands = typer.Typer(name="superset", help="Superset dashboards on the lakehouse, kept as code (docs/superset.md).")


@commands.command("install")
def superset_install(
    timeout: Annotated[float, typer.Option(help="Seconds the install may take.")] = 900.0,
) -> None:
    """Install Superset and its Hive driver from superset/requirements.lock into .cache/superset/venv.

    Reused while the lock is unchanged. Prints the folder; run Superset from its bin/ (docs/superset.md)."""
    from spotify_analytics.dashboards.install import InstallError, install

    settings = settings_or_exit()
    try:
        venv, seconds = install(settings.project_dir, timeout)
    except InstallError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"Superset installed in {venv} ({f'{seconds:.0f} s' if seconds else 'reused: the lock is unchanged'})")


@commands.command("export")
def superset_export(
    url: Annotated[str | None, typer.Option(help="Superset's base URL (default: SUPERSET_URL).")] = None,
    bundle: Annotated[
        Path | None, typer.Option(help="Folder of the bundle to write (default: SUPERSET_BUNDLE, superset/bundle).")
    ] = None,
) -> None:
    """Write every dashboard of the running Superset, with its charts, datasets and connection, into the bundle.

    Logs in as SUPERSET_ADMIN_USERNAME with SUPERSET_ADMIN_PASSWORD and uses Superset's export API. Files the export
    no longer holds are removed; the connection's address stays as the repository has it. Exit code 1 when Superset
    cannot be reached, refuses the login or holds no dashboard."""
    from spotify_analytics.dashboards.export import SupersetClient, SupersetError, export_bundle

    settings = settings_or_exit()
    password = settings.superset_admin_password.get_secret_value()
    if not password:
        raise fail("SUPERSET_ADMIN_PASSWORD is not set (in the environment or .env): it is needed to log in")
    target = settings.path(bundle or settings.superset_bundle)
    base = url or settings.superset_url
    try:
        client = SupersetClient(base, settings.superset_admin_username, password, settings.superset_request_timeout)
        result = export_bundle(client, target)
    except SupersetError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"Exported {len(result.dashboards)} dashboard(s) from {base} into {target}: {', '.join(result.dashboards)}"
    )
    typer.echo(f"  {len(result.written)} file(s) written, {result.unchanged} unchanged, {len(result.removed)} removed")
    for name in result.written:
        typer.echo(f"  written: {name}")
    for name in result.removed:
        typer.echo(f"  removed: {name}")
