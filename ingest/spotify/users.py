"""Listeners: a pseudonymous ``user_id`` on every row, and a private state folder per listener."""

import hashlib
from pathlib import Path

from ingest.config import Settings
from ingest.landing.store import private_dir


def pseudonymous_user_id(settings: Settings, user: str | None = None) -> str:
    """A stable pseudonym for a local listener name (salted hash; the name itself is never stored)."""
    name = user or settings.spotify_user
    return "u_" + hashlib.sha256(f"{settings.user_id_salt}|{name}".encode()).hexdigest()[:16]


def user_state_dir(settings: Settings, user_id: str) -> Path:
    return private_dir(private_dir(settings.ingest_state_path) / user_id)


TOKEN_FILE = "spotify_tokens.json"


def token_file(settings: Settings, user_id: str) -> Path:
    return user_state_dir(settings, user_id) / TOKEN_FILE


def listeners_with_tokens(settings: Settings) -> list[str]:
    """The pseudonyms of every listener whose Spotify tokens are stored (authorised with ``auth``), sorted."""
    return sorted(path.parent.name for path in settings.ingest_state_path.glob(f"*/{TOKEN_FILE}"))
