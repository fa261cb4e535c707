"""Load track metadata (+ real audio features when Spotify gave them) into ``bronze.my_tracks_features_bronze``.

Reads: the per-id caches written by ``ingest.spotify.metadata`` (``landing/api/metadata/{tracks,audio_features}``;
``poll`` caches the track object of every play it lands, so the cache holds every landed track). Key:
``track_id``. Incremental: only the ids with a cache file this table has not taken yet (a new track, or features
that arrived later) are read and merged; the files taken are listed in ``state/track_features_loaded.json`` with the
Delta id of the table they went into, so a table made anew (its id changes) takes every file again. MERGE inserts
new ids and updates an id only when its content changed (``row_hash`` ignores ``fetched_at``).
"""

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pandas as pd

from ingest.audio_features import bronze_names
from ingest.bronze.delta import MergeResult, ensure_bronze_database, ensure_table, merge_snapshot
from ingest.bronze.schemas import TRACK_FEATURES
from ingest.config import Settings
from ingest.landing.store import landed_files, private_dir, read_json, write_json
from ingest.spotify.metadata import AUDIO_FEATURES, TRACKS, cached_track_ids, metadata_dir

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

COLUMNS = TRACK_FEATURES.column_names


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _manifest(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "track_features_loaded.json"


def cache_files(settings: Settings) -> set[str]:
    """Every file of the track and audio-features caches, as ``<cache>/<id>.json``."""
    cache = metadata_dir(settings)
    return {f"{name}/{path.name}" for name in (TRACKS.name, AUDIO_FEATURES.name) for path in landed_files(cache / name)}


def pending_ids(settings: Settings, table_id: str) -> tuple[set[str], set[str]]:
    """(ids to read, cache files they come from): those this table has not taken yet."""
    cached_track_ids(settings)  # pages landed before poll cached their tracks are read into the cache once
    taken = read_json(_manifest(settings), {}) or {}
    files = cache_files(settings)
    new = files - set(taken.get("files", [])) if taken.get("table_id") == table_id else files
    return {Path(name).stem for name in new}, files


def collect_tracks(settings: Settings, track_ids: set[str]) -> dict[str, tuple[dict, datetime]]:
    """The cached track object of each id (and when it was cached)."""
    folder = metadata_dir(settings) / TRACKS.name
    tracks = {}
    for track_id in sorted(track_ids):
        path = folder / f"{track_id}.json"
        if path.is_file():
            tracks[track_id] = (orjson.loads(path.read_bytes()), _mtime(path))
    return tracks


def track_rows(settings: Settings, track_ids: set[str]) -> pd.DataFrame:
    features_dir = metadata_dir(settings) / AUDIO_FEATURES.name
    rows = []
    for track_id, (track, fetched_at) in sorted(collect_tracks(settings, track_ids).items()):
        features_file = features_dir / f"{track_id}.json"
        features = orjson.loads(features_file.read_bytes()) if features_file.exists() else {}
        artists = track.get("artists") or []
        row = {
            "track_id": track_id,
            "track_name": track.get("name"),
            "artist_ids": [a.get("id") for a in artists if a.get("id")],
            "artist_names": ", ".join(a.get("name", "") for a in artists) or None,
            "album_name": (track.get("album") or {}).get("name"),
            "duration_ms": track.get("duration_ms"),
            "explicit": track.get("explicit"),
            **{column: features.get(column) for column in bronze_names()},
            "features_source": "spotify_api" if features else None,
            "fetched_at": fetched_at,
        }
        content = repr([row[c] for c in COLUMNS if c not in ("fetched_at", "row_hash")])
        row["row_hash"] = hashlib.sha256(content.encode()).hexdigest()
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["fetched_at"] = pd.to_datetime(frame["fetched_at"], utc=True)
    return frame


def load_track_features(spark: "SparkSession", settings: Settings) -> MergeResult | None:
    ensure_bronze_database(spark)
    ensure_table(spark, TRACK_FEATURES)
    table_id = str(spark.sql(f"describe detail {TRACK_FEATURES.qualified}").first()["id"])
    track_ids, files = pending_ids(settings, table_id)
    rows = track_rows(settings, track_ids)
    merged = None if rows.empty else merge_snapshot(spark, TRACK_FEATURES, rows, "false")
    write_json(_manifest(settings), {"table_id": table_id, "files": sorted(files)}, mode=0o600)
    return merged
