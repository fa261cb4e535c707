"""Generated privacy-export files for the ingest tests (both formats, with personal fields to drop)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def extended_record(i: int, track_id: str | None = None) -> dict:
    ts = START + timedelta(minutes=4 * i)
    return {
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "username": "real-user-name",
        "platform": "android",
        "ms_played": 30_000 + (i * 7919) % 200_000,
        "conn_country": "DE",
        "ip_addr_decrypted": "10.1.2.3",
        "ip_addr": "10.1.2.3",
        "user_agent_decrypted": "unknown-agent",
        "master_metadata_track_name": f"Song {i % 500}",
        "master_metadata_album_artist_name": f"Artist {i % 50}",
        "master_metadata_album_album_name": "Album",
        "spotify_track_uri": f"spotify:track:{track_id or f'gen{i % 500:019d}'}",
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "trackdone",
        "reason_end": "fwdbtn" if i % 5 == 0 else "trackdone",
        "shuffle": i % 3 == 0,
        "skipped": i % 5 == 0,
        "offline": False,
        "offline_timestamp": 0,
        "incognito_mode": False,
    }


def podcast_record(i: int) -> dict:
    record = extended_record(i)
    record.update(
        spotify_track_uri=None,
        master_metadata_track_name=None,
        master_metadata_album_artist_name=None,
        master_metadata_album_album_name=None,
        episode_name=f"Episode {i}",
        episode_show_name="A Show",
        spotify_episode_uri=f"spotify:episode:ep{i:020d}",
    )
    return record


def write_extended(folder: Path, index: int, records: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"Streaming_History_Audio_2024_{index}.json"
    path.write_text(json.dumps(records))
    return path


def write_classic(folder: Path, index: int, records: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"StreamingHistory_music_{index}.json"
    path.write_text(json.dumps(records))
    return path
