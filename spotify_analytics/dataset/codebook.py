"""The codebook of a dataset, from the dbt docs so it never drifts from them: each table's description and
lineage, and each column's type (of the file written), unit and description.

The docs are read from the manifest ``dbt parse`` writes (into a folder of its own; no server needed), so they
are the docs of the code that exports. A column's unit is its ``meta.unit`` in the model's YAML, or for an audio
feature the ``unit`` of ``vars.audio_features`` in dbt_project.yml.
"""

import csv
import io
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ingest.audio_features import audio_features
from ingest.config import Settings
from spotify_analytics.pipeline.dbt import dbt_env, dbt_executable

PROJECT = "spotify_analytics"
CODEBOOK_COLUMNS = ("table", "column", "type", "unit", "description")


class DocsError(RuntimeError):
    """dbt could not parse the project; the message says why."""


@dataclass(frozen=True)
class ColumnDoc:
    description: str
    unit: str


@dataclass(frozen=True)
class ModelDoc:
    description: str
    materialized: str
    language: str
    reads: tuple[str, ...]
    columns: dict[str, ColumnDoc] = field(default_factory=dict)


def parse_manifest(settings: Settings) -> dict:
    """dbt's manifest of the project as it is now (``dbt parse`` into a temporary target folder)."""
    with tempfile.TemporaryDirectory(prefix="dbt-parse-") as target:
        done = subprocess.run(
            [dbt_executable(), "parse", "--target-path", target, "--no-partial-parse", "--quiet"],
            cwd=settings.project_dir,
            env=dbt_env(settings),
            capture_output=True,
            text=True,
            check=False,
        )
        manifest = Path(target) / "manifest.json"
        if done.returncode != 0 or not manifest.is_file():
            raise DocsError(f"dbt parse failed (exit {done.returncode}): {(done.stdout + done.stderr)[-1500:]}")
        return json.loads(manifest.read_text())


def model_docs(manifest: dict) -> dict[str, ModelDoc]:
    """Every model's docs, by ``<schema>.<name>`` (the table it builds)."""
    feature_units = {feature.name: feature.unit for feature in audio_features()}
    docs = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["package_name"] != PROJECT:
            continue
        columns = {
            name: ColumnDoc(
                " ".join(column.get("description", "").split()),
                str({**column.get("meta", {}), **column.get("config", {}).get("meta", {})}.get("unit") or "")
                or feature_units.get(name, ""),
            )
            for name, column in node["columns"].items()
        }
        reads = tuple(sorted(node_name(manifest, parent) for parent in node["depends_on"]["nodes"]))
        docs[f"{node['schema']}.{node['name']}"] = ModelDoc(
            node.get("description", "").strip(),
            node["config"].get("materialized", ""),
            node.get("language", "sql"),
            reads,
            columns,
        )
    return docs


def node_name(manifest: dict, unique_id: str) -> str:
    node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
    if unique_id.startswith("source."):
        return f"source {node.get('source_name', '?')}.{node.get('name', unique_id)}"
    return f"{node.get('resource_type', 'node')} {node.get('schema', '?')}.{node.get('name', unique_id)}"


def type_name(data_type: pa.DataType) -> str:
    """A column's type in words, as the files hold it."""
    if pa.types.is_timestamp(data_type):
        return "timestamp (UTC)" if data_type.tz else "timestamp (local wall-clock time, no zone)"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type):
        return "integer"
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "number"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "text"
    return f"{data_type} (JSON text in the CSV)"


@dataclass(frozen=True)
class CodebookRow:
    table: str
    column: str
    type: str
    unit: str
    description: str


def codebook_rows(table: str, schema: pa.Schema, doc: ModelDoc | None) -> list[CodebookRow]:
    columns = doc.columns if doc else {}
    return [
        CodebookRow(
            table,
            field_.name,
            type_name(field_.type),
            columns[field_.name].unit if field_.name in columns else "",
            columns[field_.name].description if field_.name in columns else "",
        )
        for field_ in schema
    ]


def codebook_csv(rows: list[CodebookRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CODEBOOK_COLUMNS)
    writer.writerows((row.table, row.column, row.type, row.unit, row.description) for row in rows)
    return out.getvalue().encode()


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def codebook_markdown(
    tables: list[tuple[str, str, ModelDoc | None, str]], rows: list[CodebookRow], header: list[str]
) -> bytes:
    """``tables``: (table, files, docs, feature provenance)."""
    lines = ["# Codebook", "", *header, ""]
    for table, files, doc, provenance in tables:
        lines += [f"## `{table}`", "", f"Files: {files}", ""]
        if doc:
            lines += [doc.description, "", f"Built by dbt ({doc.language} model, {doc.materialized}) from: "]
            lines[-1] += ", ".join(f"`{parent}`" for parent in doc.reads) + "."
            lines.append("")
        lines += [f"Feature provenance: {provenance}", ""]
        lines += ["| column | type | unit | description |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{row.column}` | {_cell(row.type)} | {_cell(row.unit)} | {_cell(row.description)} |"
            for row in rows
            if row.table == table
        ]
        lines.append("")
    return "\n".join(lines).encode()
