"""Load landed plays into ``bronze.listening_history_bronze`` (+ podcasts, + quarantine).

Reads: recently-played envelopes (``landing/api/<user>/recently_played``) and imported exports
(``landing/export/<user>/{extended,classic}``) not yet loaded. Key: ``play_id``; an insert-only MERGE adds new plays
and never rewrites or deletes one (a play's row is fixed by its landed record), so overlapping polls and
reruns dedupe exactly. (A classic-export play loaded before the catalog keeps its unresolved track id.)
A load killed at any point is safe to rerun:
the list of loaded landing files (``state/bronze_loaded_files.json``) is written only after the MERGEs
commit, and re-merging a file changes nothing. Invalid records go to ``bronze.listening_history_quarantine``
with their reason, replaced per landing file.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pandas as pd

from ingest.bronze.delta import (
    BRONZE_DATABASE,
    MergeResult,
    ensure_bronze_database,
    ensure_table,
    merge_new_rows,
    sql_string,
)
from ingest.bronze.schemas import LISTENING_HISTORY_COLUMNS, PARTITIONS
from ingest.catalog.matching import match_key
from ingest.config import Settings
from ingest.landing.plays import PLAY_COLUMNS, Normalised, api_plays, classic_plays, extended_plays, rehash
from ingest.landing.store import landed_files, private_dir, read_json, write_json
from ingest.ops.lock import waiting_lock
from ingest.spotify.search import search_tracks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

TABLE = "listening_history_bronze"
PODCAST_TABLE = "podcast_history_bronze"
QUARANTINE_TABLE = "listening_history_quarantine"
PODCAST_SCHEMA = (
    "play_id string, user_id string, played_at timestamp, played_date date, episode_name string, "
    "show_name string, episode_uri string, ms_played bigint, source string, reason_start string, "
    "reason_end string, skipped boolean, shuffle boolean, offline boolean, platform string, "
    "conn_country string, landing_file string, row_hash string"
)
QUARANTINE_SCHEMA = "landing_file string, record_index bigint, raw_record string, reason string"


@dataclass(frozen=True)
class PlaysLoad:
    files: int
    plays: MergeResult | None
    podcasts: MergeResult | None
    quarantined: int
    resolved_classic: int = 0
    unresolved_classic: int = 0


def _manifest(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "bronze_loaded_files.json"


def pending_landing_files(settings: Settings) -> list[Path]:
    landing = settings.landing_path
    files = landed_files(landing / "api", "recently_played/*.json") + landed_files(landing / "export")
    done = set(read_json(_manifest(settings), []) or [])
    return [f for f in files if str(f.relative_to(landing)) not in done]


def normalise_file(path: Path, settings: Settings, now: datetime) -> Normalised:
    name = str(path.relative_to(settings.landing_path))
    envelope = orjson.loads(path.read_bytes())
    if name.startswith("api/"):
        return api_plays(envelope, name, now)
    records, user_id = envelope["records"], envelope["user_id"]
    if envelope["kind"] == "classic":
        return classic_plays(records, user_id, settings.timezone, name, now)
    return extended_plays(records, user_id, name, now)


def resolve_classic(spark: "SparkSession", settings: Settings, plays: list[dict]) -> tuple[int, int]:
    """Give classic-export plays a track id: the catalog's, matched by normalised (artist, title), else
    Spotify search's when credentials exist (``ingest.spotify.search``, cached per pair)."""
    classic = [p for p in plays if p["source"] == "export_classic" and p["track_id"] is None]
    if not classic:
        return 0, 0
    catalog: dict[tuple[str, str], str] = {}
    if spark.catalog.tableExists(f"{BRONZE_DATABASE}.kaggle_tracks_bronze"):
        rows = spark.sql(
            f"select artists, track_name, min(track_id) as track_id from {BRONZE_DATABASE}.kaggle_tracks_bronze "
            "group by artists, track_name"
        ).toPandas()
        for artists, title, track_id in rows.itertuples(index=False):
            catalog.setdefault(match_key(artists, title), track_id)
    keys = [match_key(p["artist_name"], p["track_name"]) for p in classic]
    unmatched = [
        (p["artist_name"], p["track_name"]) for p, key in zip(classic, keys, strict=True) if key not in catalog
    ]
    searched = search_tracks(settings, unmatched)
    resolved = 0
    for play, key in zip(classic, keys, strict=True):
        if key in catalog:
            play["track_id"], play["track_resolution"] = catalog[key], "kaggle_match"
        elif searched.get(key):
            play["track_id"], play["track_resolution"] = searched[key], "search"
        else:
            searched_in_vain = key in searched
            play["track_resolution"] = f"unresolved:{'no_search_match' if searched_in_vain else 'no_catalog_match'}"
        resolved += bool(play["track_id"])
        rehash(play, PLAY_COLUMNS)
    return resolved, len(classic) - resolved


def _dedupe(rows: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for row in rows:
        seen.setdefault(row["play_id"], row)
    return list(seen.values())


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame["played_at"] = pd.to_datetime(frame["played_at"], utc=True)
    return frame


def _replace_quarantine(spark: "SparkSession", files: list[str], rejected: list[dict]) -> None:
    ensure_table(spark, QUARANTINE_TABLE, f"{QUARANTINE_SCHEMA}, quarantined_at timestamp")
    names = ", ".join(sql_string(f) for f in files)
    spark.sql(f"delete from {BRONZE_DATABASE}.{QUARANTINE_TABLE} where landing_file in ({names})")
    if rejected:
        frame = pd.DataFrame(rejected, columns=["landing_file", "record_index", "raw_record", "reason"])
        spark.createDataFrame(frame, schema=QUARANTINE_SCHEMA).createOrReplaceTempView("rejected_plays")
        spark.sql(f"insert into {BRONZE_DATABASE}.{QUARANTINE_TABLE} select *, current_timestamp() from rejected_plays")


def load_plays(spark: "SparkSession", settings: Settings) -> PlaysLoad:
    """Loads of plays run one at a time (a lock that waits), so none commits behind a later one: Silver's
    incremental runs take the plays loaded since the last build by ``loaded_at``, and the manifest of
    loaded files is read and written by one load at a time."""
    with waiting_lock(private_dir(settings.ingest_state_path) / "bronze_plays.lock"):
        return _load_plays(spark, settings)


def _load_plays(spark: "SparkSession", settings: Settings) -> PlaysLoad:
    files = pending_landing_files(settings)
    ensure_bronze_database(spark)
    ensure_table(spark, TABLE, f"{LISTENING_HISTORY_COLUMNS}, loaded_at timestamp", PARTITIONS[TABLE])
    ensure_table(spark, PODCAST_TABLE, f"{PODCAST_SCHEMA}, loaded_at timestamp")
    if not files:
        return PlaysLoad(0, None, None, 0)
    now = datetime.now(UTC)
    batch = Normalised()
    for path in files:
        part = normalise_file(path, settings, now)
        batch.plays += part.plays
        batch.podcasts += part.podcasts
        batch.rejected += part.rejected
    log.info(
        "%d files: %d plays, %d podcast plays, %d rejected",
        len(files),
        len(batch.plays),
        len(batch.podcasts),
        len(batch.rejected),
    )
    resolved, unresolved = resolve_classic(spark, settings, batch.plays)
    plays = None
    if batch.plays:
        frame = _frame(_dedupe(batch.plays), PLAY_COLUMNS)
        plays = merge_new_rows(
            spark, TABLE, frame, LISTENING_HISTORY_COLUMNS, ["play_id"], PARTITIONS[TABLE], key_implies=("user_id",)
        )
    podcasts = None
    if batch.podcasts:
        podcast_columns = [c.split()[0] for c in PODCAST_SCHEMA.split(", ")]
        frame = _frame(_dedupe(batch.podcasts), podcast_columns)
        podcasts = merge_new_rows(spark, PODCAST_TABLE, frame, PODCAST_SCHEMA, ["play_id"])
    names = [str(f.relative_to(settings.landing_path)) for f in files]
    _replace_quarantine(spark, names, batch.rejected)
    done = set(read_json(_manifest(settings), []) or []) | set(names)
    write_json(_manifest(settings), sorted(done), mode=0o600)
    return PlaysLoad(len(files), plays, podcasts, len(batch.rejected), resolved, unresolved)
