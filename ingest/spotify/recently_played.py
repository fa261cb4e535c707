"""The recently-played resource: where each polled page lands and how the landed pages are read back.

Each API response lands whole, in an envelope (``user_id``, ``fetched_at``, ``request``, ``response``), as
``landing/api/<user_id>/recently_played/<fetched_at>.json``; ``poll`` writes them, the loads and the metadata
fetch read them.
"""

from datetime import datetime
from pathlib import Path

import orjson

from ingest.config import Settings
from ingest.landing.store import landed_files, write_once
from ingest.resource import Resource

RECENTLY_PLAYED = Resource(
    name="recently_played",
    key=("user_id", "played_at"),
    write_disposition="write-once",
    cursor="after",  # the newest played_at landed, in ms: Spotify's own `after` parameter
    incremental="each poll asks for plays after the cursor, which moves only once the page has landed",
)


def api_landing_dir(settings: Settings, user_id: str) -> Path:
    return settings.landing_path / "api" / user_id


def land_page(settings: Settings, user_id: str, request: dict, response: dict, fetched_at: datetime) -> Path:
    """Land one recently-played response of a listener in its envelope (write once; the name is the fetch time)."""
    envelope = {"user_id": user_id, "fetched_at": fetched_at.isoformat(), "request": request, "response": response}
    path = api_landing_dir(settings, user_id) / RECENTLY_PLAYED.name / f"{fetched_at.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    write_once(path, orjson.dumps(envelope))
    return path


def landed_pages(settings: Settings) -> list[Path]:
    """Every landed recently-played page of every listener."""
    return landed_files(settings.landing_path / "api", f"{RECENTLY_PLAYED.name}/*.json")


def page_items(path: Path) -> list[dict]:
    return (orjson.loads(path.read_bytes()).get("response") or {}).get("items") or []
