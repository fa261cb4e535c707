"""What every command shares: the settings (exit 2 naming a bad one), an error exit, the demo listener's note."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from ingest.config import ConfigError, Settings, get_settings
from ingest.lakehouse.client import ServerError, connect

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def lakehouse_or_exit() -> tuple["SparkSession", Settings]:
    """A Spark Connect session on this checkout's lakehouse server and the settings; exit 1 saying why not."""
    settings = settings_or_exit()
    try:
        return connect(settings), settings
    except ServerError as exc:
        raise fail(str(exc)) from None


@contextmanager
def bronze_writer_or_exit() -> Iterator[tuple["SparkSession", Settings]]:
    """The session of the one Bronze writer (``ingest.bronze.writer``) and the settings, for the block; exit 1
    saying why when the server cannot be reached."""
    from ingest.bronze.writer import bronze_writer

    settings = settings_or_exit()
    try:
        with bronze_writer(settings) as spark:
            yield spark, settings
    except ServerError as exc:
        raise fail(str(exc)) from None


def demo_note(settings: "Settings") -> None:
    """Real plays have landed: say how to take the generated demo listener out, when it is there."""
    from ingest.demo import DEMO_USER, REMOVE_COMMAND
    from ingest.demo.listener import demo_present

    if demo_present(settings):
        typer.echo(
            f"note: the lakehouse also holds the GENERATED demo listener '{DEMO_USER}' (the report marks it); "
            f"remove it with: {REMOVE_COMMAND}"
        )
