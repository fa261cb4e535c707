"""dbt's Bronze sources declare the columns of ingest/bronze/schemas.py (staging reads an empty relation
built from them until the ingester creates a table), so the two must not drift apart."""

from pathlib import Path

import pytest
import yaml

from ingest.bronze.schemas import BRONZE_TABLES, PARTITIONS

REPO = Path(__file__).resolve().parents[2]
SOURCE_FILES = [
    REPO / "models/staging/spotify/_spotify__sources.yml",
    REPO / "models/staging/synthetic/_synthetic__sources.yml",
]


def declared_tables() -> dict[str, list[tuple[str, str]]]:
    tables = {}
    for path in SOURCE_FILES:
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                tables[table["name"]] = [(column["name"], column["data_type"]) for column in table["columns"]]
    return tables


def contract_columns(table: str) -> list[tuple[str, str]]:
    pairs = []
    for field in BRONZE_TABLES[table].split(", "):
        name, data_type = field.split(" ", 1)
        pairs.append((name, data_type))
    generated = [(PARTITIONS[table].column, "date")] if table in PARTITIONS else []
    return [*pairs, ("loaded_at", "timestamp"), *generated]  # the ingester's MERGE adds loaded_at


@pytest.mark.parametrize("table", ["listening_history_bronze", "podcast_history_bronze", "audiobook_history_bronze",
                                   "my_tracks_features_bronze", "my_tracks_features_bronze_synthetic"])  # fmt: skip
def test_source_columns_match_the_bronze_contract(table: str) -> None:
    assert declared_tables()[table] == contract_columns(table)
