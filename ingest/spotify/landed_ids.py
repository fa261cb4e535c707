"""Track ids mentioned anywhere in the landing zone (recently-played payloads and extended exports)."""

import orjson

from ingest.config import Settings
from ingest.landing.store import landed_files


def landed_track_ids(settings: Settings) -> set[str]:
    ids: set[str] = set()
    for path in landed_files(settings.landing_path / "api", "recently_played/*.json"):
        items = (orjson.loads(path.read_bytes()).get("response") or {}).get("items") or []
        ids.update(i["track"]["id"] for i in items if (i.get("track") or {}).get("id"))
    for path in landed_files(settings.landing_path / "export", "extended/*.json"):
        for record in orjson.loads(path.read_bytes()).get("records") or []:
            uri = record.get("spotify_track_uri") if isinstance(record, dict) else None
            if isinstance(uri, str) and uri.startswith("spotify:track:"):
                ids.add(uri.rsplit(":", 1)[1])
    return ids
