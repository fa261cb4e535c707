"""`make run`'s job on a machine with nothing outside the repository: the generated demo catalog."""

from pathlib import Path

from conftest import Lakehouse


def test_pipeline_runs_end_to_end_on_the_demo_catalog(lakehouse: Lakehouse, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "dataset.csv"

    result = lakehouse.cli("pipeline", env={"KAGGLE_CSV": str(missing)})

    assert result.returncode == 0, result.stderr[-5000:]
    assert "GENERATED demo catalog" in result.stderr  # the log line says so
    assert "NOTE: the catalog is GENERATED demo data" in result.stdout
    assert "dbt show --select kaggle_track_sound_clusters" in result.stdout
    [bronze] = lakehouse.sql(
        "select count(*) as n, min(catalog_source) as lo, max(catalog_source) as hi from bronze.kaggle_tracks_bronze"
    )
    assert (bronze.n, bronze.lo, bronze.hi) == (2000, "generated", "generated")
    [gold] = lakehouse.sql("select count(*) as n, min(catalog_source) as src from gold.kaggle_track_sound_clusters")
    assert (gold.n, gold.src) == (2000, "generated")

    back = lakehouse.cli("load", "catalog")  # the real sample replaces the demo rows
    assert back.returncode == 0, back.stderr
    assert "2000 deleted" in back.stdout
