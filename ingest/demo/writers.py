"""Write a listener's plays in the formats the pipeline reads.

- ``extended``: the privacy export's ``Streaming_History_Audio_<years>_<N>.json`` (UTC ``ts``, track URI,
  reasons, skip/shuffle/offline flags, and fake personal fields ``ip_addr``/``username`` that the importer
  must drop), rolled over every 10,000 records like Spotify's files.
- ``classic``: ``StreamingHistory_music_<N>.json`` (UTC ``endTime`` minute, artist, track, msPlayed).
- ``api``: recently-played responses, 50 plays a page, newest first, with cursors and ``next``.
The same plays in every format, as Spotify gives them: the API's ``played_at`` 0-3 s before the extended export's
``ts`` (milliseconds), the classic ``endTime`` the minute of that moment, the API listing only plays over 30 s; a
listener's plays ``START:END`` (``WorkloadSpec.play_range``) give one source's share of an overlap.
- ``bronze``: parquet files with the columns of ``bronze.listening_history_bronze``.
Every writer sorts and serialises deterministically, so the same seed gives byte-identical files.
"""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.bronze.schemas import LISTENING_HISTORY
from ingest.demo.catalog import TrackUniverse, stable_id
from ingest.demo.listening import ListenerPlays, pseudonymous_user_id

RECORDS_PER_FILE = 10_000
API_PAGE_SIZE = 50
API_MIN_MS_PLAYED = 30_000  # recently-played lists plays longer than 30 s only
API_URL = "https://api.spotify.com/v1/me/player/recently-played"
FORMATS = ("extended", "classic", "api", "bronze")


def _dump(path: Path, payload: object) -> None:
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))


def _chunks(count: int, size: int) -> Iterator[slice]:
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


def _utc_text(played_at_ms: np.ndarray, pattern: str) -> np.ndarray:
    return pd.to_datetime(played_at_ms, unit="ms", utc=True).strftime(pattern).to_numpy(dtype=object)


def extended_records(universe: TrackUniverse, plays: ListenerPlays) -> list[dict]:
    t = plays.track
    ts = _utc_text(plays.played_at_ms, "%Y-%m-%dT%H:%M:%SZ")
    ip = f"198.51.100.{plays.user_index % 250 + 1}"  # documentation range: a fake address to be stripped
    return [
        {
            "ts": ts[i],
            "username": f"fake_{plays.user_name}",
            "platform": plays.platform[i],
            "ms_played": int(plays.ms_played[i]),
            "conn_country": plays.conn_country,
            "ip_addr": ip,
            "user_agent_decrypted": "unknown",
            "master_metadata_track_name": universe.track_name[t[i]],
            "master_metadata_album_artist_name": universe.artist_name[t[i]],
            "master_metadata_album_album_name": universe.album_name[t[i]],
            "spotify_track_uri": f"spotify:track:{universe.track_id[t[i]]}",
            "episode_name": None,
            "episode_show_name": None,
            "spotify_episode_uri": None,
            "reason_start": plays.reason_start[i],
            "reason_end": plays.reason_end[i],
            "shuffle": bool(plays.shuffle[i]),
            "skipped": bool(plays.skipped[i]),
            "offline": bool(plays.offline[i]),
            "offline_timestamp": int(plays.played_at_ms[i] // 1000) if plays.offline[i] else 0,
            "incognito_mode": bool(plays.incognito[i]),
        }
        for i in range(len(plays))
    ]


def write_extended(universe: TrackUniverse, plays: ListenerPlays, folder: Path) -> list[Path]:
    records = extended_records(universe, plays)
    paths = []
    for number, part in enumerate(_chunks(len(records), RECORDS_PER_FILE)):
        chunk = records[part]
        first, last = chunk[0]["ts"][:4], chunk[-1]["ts"][:4]
        years = first if first == last else f"{first}-{last}"
        path = folder / f"Streaming_History_Audio_{years}_{number}.json"
        _dump(path, chunk)
        paths.append(path)
    return paths


def write_classic(universe: TrackUniverse, plays: ListenerPlays, folder: Path) -> list[Path]:
    # Spotify's endTime is the UTC minute the play ended, as the API has it (a little before the extended ts)
    ended = pd.to_datetime(plays.api_played_at_ms, unit="ms", utc=True)
    end_time = ended.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object)
    t = plays.track
    records = [
        {
            "endTime": end_time[i],
            "artistName": universe.artist_name[t[i]],
            "trackName": universe.track_name[t[i]],
            "msPlayed": int(plays.ms_played[i]),
        }
        for i in range(len(plays))
    ]
    paths = []
    for number, part in enumerate(_chunks(len(records), RECORDS_PER_FILE)):
        path = folder / f"StreamingHistory_music_{number}.json"
        _dump(path, records[part])
        paths.append(path)
    return paths


def _api_track(universe: TrackUniverse, index: int) -> dict:
    track_id = universe.track_id[index]
    artists = [
        {
            "id": (artist_id := stable_id("artist", name)),
            "name": name,
            "type": "artist",
            "uri": f"spotify:artist:{artist_id}",
            "href": f"https://api.spotify.com/v1/artists/{artist_id}",
            "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        }
        for name in universe.artist_names[index].split(";")
    ]
    album_id = stable_id("album", universe.artist_name[index], universe.album_name[index])
    return {
        "album": {
            "album_type": "album",
            "artists": artists[:1],
            "id": album_id,
            "name": universe.album_name[index],
            "release_date": "2020-01-01",
            "release_date_precision": "day",
            "total_tracks": 10,
            "type": "album",
            "uri": f"spotify:album:{album_id}",
            "images": [],
        },
        "artists": artists,
        "disc_number": 1,
        "duration_ms": int(universe.duration_ms[index]),
        "explicit": False,
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
        "href": f"https://api.spotify.com/v1/tracks/{track_id}",
        "id": track_id,
        "is_local": False,
        "name": universe.track_name[index],
        "track_number": 1,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
    }


def _api_context(plays: ListenerPlays, i: int) -> dict | None:
    kind = plays.context_type[i]
    if not kind:
        return None
    uri = (
        f"spotify:user:{plays.user_name}:collection"
        if kind == "collection"
        else f"spotify:{kind}:{plays.context_id[i]}"
    )
    return {"type": kind, "uri": uri, "href": None, "external_urls": {}}


def api_pages(universe: TrackUniverse, plays: ListenerPlays) -> list[dict]:
    """Recently-played responses covering the listener's API-visible plays, newest page first."""
    visible = np.flatnonzero(plays.ms_played >= API_MIN_MS_PLAYED)[::-1]  # newest first
    played_at_ms = plays.api_played_at_ms
    played_at = _utc_text(played_at_ms, "%Y-%m-%dT%H:%M:%S.%fZ")
    pages = []
    for part in _chunks(len(visible), API_PAGE_SIZE):
        rows = visible[part]
        newest, oldest = int(played_at_ms[rows[0]]), int(played_at_ms[rows[-1]])
        last_page = part.stop >= len(visible)
        pages.append(
            {
                "items": [
                    {
                        "track": _api_track(universe, int(plays.track[i])),
                        "played_at": played_at[i][:23] + "Z",
                        "context": _api_context(plays, int(i)),
                    }
                    for i in rows
                ],
                "next": None if last_page else f"{API_URL}?before={oldest}&limit={API_PAGE_SIZE}",
                "cursors": {"after": str(newest), "before": str(oldest)},
                "limit": API_PAGE_SIZE,
                "href": f"{API_URL}?limit={API_PAGE_SIZE}",
            }
        )
    return pages


def write_api(universe: TrackUniverse, plays: ListenerPlays, folder: Path) -> list[Path]:
    paths = []
    for number, page in enumerate(api_pages(universe, plays)):
        path = folder / f"recently_played_{number:05d}.json"
        _dump(path, page)
        paths.append(path)
    return paths


# Spark SQL types of the Bronze contract as parquet (arrow) types.
ARROW_TYPES = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
}
BRONZE_SCHEMA = pa.schema([(column.name, ARROW_TYPES[column.type]) for column in LISTENING_HISTORY.columns])


def _sha256_each(texts: list[str]) -> list[str]:
    return [hashlib.sha256(text.encode()).hexdigest() for text in texts]


def bronze_table(universe: TrackUniverse, plays: ListenerPlays, user_id: str | None = None) -> pa.Table:
    """Rows of ``bronze.listening_history_bronze`` as the extended-export import would land them.

    ``play_id`` follows the contract: sha256 of user_id | played_at (UTC epoch ms) | track URI."""
    user_id = user_id or pseudonymous_user_id(plays.user_name)
    t = plays.track
    uris = np.array([f"spotify:track:{i}" for i in universe.track_id], dtype=object)[t]
    play_id = _sha256_each([f"{user_id}|{ms}|{uri}" for ms, uri in zip(plays.played_at_ms, uris, strict=True)])
    played_at = pd.to_datetime(plays.played_at_ms, unit="ms", utc=True)
    columns = {
        "play_id": play_id,
        "user_id": [user_id] * len(plays),
        "played_at": played_at,
        "played_date": played_at.date,
        "track_id": universe.track_id[t],
        "track_name": universe.track_name[t],
        "artist_name": universe.artist_name[t],
        "album_name": universe.album_name[t],
        "ms_played": plays.ms_played,
        "source": ["export_extended"] * len(plays),
        "reason_start": plays.reason_start,
        "reason_end": plays.reason_end,
        "skipped": plays.skipped,
        "shuffle": plays.shuffle,
        "offline": plays.offline,
        "platform": plays.platform,
        "conn_country": [plays.conn_country] * len(plays),
        "context_type": [None] * len(plays),
        "context_uri": [None] * len(plays),
        "track_resolution": ["uri"] * len(plays),
        "landing_file": [f"workload/{plays.user_name}"] * len(plays),
    }
    columns["row_hash"] = _sha256_each(
        [
            f"{p}|{m}|{s}|{e}"
            for p, m, s, e in zip(play_id, plays.ms_played, plays.reason_start, plays.reason_end, strict=True)
        ]
    )
    columns["media_type"] = ["audio"] * len(plays)
    return pa.table(columns, schema=BRONZE_SCHEMA)


def write_bronze(universe: TrackUniverse, plays: ListenerPlays, folder: Path, user_id: str | None = None) -> list[Path]:
    path = folder / f"listening_history_{plays.user_name}.parquet"
    pq.write_table(bronze_table(universe, plays, user_id), path, compression="zstd")
    return [path]
