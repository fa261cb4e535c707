"""The main job: server up -> load Bronze -> dbt build -> dbt docs generate -> where to look."""

import logging
import time

from ingest.bronze.kaggle_tracks import load_catalog
from ingest.catalog.kaggle_csv import CatalogFormatError
from ingest.config import Settings
from ingest.dbt_runner import run_dbt
from ingest.lakehouse import server
from ingest.lakehouse.client import connect
from ingest.lakehouse.server import ServerError

log = logging.getLogger(__name__)


def run_pipeline(settings: Settings) -> int:
    """Run every step in order; stop at the first failure. Returns the process exit code."""
    started = time.monotonic()
    try:
        pid, started_now = server.start(settings)
        log.info("Lakehouse server %s (pid %s)", "started" if started_now else "already running", pid)
        catalog = load_catalog(connect(settings), settings)
    except (ServerError, CatalogFormatError) as exc:
        log.error("%s", exc)
        return 1
    merge = catalog.merge
    log.info(
        "bronze.kaggle_tracks_bronze: %d rows (%d inserted, %d updated, %d deleted) from %s%s",
        merge.total, merge.inserted, merge.updated, merge.deleted, catalog.choice.path,
        " [GENERATED demo catalog]" if catalog.choice.catalog_source == "generated" else "",
    )  # fmt: skip
    for args in (("build",), ("docs", "generate")):
        result = run_dbt(settings, *args)
        if result.returncode != 0:
            log.error("dbt %s failed with exit code %d", " ".join(args), result.returncode)
            return result.returncode
        log.info("dbt %s finished in %.1f s", " ".join(args), result.seconds)
    print(results_summary(settings, catalog.choice.catalog_source, time.monotonic() - started))
    return 0


def results_summary(settings: Settings, catalog_source: str, seconds: float) -> str:
    demo = (
        "\nNOTE: the catalog is GENERATED demo data, not real Spotify features. Put the Kaggle "
        f"dataset.csv at {settings.path(settings.kaggle_csv)} and run again for real data.\n"
        if catalog_source == "generated"
        else ""
    )
    return f"""
Pipeline finished in {seconds:.0f} s.{demo}
Results (Delta tables under {settings.data_path}):
  bronze.kaggle_tracks_bronze        {settings.data_path / "bronze" / "kaggle_tracks_bronze"}
  staging.stg_kaggle__tracks         (view)
  gold.kaggle_track_sound_clusters   {settings.data_path / "gold" / "kaggle_track_sound_clusters"}
Look at them:
  .venv/bin/dbt show --select kaggle_track_sound_clusters --limit 10
  .venv/bin/dbt show --inline "select cluster_id, count(*) as tracks from gold.kaggle_track_sound_clusters group by 1"
  .venv/bin/dbt docs serve --port 8080      (lineage and column docs)
The lakehouse server keeps running; stop it with: .venv/bin/python -m ingest server stop
"""
