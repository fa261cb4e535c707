"""Catalog CSV parsing and the generated demo catalog (no server needed)."""

import csv
import itertools
from pathlib import Path

import pytest

from ingest.kaggle.demo import generate_demo_catalog, write_demo_catalog
from ingest.kaggle.kaggle_csv import CatalogFormatError, read_catalog


def test_real_sample_parses_completely(kaggle_sample: Path) -> None:
    parsed = read_catalog(kaggle_sample)
    assert len(parsed.rows) == 10_000
    assert parsed.rejected.empty
    assert parsed.rows["track_id"].nunique() == 9_749


def test_original_header_with_empty_index_name(kaggle_sample: Path) -> None:
    head = kaggle_sample.with_name("dataset_head50.csv")
    parsed = read_catalog(head)
    assert len(parsed.rows) == 50
    assert parsed.rows["catalog_row_id"].tolist() == list(range(50))


def test_bad_rows_are_rejected_with_reasons(kaggle_sample: Path, tmp_path: Path) -> None:
    with kaggle_sample.open(newline="") as source:
        header, good, text_tempo, bad_valence = itertools.islice(csv.reader(source), 4)
    text_tempo[header.index("tempo")] = "fast"
    bad_valence[header.index("valence")] = "1.7"
    broken = tmp_path / "broken.csv"
    with broken.open("w", newline="") as target:
        csv.writer(target).writerows([header, good, text_tempo, bad_valence])

    parsed = read_catalog(broken)

    assert parsed.rows["track_id"].tolist() == [good[header.index("track_id")]]
    assert parsed.rejected["reason"].tolist() == ["tempo is not a number: 'fast'", "valence outside [0.0, 1.0]"]
    assert parsed.rejected["line_number"].tolist() == [3, 4]
    assert '"tempo":"fast"' in parsed.rejected["raw_record"].iloc[0]


def test_missing_columns_name_them(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CatalogFormatError, match="missing columns catalog_row_id, track_id"):
        read_catalog(path)


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b",track_id\n0,caf\xe9\n")
    with pytest.raises(CatalogFormatError, match="not UTF-8"):
        read_catalog(path)


def test_demo_catalog_is_deterministic_and_labelled(tmp_path: Path) -> None:
    first = write_demo_catalog(tmp_path / "a").read_bytes()
    second = write_demo_catalog(tmp_path / "b").read_bytes()
    assert first == second
    parsed = read_catalog(tmp_path / "a" / "GENERATED_demo_catalog.csv", "generated")
    assert parsed.rejected.empty
    assert len(parsed.rows) == 2000
    assert set(parsed.rows["catalog_source"]) == {"generated"}
    assert parsed.rows["artists"].str.startswith("Demo Artist").all()
    frame = generate_demo_catalog()
    for feature in ("danceability", "energy", "valence", "acousticness"):
        assert frame[feature].between(0, 1).all()
        assert frame[feature].std() > 0.1  # spread like real features, not a constant
