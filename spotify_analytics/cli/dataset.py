"""Typer command ``export-dataset --out DIR`` (``spotify_analytics.dataset.export``)."""

from pathlib import Path
from typing import Annotated

import typer

from spotify_analytics.cli.common import fail, lakehouse_or_exit

commands = typer.Typer()


@commands.command("export-dataset")
def export_dataset_command(
    out: Annotated[Path, typer.Option("--out", help="The folder to write (new or empty).")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the folder when it holds an earlier export.")
    ] = False,
) -> None:
    """Write Silver and Gold as Parquet and CSV, one file of each per table, with a codebook (every column's type,
    unit and description from the dbt docs; each table's lineage and feature provenance) and a manifest (code
    version, pipeline run, participants by pseudonym, rows and SHA-256 of every file). Columns that identify a
    person or device (names, IP addresses, user agents, platform strings) are left out. Each table is read at one
    Delta version (in the manifest), under the pipeline's run lock: refused (exit 75) while a pipeline run holds
    it."""
    from spotify_analytics.dataset.codebook import DocsError
    from spotify_analytics.dataset.export import DEFAULT_SALT, ExportRefused, check_out_folder, export_dataset
    from spotify_analytics.pipeline.lock import PipelineBusy, pipeline_lock
    from spotify_analytics.pipeline.run import EXIT_BUSY, lock_path

    out = out.expanduser().resolve()
    try:
        check_out_folder(out, overwrite)
    except ExportRefused as exc:
        raise fail(str(exc)) from None
    spark, settings = lakehouse_or_exit()
    try:
        with pipeline_lock(lock_path(settings), "export-dataset"):
            manifest = export_dataset(spark, settings, out, overwrite, lambda line: typer.echo(f"  {line}"))
    except PipelineBusy as exc:
        raise fail(f"{exc} Nothing was exported; export when the run has ended.", EXIT_BUSY) from None
    except (ExportRefused, DocsError) as exc:
        raise fail(str(exc)) from None
    if settings.user_id_salt == DEFAULT_SALT:
        typer.echo(
            "warning: USER_ID_SALT is the default, so anyone who knows a participant's listener name can compute "
            "their pseudonym; set a secret USER_ID_SALT before enrolling a study's participants.",
            err=True,
        )
    rows = sum(table["rows"] for table in manifest["tables"])
    typer.echo(
        f"export-dataset: {len(manifest['tables'])} tables ({rows:,} rows, {len(manifest['participants'])} "
        f"participants) in {out}: Parquet and CSV per table, codebook.md, codebook.csv, manifest.json."
    )
