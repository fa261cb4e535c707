"""Load track metadata (+ real audio features when Spotify gave them) into ``bronze.my_tracks_features_bronze``.

Reads: track objects in landed recently-played payloads and the per-id caches written by
``ingest.spotify.metadata`` (``landing/api/metadata/{tracks,audio_features}``). Key: ``track_id``. MERGE
inserts new ids and updates an id only when its content changed (``row_hash`` ignores ``fetched_at``).
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
from ingest.landing.store import landed_files
from ingest.spotify.metadata import metadata_dir
from ingest.spotify.recently_played import landed_pages

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

COLUMNS = TRACK_FEATURES.column_names


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def collect_tracks(settings: Settings) -> dict[str, tuple[dict, datetime]]:
    tracks: dict[str, tuple[dict, datetime]] = {}
    for path in landed_pages(settings):
        envelope = orjson.loads(path.read_bytes())
        fetched = datetime.fromisoformat(envelope["fetched_at"])
        for item in (envelope.get("response") or {}).get("items") or []:
            track = item.get("track") or {}
            if track.get("id"):
                tracks.setdefault(track["id"], (track, fetched))
    for path in landed_files(metadata_dir(settings) / "tracks"):
        tracks.setdefault(path.stem, (orjson.loads(path.read_bytes()), _mtime(path)))
    return tracks


def track_rows(settings: Settings) -> pd.DataFrame:
    features_dir = metadata_dir(settings) / "audio_features"
    rows = []
    for track_id, (track, fetched_at) in sorted(collect_tracks(settings).items()):
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
    rows = track_rows(settings)
    if rows.empty:
        return None
    return merge_snapshot(spark, TRACK_FEATURES, rows, "false")
