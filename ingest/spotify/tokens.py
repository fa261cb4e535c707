"""Token cache for spotipy: one file per listener, mode 0600, written atomically.

Refresh tokens may rotate on every refresh; spotipy hands every new token to ``save_token_to_cache``, so the
newest refresh token is always the one on disk.
"""

from pathlib import Path

import orjson
from spotipy.cache_handler import CacheHandler

from ingest.landing.store import atomic_write


class TokenFile(CacheHandler):
    def __init__(self, path: Path) -> None:
        self.path = path

    def get_cached_token(self) -> dict | None:
        try:
            return orjson.loads(self.path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None

    def save_token_to_cache(self, token_info: dict) -> None:
        atomic_write(self.path, orjson.dumps(token_info), mode=0o600)
