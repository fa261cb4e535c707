"""The thinnest end-to-end slice: Kaggle CSV -> Bronze Delta -> dbt SQL model -> dbt Python model."""

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import Lakehouse

SAMPLE_ROWS = 10_000
SAMPLE_DISTINCT_TRACKS = 9_749


@pytest.fixture(scope="module")
def loaded(lakehouse: Lakehouse) -> Lakehouse:
    result = lakehouse.cli("load", "catalog")
    assert result.returncode == 0, result.stderr
    assert "Kaggle catalog" in result.stdout
    return lakehouse


@pytest.fixture(scope="module")
def built(loaded: Lakehouse) -> Lakehouse:
    build = loaded.dbt("build", "--select", "+kaggle_track_sound_clusters")  # the slice, not the whole project
    assert build.returncode == 0, build.stdout[-5000:]
    return loaded


def test_bronze_holds_every_csv_row_as_delta(loaded: Lakehouse, kaggle_sample: Path) -> None:
    expected = pd.read_csv(kaggle_sample)
    [row] = loaded.sql("select count(*) as n, count(distinct track_id) as tracks from bronze.kaggle_tracks_bronze")
    assert (row.n, row.tracks) == (len(expected), expected["track_id"].nunique())
    assert (row.n, row.tracks) == (SAMPLE_ROWS, SAMPLE_DISTINCT_TRACKS)

    table_dir = loaded.settings.data_path / "bronze" / "kaggle_tracks_bronze"
    assert (table_dir / "_delta_log").is_dir()
    [detail] = loaded.sql("describe detail bronze.kaggle_tracks_bronze")
    assert detail.format == "delta"
    assert detail.location.rstrip("/").endswith(str(table_dir))


def test_bronze_values_match_the_csv(loaded: Lakehouse, kaggle_sample: Path) -> None:
    expected = pd.read_csv(kaggle_sample).rename(columns={"Unnamed: 0": "catalog_row_id"})
    first = expected.sort_values("catalog_row_id").iloc[0]
    [row] = loaded.sql("select * from bronze.kaggle_tracks_bronze order by catalog_row_id limit 1")
    assert row.catalog_row_id == first.catalog_row_id
    assert row.track_id == first.track_id
    assert row.valence == pytest.approx(first.valence)
    assert row.tempo == pytest.approx(first.tempo)
    assert row.explicit == bool(first.explicit)
    assert row.catalog_source == "kaggle"


def test_loading_again_changes_nothing(loaded: Lakehouse) -> None:
    [before] = loaded.sql("describe history bronze.kaggle_tracks_bronze limit 1")

    again = loaded.cli("load", "catalog")

    assert again.returncode == 0, again.stderr
    assert "unchanged since its last load: bronze.kaggle_tracks_bronze keeps 10000 rows" in again.stdout
    [unchanged] = loaded.sql("describe history bronze.kaggle_tracks_bronze limit 1")
    assert unchanged.version == before.version  # the file was not even read

    # Forget the last load: merging the same file again still changes no row.
    (loaded.settings.ingest_state_path / "catalog_loaded.json").unlink()
    remerged = loaded.cli("load", "catalog")

    assert remerged.returncode == 0, remerged.stderr
    assert "0 inserted, 0 updated, 0 deleted, 10000 rows" in remerged.stdout
    [count] = loaded.sql("select count(*) as n from bronze.kaggle_tracks_bronze")
    assert count.n == SAMPLE_ROWS
    [after] = loaded.sql("describe history bronze.kaggle_tracks_bronze limit 1")
    assert after.operation == "MERGE"
    assert after.version == before.version + 1
    assert after.operationMetrics["numTargetRowsInserted"] == "0"
    assert after.operationMetrics["numTargetRowsUpdated"] == "0"


def test_dbt_build_creates_staging_and_python_model(built: Lakehouse) -> None:
    [staging] = built.sql("select count(*) as n, count(distinct track_id) as d from staging.stg_kaggle__tracks")
    assert staging.n == staging.d == SAMPLE_DISTINCT_TRACKS

    clusters = built.sql("select * from gold.kaggle_track_sound_clusters")
    assert len(clusters) == SAMPLE_DISTINCT_TRACKS
    assert len({row.track_id for row in clusters}) == SAMPLE_DISTINCT_TRACKS
    assert set(clusters[0].asDict()) == {
        "track_id", "cluster_id", "distance_to_centroid", "valence", "energy", "catalog_source", "fitted_on",
        "built_at",
    }  # fmt: skip
    assert {row.cluster_id for row in clusters} == set(range(8))
    assert (built.settings.data_path / "gold" / "kaggle_track_sound_clusters" / "_delta_log").is_dir()


def test_python_model_is_reproducible_and_refitted_only_when_its_inputs_change(built: Lakehouse) -> None:
    query = "select track_id, cluster_id, fitted_on, built_at from gold.kaggle_track_sound_clusters"
    before = {row.track_id: row for row in built.sql(query)}
    history = "describe history gold.kaggle_track_sound_clusters"
    [version_before] = built.sql(f"{history} limit 1")

    kept = built.dbt("build", "--select", "kaggle_track_sound_clusters")

    assert kept.returncode == 0, kept.stdout[-3000:]
    assert {row.track_id: row for row in built.sql(query)} == before  # same catalog, same settings: not refitted
    [version_kept] = built.sql(f"{history} limit 1")
    assert version_kept.version == version_before.version  # kept: nothing written
    [fitted_on] = {row.fitted_on for row in before.values()}
    assert fitted_on.startswith(f"catalog {SAMPLE_DISTINCT_TRACKS} rows, content ")
    assert fitted_on.endswith("; k=8, seed=42")

    other_k = built.dbt("run", "--select", "kaggle_track_sound_clusters", "--vars", "{catalog_cluster_count: 5}")

    assert other_k.returncode == 0, other_k.stdout[-3000:]
    refitted = built.sql(query)
    assert {row.cluster_id for row in refitted} == set(range(5))
    [refit_write] = built.sql(f"{history} limit 1")
    assert refit_write.version == version_before.version + 1
    assert refit_write.operation == "WRITE"  # every row replaced (no predicate), in one commit
    assert refit_write.operationParameters["mode"] == "Overwrite" and "predicate" not in refit_write.operationParameters
    assert int(refit_write.operationMetrics["numOutputRows"]) == len(refitted) == len(before)
    assert {row.fitted_on for row in refitted} == {fitted_on.replace("k=8", "k=5")}

    refresh = built.dbt("build", "--select", "kaggle_track_sound_clusters", "--full-refresh")

    assert refresh.returncode == 0, refresh.stdout[-3000:]
    after = {row.track_id: row for row in built.sql(query)}
    assert {t: r.cluster_id for t, r in after.items()} == {t: r.cluster_id for t, r in before.items()}
    assert all(row.built_at > before[track].built_at for track, row in after.items())


def test_dbt_docs_generate(built: Lakehouse) -> None:
    result = built.dbt("docs", "generate")

    assert result.returncode == 0, result.stdout[-3000:]
    catalog = json.loads((Path(built.env["DBT_TARGET_PATH"]) / "catalog.json").read_text())
    assert "model.spotify_analytics.kaggle_track_sound_clusters" in catalog["nodes"]
    assert "source.spotify_analytics.kaggle.kaggle_tracks_bronze" in catalog["sources"]
