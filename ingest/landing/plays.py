"""Landed records → Bronze play rows (``bronze.listening_history_bronze`` columns) or quarantine reasons.

One function per source format; each returns ``Normalised`` (music rows, podcast rows, rejected records).
Key: ``play_id`` = sha256 of user_id | played_at (UTC, ms) | track URI, or artist|title|ms_played for
classic-export plays (their (endTime, artist, title) repeats legitimately). ``row_hash`` covers every
column except ``landing_file``, so the same play landed twice (overlapping polls) is one unchanged row.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson

MAX_MS_PLAYED = 24 * 3600 * 1000  # one play longer than a day is not a play
FUTURE_TOLERANCE = timedelta(days=1)

PLAY_COLUMNS = [
    "play_id",
    "user_id",
    "played_at",
    "played_date",
    "track_id",
    "track_name",
    "artist_name",
    "album_name",
    "ms_played",
    "source",
    "reason_start",
    "reason_end",
    "skipped",
    "shuffle",
    "offline",
    "platform",
    "conn_country",
    "context_type",
    "context_uri",
    "track_resolution",
    "landing_file",
    "row_hash",
]
PODCAST_COLUMNS = [
    "play_id",
    "user_id",
    "played_at",
    "played_date",
    "episode_name",
    "show_name",
    "episode_uri",
    "ms_played",
    "source",
    "reason_start",
    "reason_end",
    "skipped",
    "shuffle",
    "offline",
    "platform",
    "conn_country",
    "landing_file",
    "row_hash",
]


class RecordError(ValueError):
    """A record that cannot become a row; the message is the quarantine reason."""


@dataclass
class Normalised:
    plays: list[dict] = field(default_factory=list)
    podcasts: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # landing_file, record_index, raw_record, reason

    def reject(self, landing_file: str, index: int, record: object, reason: str) -> None:
        raw = orjson.dumps(record, default=str).decode()[:4000]
        self.rejected.append({"landing_file": landing_file, "record_index": index, "raw_record": raw, "reason": reason})


def _sha(*parts: object) -> str:
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _finish(row: dict, key_parts: tuple, columns: list[str], now: datetime) -> dict:
    played_at: datetime = row["played_at"]
    if played_at > now + FUTURE_TOLERANCE:
        raise RecordError(f"timestamp in the future: {played_at.isoformat()}")
    row["play_id"] = _sha(row["user_id"], int(played_at.timestamp() * 1000), *key_parts)
    row["played_date"] = played_at.date()
    for column in columns:
        row.setdefault(column, None)
    rehash(row, columns)
    return {c: row[c] for c in columns}


def _ms_played(value: object) -> int:
    if value is None:
        raise RecordError("missing field: ms_played")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"ms_played is not a number: {value!r}")
    if value < 0:
        raise RecordError(f"negative ms_played: {value}")
    if value > MAX_MS_PLAYED:
        raise RecordError(f"absurd ms_played (> 24 h): {value}")
    return int(value)


def _utc(value: object, name: str) -> datetime:
    if value is None:
        raise RecordError(f"missing field: {name}")
    if not isinstance(value, str):
        raise RecordError(f"{name} is not text: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"unparseable {name}: {value!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _opt_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _track_id(uri: object) -> str | None:
    if isinstance(uri, str) and uri.startswith("spotify:track:"):
        return uri.rsplit(":", 1)[1]
    return None


def api_plays(envelope: dict, landing_file: str, now: datetime) -> Normalised:
    """A recently-played response envelope written by ``poll``."""
    out = Normalised()
    user_id = envelope["user_id"]
    for index, item in enumerate((envelope.get("response") or {}).get("items") or []):
        try:
            track = item.get("track") or {}
            context = item.get("context") or {}
            if not track.get("id"):
                raise RecordError("recently-played item without a track id")
            row = {
                "user_id": user_id,
                "played_at": _utc(item.get("played_at"), "played_at"),
                "track_id": track["id"],
                "track_name": track.get("name"),
                "artist_name": ", ".join(a.get("name", "") for a in track.get("artists") or []) or None,
                "album_name": (track.get("album") or {}).get("name"),
                "ms_played": track.get("duration_ms"),  # the API reports no ms_played: a play is > 30 s
                "source": "api",
                "context_type": context.get("type"),
                "context_uri": context.get("uri"),
                "track_resolution": "uri",
                "landing_file": landing_file,
            }
            out.plays.append(_finish(row, (track.get("uri") or track["id"],), PLAY_COLUMNS, now))
        except (RecordError, AttributeError, KeyError, TypeError) as exc:
            out.reject(landing_file, index, item, _reason(exc))
    return out


def extended_plays(records: list, user_id: str, landing_file: str, now: datetime) -> Normalised:
    """Records of ``Streaming_History_Audio_*.json`` / ``endsong_*.json`` (personal fields already dropped)."""
    out = Normalised()
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise RecordError(f"record is a {type(record).__name__}, not an object")
            common = {
                "user_id": user_id,
                "played_at": _utc(record.get("ts"), "ts"),
                "ms_played": _ms_played(record.get("ms_played")),
                "source": "export_extended",
                "reason_start": _opt_str(record.get("reason_start")),
                "reason_end": _opt_str(record.get("reason_end")),
                "skipped": _opt_bool(record.get("skipped")),
                "shuffle": _opt_bool(record.get("shuffle")),
                "offline": _opt_bool(record.get("offline")),
                "platform": _opt_str(record.get("platform")),
                "conn_country": _opt_str(record.get("conn_country")),
                "landing_file": landing_file,
            }
            if record.get("spotify_episode_uri") or record.get("episode_name"):
                common |= {
                    "episode_name": _opt_str(record.get("episode_name")),
                    "show_name": _opt_str(record.get("episode_show_name")),
                    "episode_uri": _opt_str(record.get("spotify_episode_uri")),
                }
                out.podcasts.append(_finish(common, (common["episode_uri"],), PODCAST_COLUMNS, now))
                continue
            uri = record.get("spotify_track_uri")
            artist = _opt_str(record.get("master_metadata_album_artist_name"))
            title = _opt_str(record.get("master_metadata_track_name"))
            if not uri and not (artist and title):
                raise RecordError("missing fields: neither spotify_track_uri nor artist and track name")
            row = common | {
                "track_id": _track_id(uri),
                "track_name": title,
                "artist_name": artist,
                "album_name": _opt_str(record.get("master_metadata_album_album_name")),
                "track_resolution": "uri" if _track_id(uri) else "unresolved:no_uri",
            }
            key = (uri,) if uri else (artist, title)
            out.plays.append(_finish(row, key, PLAY_COLUMNS, now))
        except RecordError as exc:
            out.reject(landing_file, index, record, str(exc))
    return out


def classic_plays(records: list, user_id: str, timezone: str, landing_file: str, now: datetime) -> Normalised:
    """Records of ``StreamingHistory*.json``: ``endTime`` is a local minute in the listener's timezone."""
    out = Normalised()
    zone = ZoneInfo(timezone)
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise RecordError(f"record is a {type(record).__name__}, not an object")
            missing = [k for k in ("endTime", "artistName", "trackName", "msPlayed") if k not in record]
            if missing:
                raise RecordError(f"missing fields: {', '.join(missing)}")
            try:
                local = datetime.strptime(str(record["endTime"]), "%Y-%m-%d %H:%M")
            except ValueError:
                raise RecordError(f"unparseable endTime: {record['endTime']!r}") from None
            artist, title = _opt_str(record["artistName"]), _opt_str(record["trackName"])
            if not (artist and title):
                raise RecordError("empty artistName or trackName")
            ms_played = _ms_played(record["msPlayed"])
            row = {
                "user_id": user_id,
                "played_at": local.replace(tzinfo=zone).astimezone(UTC),
                "artist_name": artist,
                "track_name": title,
                "ms_played": ms_played,
                "source": "export_classic",
                "track_resolution": "unresolved:not_matched_yet",
                "landing_file": landing_file,
            }
            out.plays.append(_finish(row, (artist, title, ms_played), PLAY_COLUMNS, now))
        except RecordError as exc:
            out.reject(landing_file, index, record, str(exc))
    return out


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, RecordError) else f"malformed record: {type(exc).__name__}: {exc}"


def rehash(row: dict, columns: list[str]) -> dict:
    """Recompute ``row_hash`` after a column changed (e.g. a classic play resolved to a track id)."""
    content = orjson.dumps([row[c] for c in columns if c not in ("landing_file", "row_hash")])
    row["row_hash"] = hashlib.sha256(content).hexdigest()
    return row
