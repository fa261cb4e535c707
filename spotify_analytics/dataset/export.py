"""``export-dataset``: Silver and Gold as files a study team opens with pandas, R or DuckDB without options.

Every table of the ``silver`` and ``gold`` schemas is written twice, ``<layer>/<table>.parquet`` and
``<layer>/<table>.csv`` (UTF-8, a header row, empty cells for nulls, timestamps in ISO 8601), without the columns
that identify a person or device directly (``identifiers``). A timestamp of local wall-clock time (a column
ending in ``_local``) is written without a zone; every other timestamp is UTC. Beside them:

- ``codebook.csv`` and ``codebook.md``: every column of every file with its type, unit and description, each
  table's description, lineage and feature provenance, from the dbt docs (``codebook``);
- ``manifest.json``: the code version and the pipeline run that built the data, the settings that shape it, the
  participants included (pseudonyms only), each table's rows and the columns left out, and each file's size and
  SHA-256.

Each table is read at one Delta version, its latest when the export reaches it (recorded in the manifest), so
the chunks of a table are one snapshot even if a command run by hand commits meanwhile; and the export holds the
pipeline's run lock (refused while a run holds it; a scheduled run that starts meanwhile exits 75 and runs next
time), so no pipeline run changes the tables between the first and the last. The files are written into a folder
beside ``--out`` and moved into place at the end, so an export that fails leaves no half dataset. A folder that is
not empty is refused unless ``--overwrite``, and even then only when it holds an earlier export (its
``manifest.json`` says so) or nothing.
"""

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ingest.config import Settings
from spotify_analytics.dataset.codebook import (
    CodebookRow,
    ModelDoc,
    codebook_csv,
    codebook_markdown,
    codebook_rows,
    model_docs,
    parse_manifest,
)
from spotify_analytics.dataset.identifiers import is_direct_identifier
from spotify_analytics.delta.tables import latest_version
from spotify_analytics.evaluation.dbt_vars import project_vars
from spotify_analytics.pipeline.run_log import RUNS_TABLE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

LAYERS = ("silver", "gold")
FORMAT = "spotify-analytics dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DEFAULT_SALT = "spotify-analytics"
Progress = Callable[[str], None]


class ExportRefused(RuntimeError):
    """The output folder cannot be written; the message says why and what to do."""


@dataclass(frozen=True)
class ExportedTable:
    table: str
    delta_version: int
    rows: int
    files: list[dict]
    left_out: list[str]
    provenance: str


def check_out_folder(out: Path, overwrite: bool) -> None:
    """Refuse a folder that is not empty unless ``overwrite``, and one that holds anything but an export."""
    if out.exists() and not out.is_dir():
        raise ExportRefused(f"{out} is a file, not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise ExportRefused(f"{out} is not empty: choose an empty or new folder, or pass --overwrite to replace it")
    try:
        earlier = json.loads((out / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        earlier = False
    if not earlier:
        raise ExportRefused(
            f"{out} holds files that are not a dataset export (no {MANIFEST} of one): --overwrite replaces only "
            "an earlier export; choose another folder"
        )


def exported_tables(spark: "SparkSession") -> list[str]:
    names = []
    for layer in LAYERS:
        if spark.catalog.databaseExists(layer):
            names += [
                f"{layer}.{table.name}"
                for table in spark.catalog.listTables(layer)
                if (table.tableType or "").upper() in ("MANAGED", "EXTERNAL") and not table.isTemporary
            ]
    return sorted(names)


def as_file_table(table: pa.Table) -> pa.Table:
    """Local wall-clock timestamps (``*_local``) without a zone; everything else as read."""
    for index, field_ in enumerate(table.schema):
        if pa.types.is_timestamp(field_.type) and field_.type.tz and field_.name.endswith("_local"):
            naive = table.column(index).cast(pa.timestamp("us"))
            table = table.set_column(index, pa.field(field_.name, pa.timestamp("us")), naive)
    return table


def as_csv_table(table: pa.Table) -> pa.Table:
    """Nested values (lists, maps, structs) as JSON text: a CSV cell holds text."""
    for index, field_ in enumerate(table.schema):
        if pa.types.is_nested(field_.type):
            values = pa.array([None if value is None else json.dumps(value, default=str) for value in
                               table.column(index).to_pylist()], pa.string())  # fmt: skip
            table = table.set_column(index, pa.field(field_.name, pa.string()), values)
    return table


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(folder: Path, path: Path, kind: str) -> dict:
    return {"path": str(path.relative_to(folder)), "format": kind, "bytes": path.stat().st_size, "sha256": sha256(path)}


PROVENANCE_COLUMNS = ("feature_source", "catalog_source", "candidate_source")


def provenance_column(names: list[str]) -> str | None:
    """The column a table's feature provenance is counted by (the first of PROVENANCE_COLUMNS it has)."""
    return next((column for column in PROVENANCE_COLUMNS if column in names), None)


def feature_provenance(names: list[str], counts: Counter[str], variables: dict) -> str:
    """Where a table's audio features come from: ``counts`` are the rows written by the value of its
    ``provenance_column`` (null as 'none')."""
    priority = " > ".join(variables.get("feature_source_priority", []))
    column = provenance_column(names)
    if column:
        shown = ", ".join(f"{value}: {count:,}" for value, count in counts.most_common()) or "no rows"
        rule = f"; each track takes the features of the first source that has it ({priority})" if (
            column == "feature_source") else ""  # fmt: skip
        return f"rows by `{column}`: {shown}{rule}."
    shares = sorted(name for name in names if name.startswith("share_features_") or name == "share_no_features")
    if shares:
        return (
            f"per row, the share of its plays whose features came from each source: {', '.join(shares)} "
            f"(sources in priority order: {priority})."
        )
    return "no audio features of its own, or features summarised from Silver's plays (see its feature_source)."


def chunks(frame: "DataFrame", chunk_rows: int) -> Iterator[pa.Table]:
    """The frame's rows as Arrow tables of about ``chunk_rows`` rows each (``EXPORT_CHUNK_ROWS``; one empty table
    when it has none), so neither the server's driver nor this process holds a Silver-sized table at once: each
    chunk a filter on a hash of the row's scalar columns, so every row is in exactly one."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, MapType, StructType

    rows = frame.count()
    parts = max(1, -(-rows // chunk_rows))
    if parts == 1:
        yield frame.toArrow()
        return
    nested = MapType | ArrayType | StructType
    hashed = [F.col(field_.name) for field_ in frame.schema.fields if not isinstance(field_.dataType, nested)]
    part = F.pmod(F.xxhash64(*hashed), F.lit(parts))
    for number in range(parts):
        yield frame.where(part == number).toArrow()


def code_version(settings: Settings) -> dict[str, str]:
    version = {"package": importlib.metadata.version("spotify-analytics-pipeline")}
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=settings.project_dir,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return version
    if described.returncode == 0:
        version["git"] = described.stdout.strip()
    return version


def pipeline_runs(spark: "SparkSession") -> dict:
    """The latest pipeline run and the latest that succeeded (``ops.pipeline_runs``)."""
    if not spark.catalog.tableExists(RUNS_TABLE):
        return {"note": f"{RUNS_TABLE} does not exist: no pipeline run is recorded"}
    rows = spark.sql(
        f"select run_id, max(run_started_at) as started_at, max(run_status) as status from {RUNS_TABLE} "
        "group by run_id order by started_at desc"
    ).collect()
    runs = [{"run_id": row["run_id"], "started_at": row["started_at"].isoformat(), "status": row["status"]}
            for row in rows]  # fmt: skip
    succeeded = next((run for run in runs if run["status"] == "succeeded"), None)
    return {"latest": runs[0] if runs else None, "latest_succeeded": succeeded}


def export_dataset(spark: "SparkSession", settings: Settings, out: Path, overwrite: bool, progress: Progress) -> dict:
    """Write the dataset into ``out``; returns its manifest."""
    check_out_folder(out, overwrite)
    docs = model_docs(parse_manifest(settings))
    variables = project_vars(settings)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        manifest = _write(spark, settings, staging, docs, variables, progress)
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


@dataclass
class WrittenTable:
    schema: pa.Schema  # as written to Parquet
    rows: int
    participants: set[str]
    provenance: Counter[str]


def _write_table(frame: "DataFrame", parquet: Path, csv_file: Path, chunk_rows: int) -> WrittenTable:
    """One table to a Parquet and a CSV file, chunk by chunk (``chunks``)."""
    written: WrittenTable | None = None
    parquet_writer: pq.ParquetWriter | None = None
    csv_writer: pa_csv.CSVWriter | None = None
    try:
        for chunk in chunks(frame, chunk_rows):
            table = as_file_table(chunk)
            text = as_csv_table(table)
            if written is None:
                written = WrittenTable(table.schema, 0, set(), Counter())
                parquet_writer = pq.ParquetWriter(parquet, table.schema)
                csv_writer = pa_csv.CSVWriter(csv_file, text.schema)
            assert parquet_writer is not None and csv_writer is not None
            parquet_writer.write_table(table.cast(written.schema))
            csv_writer.write_table(text)
            written.rows += table.num_rows
            if "user_id" in table.column_names:
                written.participants |= {value for value in table.column("user_id").unique().to_pylist() if value}
            column = provenance_column(table.column_names)
            if column:
                counts = pc.value_counts(table.column(column).fill_null("none")).to_pylist()
                written.provenance.update({item["values"]: item["counts"] for item in counts})
    finally:
        for writer in (parquet_writer, csv_writer):
            if writer is not None:
                writer.close()
    assert written is not None  # chunks yields at least one table
    return written


def _write(
    spark: "SparkSession",
    settings: Settings,
    folder: Path,
    docs: dict[str, ModelDoc],
    variables: dict,
    progress: Progress,
) -> dict:
    exported: list[ExportedTable] = []
    codebook: list[CodebookRow] = []
    participants: set[str] = set()
    for name in exported_tables(spark):
        version = latest_version(spark, name)
        frame = spark.sql(f"select * from {name} version as of {version}")
        left_out = [column for column in frame.columns if is_direct_identifier(column)]
        layer, short = name.split(".", 1)
        (folder / layer).mkdir(exist_ok=True)
        parquet, csv_file = folder / layer / f"{short}.parquet", folder / layer / f"{short}.csv"
        written = _write_table(frame.drop(*left_out), parquet, csv_file, settings.export_chunk_rows)
        participants |= written.participants
        provenance = feature_provenance(written.schema.names, written.provenance, variables)
        files = [file_entry(folder, parquet, "parquet"), file_entry(folder, csv_file, "csv")]
        exported.append(ExportedTable(name, version, written.rows, files, left_out, provenance))
        codebook += codebook_rows(name, written.schema, docs.get(name))
        dropped = f", left out {', '.join(left_out)}" if left_out else ""
        progress(f"{name}: {written.rows:,} rows, {len(written.schema)} columns{dropped}")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(settings),
        "pipeline_runs": pipeline_runs(spark),
        "settings": {
            "timezone": settings.timezone,
            "feature_source_priority": variables.get("feature_source_priority"),
            "allow_synthetic": settings.allow_synthetic,
            "pseudonym_salt": "default (public)" if settings.user_id_salt == DEFAULT_SALT else "set (USER_ID_SALT)",
        },
        "participants": sorted(participants),
        "tables": [
            {
                "table": item.table,
                "delta_version": item.delta_version,
                "rows": item.rows,
                "columns_left_out": item.left_out,
                "feature_provenance": item.provenance,
                "files": item.files,
            }
            for item in exported
        ],
    }
    header = [
        f"Exported {manifest['exported_at']} by spotify-analytics {manifest['code_version']['package']} "
        f"({manifest['code_version'].get('git', 'no git checkout')}); {len(participants)} participant(s), by "
        "pseudonym. Column docs, units and lineage come from the project's dbt docs; types are the files' own.",
        "Timestamps are UTC unless the type says local wall-clock time. In the CSV files an empty cell is null.",
    ]
    tables = [
        (item.table, " and ".join(f"`{entry['path']}`" for entry in item.files), docs.get(item.table), item.provenance)
        for item in exported
    ]
    (folder / "codebook.csv").write_bytes(codebook_csv(codebook))
    (folder / "codebook.md").write_bytes(codebook_markdown(tables, codebook, header))
    manifest["codebook"] = [file_entry(folder, folder / name, name.rsplit(".", 1)[1]) for name in
                            ("codebook.csv", "codebook.md")]  # fmt: skip
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _move_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` (empty, absent, or an earlier export checked by ``check_out_folder``) with ``staging``."""
    old = out.parent / f".{out.name}.replaced-{os.getpid()}"
    if out.is_dir():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
