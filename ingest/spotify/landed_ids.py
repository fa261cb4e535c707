"""Track ids mentioned anywhere in the landing zone (recently-played payloads, through the track cache poll fills,
and extended exports)."""

import orjson

from ingest.config import Settings
from ingest.export.importer import exports_landing_dir
from ingest.landing.store import landed_files
from ingest.spotify.metadata import cached_track_ids


def landed_track_ids(settings: Settings) -> set[str]:
    ids = cached_track_ids(settings)
    for path in landed_files(exports_landing_dir(settings), "extended/*.json"):
        for record in orjson.loads(path.read_bytes()).get("records") or []:
            uri = record.get("spotify_track_uri") if isinstance(record, dict) else None
            if isinstance(uri, str) and uri.startswith("spotify:track:"):
                ids.add(uri.rsplit(":", 1)[1])
    return ids
