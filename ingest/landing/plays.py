"""Landed records → Bronze rows of music, podcast and audiobook plays, or quarantine reasons.

One function per landed format; each returns ``Normalised``: music plays (``bronze.listening_history_bronze``),
podcast-episode plays (``bronze.podcast_history_bronze``), audiobook-chapter plays
(``bronze.audiobook_history_bronze``) and the records that are none of them, with the reason. A record never
raises: whatever is wrong with it becomes its quarantine reason, so no record can block a load.

Key: ``play_id`` = sha256 of user_id | played_at (UTC, ms) | what was played: the track URI (else
artist|title), the episode URI (else show|episode), the chapter URI (else audiobook|chapter); classic-export
records, whose (endTime, artist, title) repeats legitimately, add ms_played. Two records of the same play
(same listener, time and item) get one ``play_id``, so they count once. ``row_hash`` covers every column
except ``landing_file``, so the same play landed twice (overlapping polls) is one unchanged row.

Times: the extended export's ``ts`` and the classic export's ``endTime`` are UTC (``endTime`` to the minute);
a time before ``EARLIEST_PLAY`` or more than ``FUTURE_TOLERANCE`` ahead is no play.
"""

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from ingest.bronze.schemas import AUDIOBOOK_HISTORY, LISTENING_HISTORY, MAX_DURATION_MS, PODCAST_HISTORY

MAX_MS_PLAYED = MAX_DURATION_MS  # one play longer than a day is not a play
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST_PLAY = datetime(2006, 1, 1, tzinfo=UTC)  # Spotify was founded in 2006: an earlier time is a broken clock
TRACK_URI = re.compile(r"spotify:track:([0-9A-Za-z]+)")
AUDIO, VIDEO = "audio", "video"

PLAY_COLUMNS = LISTENING_HISTORY.column_names
PODCAST_COLUMNS = PODCAST_HISTORY.column_names
AUDIOBOOK_COLUMNS = AUDIOBOOK_HISTORY.column_names


class RecordError(ValueError):
    """A record that cannot become a row; the message is the quarantine reason."""


@dataclass
class Normalised:
    plays: list[dict] = field(default_factory=list)
    podcasts: list[dict] = field(default_factory=list)
    audiobooks: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # landing_file, record_index, raw_record, reason

    def reject(self, landing_file: str, index: int | None, record: object, reason: str) -> None:
        raw = orjson.dumps(record, default=str).decode()[:4000]
        self.rejected.append({"landing_file": landing_file, "record_index": index, "raw_record": raw, "reason": reason})

    def add(self, other: "Normalised") -> None:
        self.plays += other.plays
        self.podcasts += other.podcasts
        self.audiobooks += other.audiobooks
        self.rejected += other.rejected


def _sha(*parts: object) -> str:
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _finish(row: dict, key_parts: tuple, columns: list[str], now: datetime) -> dict:
    played_at: datetime = row["played_at"]
    if played_at > now + FUTURE_TOLERANCE:
        raise RecordError(f"timestamp in the future: {played_at.isoformat()}")
    if played_at < EARLIEST_PLAY:
        raise RecordError(f"timestamp before {EARLIEST_PLAY:%Y-%m-%d} (before Spotify): {played_at.isoformat()}")
    row["play_id"] = _sha(row["user_id"], int(played_at.timestamp() * 1000), *key_parts)
    row["played_date"] = played_at.date()
    for column in columns:
        row.setdefault(column, None)
    rehash(row, columns)
    return {c: row[c] for c in columns}


def _records(records: list, landing_file: str, out: Normalised) -> Iterator[tuple[int, dict]]:
    """Each record that is an object, with its index; anything else is quarantined."""
    for index, record in enumerate(records):
        if isinstance(record, dict):
            yield index, record
        else:
            out.reject(landing_file, index, record, f"record is a {type(record).__name__}, not an object")


def _each(records: list, landing_file: str, handle: Callable[[dict, Normalised], None]) -> Normalised:
    """Apply ``handle`` to every record; whatever it raises becomes that record's quarantine reason."""
    out = Normalised()
    for index, record in _records(records, landing_file, out):
        try:
            handle(record, out)
        except RecordError as exc:
            out.reject(landing_file, index, record, str(exc))
        except Exception as exc:  # a record must never block a load: it is quarantined with what went wrong
            out.reject(landing_file, index, record, f"malformed record: {type(exc).__name__}: {exc}")
    return out


def _ms_played(value: object, name: str = "ms_played") -> int:
    if value is None:
        raise RecordError(f"missing field: {name}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{name} is not a number: {value!r}")
    if value < 0:
        raise RecordError(f"negative {name}: {value}")
    if value > MAX_MS_PLAYED:
        raise RecordError(f"absurd {name} (> 24 h): {value}")
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


def _end_time(value: object) -> datetime:
    """A classic export's ``endTime``: the UTC minute the play ended (e.g. "2024-05-21 09:50")."""
    if value is None:
        raise RecordError("missing field: endTime")
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    except ValueError:
        raise RecordError(f"unparseable endTime: {value!r}") from None


def _opt_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _track_id(uri: str | None) -> str | None:
    """The id of a well-formed track URI (``spotify:track:<base62>``), else None."""
    match = TRACK_URI.fullmatch(uri) if uri else None
    return match[1] if match else None


def _required(record: dict, *names: str) -> None:
    missing = [name for name in names if name not in record]
    if missing:
        raise RecordError(f"missing fields: {', '.join(missing)}")


def api_plays(envelope: dict, landing_file: str, now: datetime) -> Normalised:
    """A recently-played response envelope written by ``poll``."""
    user_id = envelope["user_id"]

    def handle(item: dict, out: Normalised) -> None:
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
            "media_type": AUDIO,
            "landing_file": landing_file,
        }
        out.plays.append(_finish(row, (track.get("uri") or track["id"],), PLAY_COLUMNS, now))

    return _each((envelope.get("response") or {}).get("items") or [], landing_file, handle)


def extended_plays(records: list, user_id: str, landing_file: str, now: datetime, media: str = AUDIO) -> Normalised:
    """Records of ``Streaming_History_Audio_*.json`` / ``endsong*.json`` (``media`` audio) or
    ``Streaming_History_Video_*.json`` (video), personal fields already dropped: each is a podcast episode
    (an episode URI or name), an audiobook chapter (``audiobook_*`` fields), or a music track (a track URI, or
    artist and title)."""

    def handle(record: dict, out: Normalised) -> None:
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
        episode_uri, episode = _opt_str(record.get("spotify_episode_uri")), _opt_str(record.get("episode_name"))
        if episode_uri or episode:
            show = _opt_str(record.get("episode_show_name"))
            row = common | {"episode_name": episode, "show_name": show, "episode_uri": episode_uri, "media_type": media}
            out.podcasts.append(_finish(row, (episode_uri,) if episode_uri else (show, episode), PODCAST_COLUMNS, now))
            return
        chapter_uri, book = _opt_str(record.get("audiobook_chapter_uri")), _opt_str(record.get("audiobook_title"))
        chapter, book_uri = _opt_str(record.get("audiobook_chapter_title")), _opt_str(record.get("audiobook_uri"))
        if chapter_uri or book or book_uri:
            row = common | {
                "audiobook_title": book,
                "chapter_title": chapter,
                "audiobook_uri": book_uri,
                "chapter_uri": chapter_uri,
            }
            key = (chapter_uri,) if chapter_uri else (book_uri or book, chapter)
            out.audiobooks.append(_finish(row, key, AUDIOBOOK_COLUMNS, now))
            return
        uri = _opt_str(record.get("spotify_track_uri"))
        track_id = _track_id(uri)
        artist = _opt_str(record.get("master_metadata_album_artist_name"))
        title = _opt_str(record.get("master_metadata_track_name"))
        if not track_id and not (artist and title):
            problem = f"a malformed spotify_track_uri {uri!r}" if uri else "no spotify_track_uri"
            raise RecordError(f"neither a track, an episode nor an audiobook chapter: {problem}, no artist and title")
        row = common | {
            "track_id": track_id,
            "track_name": title,
            "artist_name": artist,
            "album_name": _opt_str(record.get("master_metadata_album_album_name")),
            "track_resolution": "uri" if track_id else "unresolved:malformed_uri" if uri else "unresolved:no_uri",
            "media_type": media,
        }
        out.plays.append(_finish(row, (uri,) if track_id else (artist, title), PLAY_COLUMNS, now))

    return _each(records, landing_file, handle)


def _classic_play(record: dict, user_id: str, landing_file: str, *fields: str) -> dict:
    """What every classic-export record gives (``endTime``, ``msPlayed``), once its ``fields`` are there."""
    _required(record, "endTime", *fields, "msPlayed")
    return {
        "user_id": user_id,
        "played_at": _end_time(record["endTime"]),
        "ms_played": _ms_played(record["msPlayed"], "msPlayed"),
        "source": "export_classic",
        "landing_file": landing_file,
    }


def classic_plays(records: list, user_id: str, landing_file: str, now: datetime) -> Normalised:
    """Records of ``StreamingHistory{N}.json`` / ``StreamingHistory_music_{N}.json`` (artist, title, no id)."""

    def handle(record: dict, out: Normalised) -> None:
        row = _classic_play(record, user_id, landing_file, "artistName", "trackName")
        artist, title = _opt_str(record["artistName"]), _opt_str(record["trackName"])
        if not (artist and title):
            raise RecordError("empty artistName or trackName")
        row |= {
            "artist_name": artist,
            "track_name": title,
            "track_resolution": "unresolved:not_matched_yet",
            "media_type": AUDIO,
        }
        out.plays.append(_finish(row, (artist, title, row["ms_played"]), PLAY_COLUMNS, now))

    return _each(records, landing_file, handle)


AddFromRecord = Callable[[dict, dict, Normalised], None]  # (record, its common play columns, where rows go)


def classic_podcast_plays(records: list, user_id: str, landing_file: str, now: datetime) -> Normalised:
    """Records of ``StreamingHistory_podcast_{N}.json`` (show, episode, no URI)."""

    def podcast(record: dict, row: dict, out: Normalised) -> None:
        show, episode = _opt_str(record["podcastName"]), _opt_str(record["episodeName"])
        if not episode:
            raise RecordError("empty episodeName")
        row |= {"episode_name": episode, "show_name": show, "media_type": AUDIO}
        out.podcasts.append(_finish(row, (show, episode, row["ms_played"]), PODCAST_COLUMNS, now))

    return _classic_spoken_word(records, user_id, landing_file, ("podcastName", "episodeName"), podcast)


def classic_audiobook_plays(records: list, user_id: str, landing_file: str, now: datetime) -> Normalised:
    """Records of ``StreamingHistory_audiobook_{N}.json`` (audiobook, chapter, author, no URI)."""

    def audiobook(record: dict, row: dict, out: Normalised) -> None:
        book, chapter = _opt_str(record["audiobookName"]), _opt_str(record["chapterName"])
        if not book:
            raise RecordError("empty audiobookName")
        row |= {"audiobook_title": book, "chapter_title": chapter, "author_name": _opt_str(record.get("authorName"))}
        out.audiobooks.append(_finish(row, (book, chapter, row["ms_played"]), AUDIOBOOK_COLUMNS, now))

    return _classic_spoken_word(records, user_id, landing_file, ("audiobookName", "chapterName"), audiobook)


def _classic_spoken_word(
    records: list, user_id: str, landing_file: str, fields: tuple[str, str], add: "AddFromRecord"
) -> Normalised:
    """Each classic record's common play columns (``_classic_play`` checks ``fields``), then ``add`` for the rest."""

    def handle(record: dict, out: Normalised) -> None:
        add(record, _classic_play(record, user_id, landing_file, *fields), out)

    return _each(records, landing_file, handle)


def rehash(row: dict, columns: list[str]) -> dict:
    """Recompute ``row_hash`` after a column changed (e.g. a classic play resolved to a track id)."""
    content = orjson.dumps([row[c] for c in columns if c not in ("landing_file", "row_hash")], default=str)
    row["row_hash"] = hashlib.sha256(content).hexdigest()
    return row
