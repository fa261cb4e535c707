"""The command line of the Spotify Analytics Pipeline, its top floor: ``python -m spotify_analytics --help``.

Every command module defines ``commands`` (a named group, or top-level commands) and is added here, one way;
nothing imports this module.
"""

import logging
from typing import Annotated

import typer

from spotify_analytics.cli import (
    cluster,
    dataset,
    demo,
    doctor,
    evaluate,
    export,
    load,
    maintain,
    participants,
    pipeline,
    report,
    server,
    spotify,
    superset,
    synthetic,
    timetravel,
    validate,
)

app = typer.Typer(help="Spotify listening lakehouse: lakehouse server, ingest, pipeline.", no_args_is_help=True)
for module in (
    *(server, cluster, spotify, export, load, synthetic, demo, validate, pipeline, report, maintain),
    *(participants, dataset, timetravel, evaluate, doctor, superset),
):
    app.add_typer(module.commands)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("py4j", "urllib3", "grpc", "pyspark"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
