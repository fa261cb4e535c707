"""What every command shares: the settings (exit 2 naming a bad one), an error exit, the demo listener's note."""

import typer

from ingest.config import ConfigError, Settings, get_settings


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def demo_note(settings: "Settings") -> None:
    """Real plays have landed: say how to take the generated demo listener out, when it is there."""
    from ingest.demo import DEMO_USER, REMOVE_COMMAND
    from ingest.demo.listener import demo_present

    if demo_present(settings):
        typer.echo(
            f"note: the lakehouse also holds the GENERATED demo listener '{DEMO_USER}' (the report marks it); "
            f"remove it with: {REMOVE_COMMAND}"
        )
