"""The demo listener: a generated year of listening, landed as an extended-export-shaped file when the lakehouse
has no plays and no Spotify credentials are set, so a first ``make run`` ends with a report in which every section
has its chart. Generated, and labelled so everywhere it shows: its user id is ``demo`` (real listeners' ids are
salted hashes, ``u_…``), its file is ``GENERATED_demo_listener.json`` in ``landing/export/demo/``, and the report
puts a banner on its page and on the overview.

``remove_demo`` takes it out of every table that holds listeners, its landing file and the report.
"""

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from ingest.bronze.kaggle_tracks import choose_catalog
from ingest.config import Settings
from ingest.demo import DEMO_USER
from ingest.demo.generate import WorkloadSpec, listeners, universe_for
from ingest.demo.writers import extended_records
from ingest.export.files import ExportEntry
from ingest.export.importer import export_landing_dir, exports_landing_dir, import_entry
from ingest.landing.store import landed_files, write_json
from ingest.spotify.client import has_credentials
from ingest.spotify.recently_played import landed_pages

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

DEMO_FILE_NAME = "GENERATED_demo_listener.json"
DEMO_PLAYS = 12_000  # about a year: sessions, skips, repeats, daily and weekly rhythm
DEMO_SEED = 20261203
# Tables holding the demo listener's rows, by user_id; track-level tables (the catalog, track features) hold none.
LISTENER_TABLES = (
    "bronze.listening_history_bronze",
    "bronze.podcast_history_bronze",
    "bronze.audiobook_history_bronze",
    "bronze.participant_timezones",
    "silver.listening_with_features",
    "gold.wellbeing_indicators",
    "gold.temporal_patterns",
    "gold.listening_rhythms",
    "gold.listening_rhythms_diurnal",
    "gold.listening_rhythm_changes",
    "gold.year_in_review",
    "gold.mood_session_clusters",
    "gold.track_recommendations",
    "quality.validation_results",
)
QUARANTINE_TABLE = "bronze.listening_history_quarantine"


@dataclass(frozen=True)
class DemoRemoval:
    rows: dict[str, int]  # table -> rows deleted
    landing_files: int


def demo_landing_dir(settings: Settings) -> Path:
    return export_landing_dir(settings, DEMO_USER)


def removed_marker(settings: Settings) -> Path:
    """Written by ``remove_demo``: a removed demo is not landed again by the pipeline (``demo add`` brings it back)."""
    return settings.ingest_state_path / "demo_removed.json"


def demo_present(settings: Settings) -> bool:
    return bool(landed_files(demo_landing_dir(settings)))


def real_plays_landed(settings: Settings) -> bool:
    """Whether any listener other than the demo has landed plays (API polls or exports)."""
    exports = [
        p for p in landed_files(exports_landing_dir(settings)) if not p.is_relative_to(demo_landing_dir(settings))
    ]
    return bool(exports or landed_pages(settings))


def why_no_demo(settings: Settings, spark: "SparkSession | None" = None) -> str | None:
    """Why the demo listener is not wanted (None: it is): credentials, plays, or the demo already there."""
    if has_credentials(settings):
        return "Spotify credentials are set (CLIENT_ID, CLIENT_SECRET)"
    if real_plays_landed(settings):
        return "listening history has landed"
    if demo_present(settings):
        return "the demo listener is already there"
    if removed_marker(settings).exists():
        return "the demo listener was removed; `python -m spotify_analytics demo add` brings it back"
    table = "bronze.listening_history_bronze"
    if spark is not None and spark.catalog.tableExists(table) and spark.table(table).limit(1).count():
        return f"{table} holds plays"
    return None


def land_demo(settings: Settings) -> tuple[Path, int]:
    """Generate the demo listener's year of plays over the current catalog and land it as an export of ``demo``."""
    catalog = choose_catalog(settings).path
    spec = WorkloadSpec(1, DEMO_PLAYS, DEMO_SEED, catalog, timezone=settings.timezone)
    universe = universe_for(spec)
    raw = orjson.dumps(extended_records(universe, next(listeners(spec, universe))))
    outcome = import_entry(settings, ExportEntry(DEMO_FILE_NAME, DEMO_FILE_NAME, lambda: raw), DEMO_USER)
    removed_marker(settings).unlink(missing_ok=True)
    log.info("Demo listener %r: %s (%d records)", DEMO_USER, outcome.status, outcome.records)
    return demo_landing_dir(settings), outcome.records


def remove_demo(spark: "SparkSession", settings: Settings) -> DemoRemoval:
    """Delete the demo listener's rows from every listener table, its quarantined records, its landing file and
    its entry in the list of loaded files. The report and the mood states are rewritten by the caller."""
    from ingest.bronze.listening_history import forget_loaded

    rows: dict[str, int] = {}
    for table in (*LISTENER_TABLES, QUARANTINE_TABLE):
        if not spark.catalog.tableExists(table):
            continue
        where = "landing_file like 'export/demo/%'" if table == QUARANTINE_TABLE else f"user_id = '{DEMO_USER}'"
        rows[table] = spark.table(table).where(where).count()
        if rows[table]:
            spark.sql(f"delete from {table} where {where}")
    landing = landed_files(demo_landing_dir(settings))
    forget_loaded(settings, [str(path.relative_to(settings.landing_path)) for path in landing])
    shutil.rmtree(demo_landing_dir(settings), ignore_errors=True)
    write_json(removed_marker(settings), {"removed_at": datetime.now(UTC).isoformat()})
    return DemoRemoval(rows, len(landing))
