"""dbt's Bronze sources are generated from the Bronze declarations (ingest/bronze/schemas.py): staging reads an
empty relation built from the sources' columns until the ingester creates a table, so the two must not drift
apart. A committed sources file that differs from the generation fails; ``python -m ingest.bronze.dbt_sources``
(or ``UPDATE_DOCS=1`` on this test) writes it anew."""

import os
from pathlib import Path

import pytest
import yaml

from ingest.bronze.dbt_sources import COMMAND, generated
from ingest.bronze.schemas import BRONZE_TABLES

REPO = Path(__file__).resolve().parents[2]
GENERATED = generated(REPO)


def declared_tables() -> dict[str, list[tuple[str, str]]]:
    tables = {}
    for path in GENERATED:
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                tables[table["name"]] = [(column["name"], column["data_type"]) for column in table["columns"]]
    return tables


def contract_columns(table: str) -> list[tuple[str, str]]:
    """The table's columns as the ingester creates it: the writers', the MERGE's stamp, the partition column."""
    return [(column.name, column.type) for column in BRONZE_TABLES[table].stored_columns]


@pytest.mark.parametrize("path", list(GENERATED), ids=lambda path: path.name)
def test_sources_file_is_generated_from_the_declarations(path: Path) -> None:
    if os.environ.get("UPDATE_DOCS") == "1":
        path.write_text(GENERATED[path], encoding="utf-8")
    committed = path.read_text(encoding="utf-8") if path.is_file() else ""
    assert committed == GENERATED[path], f"{path.relative_to(REPO)} is not what {COMMAND} generates; run it"


@pytest.mark.parametrize("table", ["listening_history_bronze", "podcast_history_bronze", "audiobook_history_bronze",
                                   "my_tracks_features_bronze", "my_tracks_features_bronze_synthetic",
                                   "kaggle_tracks_bronze"])  # fmt: skip
def test_source_columns_match_the_bronze_contract(table: str) -> None:
    assert declared_tables()[table] == contract_columns(table)
