"""Load landed plays into Bronze: music (``bronze.listening_history_bronze``), podcast episodes
(``bronze.podcast_history_bronze``), audiobook chapters (``bronze.audiobook_history_bronze``) and the quarantine.

Reads: recently-played envelopes (``landing/api/<user>/recently_played``) and imported exports
(``landing/export/<user>/<kind>``, ``ingest.export.kinds``) not yet loaded. Key: ``play_id``; an insert-only
MERGE adds new plays and never rewrites or deletes one (a play's row is fixed by its landed record), so
overlapping polls and reruns dedupe exactly. Two records of one play (same listener, time and item, see
``ingest.landing.plays``) are one row: the copy loaded first wins, that is, within a load the first in landing
order (API responses, then exports by kind and file name) and within a file the first in the file; a later load
never replaces it. (A classic-export play loaded before the catalog keeps its unresolved track id.)
A load killed at any point is safe to rerun: the list of loaded landing files (``state/bronze_loaded_files.json``)
is written only after the MERGEs commit, and re-merging a file changes nothing. Records that are no play go to
``bronze.listening_history_quarantine`` with their reason, replaced per landing file; a landing file that cannot
be read is quarantined as a whole and tried again by the next load, and blocks nothing.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pandas as pd

from ingest.bronze.delta import (
    MergeResult,
    ensure_bronze_database,
    ensure_table,
    merge_new_rows,
    sql_string,
)
from ingest.bronze.schemas import (
    AUDIOBOOK_HISTORY,
    KAGGLE_TRACKS,
    LISTENING_HISTORY,
    PLAYS_QUARANTINE,
    PODCAST_HISTORY,
    BronzeTable,
)
from ingest.config import Settings
from ingest.export.importer import exports_landing_dir
from ingest.file_lock import waiting_lock
from ingest.kaggle.matching import match_key
from ingest.landing import plays as landed
from ingest.landing.plays import PLAY_COLUMNS, Normalised, rehash
from ingest.landing.store import landed_files, private_dir, read_json, write_json
from ingest.spotify.recently_played import landed_pages
from ingest.spotify.search import search_tracks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# How each landed export kind (ingest.export.kinds) is read.
EXPORT_READERS = {
    "classic": landed.classic_plays,
    "classic_podcast": landed.classic_podcast_plays,
    "classic_audiobook": landed.classic_audiobook_plays,
    "extended": partial(landed.extended_plays, media=landed.AUDIO),
    "extended_video": partial(landed.extended_plays, media=landed.VIDEO),
}


@dataclass(frozen=True)
class PlaysLoad:
    files: int
    plays: MergeResult | None
    podcasts: MergeResult | None
    quarantined: int
    resolved_classic: int = 0
    unresolved_classic: int = 0
    audiobooks: MergeResult | None = None
    # per landed file's original name: how many of its records were quarantined, by reason
    quarantine_reasons: dict[str, Counter[str]] = field(default_factory=dict)


def _manifest(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "bronze_loaded_files.json"


def loaded_landing_files(settings: Settings) -> list[str]:
    """The landing files (names relative to the landing folder) the loads have merged, so the next load skips them."""
    return list(read_json(_manifest(settings), []) or [])


def forget_loaded(settings: Settings, names: list[str]) -> None:
    """Take landing files (names relative to the landing folder) off the list of loaded files, e.g. when they are
    deleted together with their rows."""
    with waiting_lock(private_dir(settings.ingest_state_path) / "bronze_plays.lock"):
        done = set(read_json(_manifest(settings), []) or []) - set(names)
        write_json(_manifest(settings), sorted(done), mode=0o600)


def forget_every_load(settings: Settings) -> None:
    """The next load reads every landing file again (its insert-only MERGE on play_id adds only what Bronze lacks):
    after a Bronze table of plays lost a commit."""
    forget_loaded(settings, read_json(_manifest(settings), []) or [])


def pending_landing_files(settings: Settings) -> list[Path]:
    files = landed_pages(settings) + landed_files(exports_landing_dir(settings))
    done = set(read_json(_manifest(settings), []) or [])
    return [f for f in files if str(f.relative_to(settings.landing_path)) not in done]


@dataclass
class LandedFile:
    """What one landing file holds, as rows; ``readable`` is False when the file itself could not be read."""

    name: str  # relative to the landing folder: the rows' landing_file
    source_name: str  # the file's name as downloaded or fetched
    rows: Normalised
    readable: bool = True


def normalise_file(path: Path, settings: Settings, now: datetime) -> LandedFile:
    name = str(path.relative_to(settings.landing_path))
    try:
        envelope = orjson.loads(path.read_bytes())
        if name.startswith("api/"):
            return LandedFile(name, path.name, landed.api_plays(envelope, name, now))
        read = EXPORT_READERS.get(envelope["kind"])
        if read is None:
            raise ValueError(f"unknown export kind {envelope['kind']!r} (known: {', '.join(EXPORT_READERS)})")
        rows = read(envelope["records"], envelope["user_id"], name, now)
        return LandedFile(name, envelope.get("source_name") or path.name, rows)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # orjson's JSONDecodeError is a ValueError
        log.error("Landing file %s cannot be read (%s): quarantined, tried again by the next load", path, exc)
        rows = Normalised()
        rows.reject(name, None, None, f"landing file cannot be read: {type(exc).__name__}: {exc}")
        return LandedFile(name, path.name, rows, readable=False)


def resolve_classic(spark: "SparkSession", settings: Settings, plays: list[dict]) -> tuple[int, int]:
    """Give classic-export plays a track id: the catalog's, matched by normalised (artist, title), else
    Spotify search's when credentials exist (``ingest.spotify.search``, cached per pair)."""
    classic = [p for p in plays if p["source"] == "export_classic" and p["track_id"] is None]
    if not classic:
        return 0, 0
    catalog: dict[tuple[str, str], str] = {}
    if spark.catalog.tableExists(KAGGLE_TRACKS.qualified):
        rows = spark.sql(
            f"select artists, track_name, min(track_id) as track_id from {KAGGLE_TRACKS.qualified} "
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
    ensure_table(spark, PLAYS_QUARANTINE)
    names = ", ".join(sql_string(f) for f in files)
    spark.sql(f"delete from {PLAYS_QUARANTINE.qualified} where landing_file in ({names})")
    if rejected:
        frame = pd.DataFrame(rejected, columns=PLAYS_QUARANTINE.column_names)
        frame["record_index"] = frame["record_index"].astype("Int64")
        spark.createDataFrame(frame, schema=PLAYS_QUARANTINE.ddl).createOrReplaceTempView("rejected_plays")
        spark.sql(f"insert into {PLAYS_QUARANTINE.qualified} select *, current_timestamp() from rejected_plays")


def load_plays(spark: "SparkSession", settings: Settings) -> PlaysLoad:
    """Loads of plays run one at a time (a lock that waits), so none commits behind a later one: Silver's
    incremental runs take the plays loaded since the last build by ``loaded_at``, and the manifest of
    loaded files is read and written by one load at a time."""
    with waiting_lock(private_dir(settings.ingest_state_path) / "bronze_plays.lock"):
        return _load_plays(spark, settings)


def _merge_kind(spark: "SparkSession", table: BronzeTable, rows: list[dict]) -> MergeResult | None:
    if not rows:
        return None
    frame = _frame(_dedupe(rows), table.column_names)
    return merge_new_rows(spark, table, frame, key_implies=("user_id",) if table.partitioning else ())


def _quarantine_reasons(files: list[LandedFile]) -> dict[str, Counter[str]]:
    """Per landed file's original name, its quarantined records by reason (the reason's text before any ':')."""
    reasons: dict[str, Counter[str]] = {}
    for file in files:
        for rejected in file.rows.rejected:
            reasons.setdefault(file.source_name, Counter())[rejected["reason"].split(":")[0]] += 1
    return reasons


def _load_plays(spark: "SparkSession", settings: Settings) -> PlaysLoad:
    files = pending_landing_files(settings)
    ensure_bronze_database(spark)
    for table in (LISTENING_HISTORY, PODCAST_HISTORY, AUDIOBOOK_HISTORY):
        ensure_table(spark, table)
    if not files:
        return PlaysLoad(0, None, None, 0)
    now = datetime.now(UTC)
    read = [normalise_file(path, settings, now) for path in files]
    batch = Normalised()
    for file in read:
        batch.add(file.rows)
    log.info(
        "%d files: %d music plays, %d podcast plays, %d audiobook plays, %d records quarantined",
        len(files), len(batch.plays), len(batch.podcasts), len(batch.audiobooks), len(batch.rejected),
    )  # fmt: skip
    resolved, unresolved = resolve_classic(spark, settings, batch.plays)
    plays = _merge_kind(spark, LISTENING_HISTORY, batch.plays)
    podcasts = _merge_kind(spark, PODCAST_HISTORY, batch.podcasts)
    audiobooks = _merge_kind(spark, AUDIOBOOK_HISTORY, batch.audiobooks)
    _replace_quarantine(spark, [file.name for file in read], batch.rejected)
    done = set(read_json(_manifest(settings), []) or []) | {file.name for file in read if file.readable}
    write_json(_manifest(settings), sorted(done), mode=0o600)
    return PlaysLoad(
        len(files), plays, podcasts, len(batch.rejected), resolved, unresolved, audiobooks, _quarantine_reasons(read)
    )
