"""Track ids mentioned anywhere in the landing zone (recently-played payloads and extended exports)."""

import orjson

from ingest.config import Settings
from ingest.export.importer import exports_landing_dir
from ingest.landing.store import landed_files
from ingest.spotify.recently_played import landed_pages, page_track_ids


def landed_track_ids(settings: Settings) -> set[str]:
    ids = set(page_track_ids(landed_pages(settings)))
    for path in landed_files(exports_landing_dir(settings), "extended/*.json"):
        for record in orjson.loads(path.read_bytes()).get("records") or []:
            uri = record.get("spotify_track_uri") if isinstance(record, dict) else None
            if isinstance(uri, str) and uri.startswith("spotify:track:"):
                ids.add(uri.rsplit(":", 1)[1])
    return ids
