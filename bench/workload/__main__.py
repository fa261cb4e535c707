"""``python -m bench.workload generate``: write a generated listening workload to a folder, for the benchmarks and
the tests. The generator itself is the demo listener's (``ingest.demo``): the product uses it for its first run; this
command, which writes at any scale and in every shape, is a tool of the benchmarks, not a user command."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ingest.config import ConfigError, Settings, get_settings
from ingest.demo.catalog import WorkloadCatalogError
from ingest.demo.generate import DEFAULT_CATALOG_SHARE, WorkloadSpec, generate
from ingest.demo.writers import FORMATS
from ingest.spotify.users import pseudonymous_user_id

workload_app = typer.Typer(help="Generated listening workloads for tests and benchmarks.", no_args_is_help=True)


def listener_pseudonym(settings: Settings) -> Callable[[str], str]:
    """The ingester's pseudonymous user id, so generated Bronze rows match imported exports."""
    return lambda name: pseudonymous_user_id(settings, name)


@workload_app.callback()
def main() -> None:
    """Generated listening workloads (a group, so its one command keeps its name: generate)."""


@workload_app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option(help="Folder to write into (created).")],
    users: Annotated[int, typer.Option(min=1, help="Number of listeners.")] = 1,
    plays_per_user: Annotated[int, typer.Option(min=1, help="Plays per listener.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 42,
    output_format: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "extended",
    catalog: Annotated[
        Path | None, typer.Option(help="Kaggle-format CSV to draw real tracks from (default: KAGGLE_CSV).")
    ] = None,
    catalog_share: Annotated[float, typer.Option(min=0, max=1, help="Share of plays on catalog tracks.")] = (
        DEFAULT_CATALOG_SHARE
    ),
    timezone: Annotated[str | None, typer.Option(help="Listeners' timezone (default: TIMEZONE).")] = None,
    first_user: Annotated[int, typer.Option(min=0, help="Index of the first listener.")] = 0,
    start: Annotated[
        datetime | None, typer.Option(help="Local time of the first play (default: histories end 2026-10-31).")
    ] = None,
    plays: Annotated[
        str | None,
        typer.Option(
            help="Write only each listener's plays START:END (0-based, END excluded): one source's share of an "
            "overlap, e.g. --format extended --plays 0:800, then --format api --plays 500:1000."
        ),
    ] = None,
) -> None:
    """Write USERS x PLAYS_PER_USER plays as an extended or classic privacy export, API pages, or Bronze parquet."""
    if output_format not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    try:
        settings = get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    play_range = _play_range(plays) if plays else None
    try:
        spec = WorkloadSpec(
            users=users,
            plays_per_user=plays_per_user,
            seed=seed,
            catalog_csv=catalog or settings.path(settings.kaggle_csv),
            timezone=timezone or getattr(settings, "timezone", "UTC"),
            catalog_share=catalog_share,
            first_user=first_user,
            start=start,
            play_range=play_range,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        paths = generate(spec, output_format, out, listener_pseudonym(settings))
    except WorkloadCatalogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    written = play_range[1] - play_range[0] if play_range else plays_per_user
    typer.echo(f"Wrote {users * written} plays of {users} listener(s) as {output_format}: {len(paths)} files in {out}")


def _play_range(text: str) -> tuple[int, int]:
    start, _, end = text.partition(":")
    if not (start.isdigit() and end.isdigit()):
        raise typer.BadParameter(f"{text!r} is not START:END (two whole numbers)", param_hint="--plays")
    return int(start), int(end)


if __name__ == "__main__":
    workload_app(prog_name="python -m bench.workload")
