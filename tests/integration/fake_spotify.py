"""A fake Spotify Web API + accounts service on 127.0.0.1, speaking the real wire format.

Endpoints: ``POST /api/token`` (authorization_code, refresh_token with rotating refresh tokens, and
client_credentials with the app's Basic credentials; listener tokens carry the granted ``scope``, those asked for
unless ``grant_only`` narrows them, and a refresh keeps its grant's scope; an unknown or revoked refresh token
answers 400 ``invalid_grant`` as Spotify does),
``GET /v1/me``, ``/v1/me/player/recently-played`` (limit ≤ 50, ``after``/``before`` ms cursors, newest
first, ``cursors`` and ``next``), ``/v1/tracks/{id}``, ``/v1/artists/{id}``, ``/v1/audio-features/{id}``
and ``/v1/audio-features`` (403 like apps created after Nov 2024), ``/v1/search`` (``track:"…"``/``artist:"…"``
filters, at most 10 items a page). Faults are scripted:
``fail_next(path_prefix, status, retry_after=None)`` makes the next matching request answer that status
(429 with ``Retry-After``, 5xx); ``expire_tokens()`` makes every access token answer 401;
``revoke_refresh_tokens()`` makes every refresh answer ``invalid_grant`` (Spotify's six-month expiry).
Recently-played answers 403 "Insufficient client scope" to a token whose grant lacks user-read-recently-played.
"""

import base64
import json
import re
import secrets
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PAGE_LIMIT = 50


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def track_object(track_id: str, name: str, artist: str, album: str = "Album", duration_ms: int = 200_000) -> dict:
    artist_id = "ar" + track_id[:20]
    return {
        "id": track_id,
        "name": name,
        "uri": f"spotify:track:{track_id}",
        "type": "track",
        "duration_ms": duration_ms,
        "explicit": False,
        "artists": [{"id": artist_id, "name": artist, "type": "artist", "uri": f"spotify:artist:{artist_id}"}],
        "album": {"id": "al" + track_id[:20], "name": album, "type": "album"},
    }


@dataclass
class Fault:
    path_prefix: str
    status: int
    retry_after: int | None = None


@dataclass
class FakeState:
    client_id: str = "test-client-id"
    client_secret: str = "test-client-secret-do-not-log"
    plays: list[dict] = field(default_factory=list)  # {"played_at_ms", "track"}
    tracks: dict[str, dict] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)  # access token -> the scope it grants
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> the scope it grants
    granted_scope: str | None = None  # None: grant what the authorization asks for
    faults: list[Fault] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def basic_credentials(self) -> str:
        return base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()

    def issue_tokens(self, scope: str = "") -> dict[str, Any]:
        access, refresh = "AT-" + secrets.token_hex(12), "RT-" + secrets.token_hex(12)
        self.access_tokens[access] = scope
        self.refresh_tokens[refresh] = scope
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh,
            "scope": scope,
        }


class FakeSpotify:
    """Start with ``with FakeSpotify() as fake:``; ``fake.api_url`` / ``fake.accounts_url`` go to Settings."""

    def __init__(self) -> None:
        self.state = FakeState()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base + "/v1/"

    @property
    def accounts_url(self) -> str:
        return self.base

    def __enter__(self) -> "FakeSpotify":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_play(self, played_at_ms: int, track: dict) -> None:
        with self.state.lock:
            self.state.tracks[track["id"]] = track
            self.state.plays.append({"played_at_ms": played_at_ms, "track": track})
            self.state.plays.sort(key=lambda p: p["played_at_ms"], reverse=True)

    def fail_next(self, path_prefix: str, status: int, retry_after: int | None = None) -> None:
        self.state.faults.append(Fault(path_prefix, status, retry_after))

    def add_track(self, track: dict) -> None:
        """A track Spotify knows (``/v1/tracks/{id}``, search) without a play."""
        with self.state.lock:
            self.state.tracks[track["id"]] = track

    def expire_tokens(self) -> None:
        self.state.access_tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token stops working (Spotify expires them after six months): refreshes get invalid_grant."""
        self.state.refresh_tokens.clear()

    def grant_only(self, scope: str) -> None:
        """Later authorizations grant only these scopes (space-separated), whatever they ask for."""
        self.state.granted_scope = scope

    def grant(self, scope: str = "") -> dict[str, Any]:
        """Tokens as the authorization-code exchange would give them (for seeding a token cache)."""
        return self.state.issue_tokens(scope)


def _handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            return

        def _send(self, status: int, body: dict | None, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            self._send(status, {"error": {"status": status, "message": message}}, headers)

        def _scripted_fault(self, path: str) -> bool:
            for fault in list(state.faults):
                if path.startswith(fault.path_prefix):
                    state.faults.remove(fault)
                    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
                    self._error(fault.status, "scripted fault", headers)
                    return True
            return False

        def do_POST(self) -> None:
            path = urlparse(self.path).path
            state.requests.append("POST " + path)
            if self._scripted_fault(path):
                return
            if path != "/api/token":
                return self._error(404, "not found")
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            grant = form.get("grant_type")
            if grant == "authorization_code" and form.get("code", "").startswith("good"):
                scope = state.granted_scope if state.granted_scope is not None else form.get("scope", "")
                return self._send(200, state.issue_tokens(scope))
            if grant == "client_credentials":  # the app's own token (no refresh token, no listener)
                if self.headers.get("Authorization") != "Basic " + state.basic_credentials():
                    return self._send(400, {"error": "invalid_client", "error_description": "Invalid client"})
                access = "AT-app-" + secrets.token_hex(12)
                state.access_tokens[access] = ""
                return self._send(200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600})
            if grant == "refresh_token" and form.get("refresh_token") in state.refresh_tokens:
                scope = state.refresh_tokens.pop(form["refresh_token"])  # rotation: the old one stops working
                state.counts["refresh"] += 1
                return self._send(200, state.issue_tokens(scope))
            state.counts["refused_refresh"] += grant == "refresh_token"
            return self._send(400, {"error": "invalid_grant", "error_description": "Refresh token revoked"})

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            path, query = parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}
            state.requests.append("GET " + path)
            state.counts[path] += 1
            if self._scripted_fault(path):
                return
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in state.access_tokens:
                return self._error(401, "The access token expired")
            if path == "/v1/me":
                return self._send(200, {"id": "fakeuser", "display_name": "Fake User", "type": "user"})
            if path == "/v1/me/player/recently-played":
                if "user-read-recently-played" not in state.access_tokens[token].split():
                    return self._error(403, "Insufficient client scope")
                return self._send(200, self._recently_played(query))
            if path.startswith("/v1/tracks/"):
                track = state.tracks.get(path.rsplit("/", 1)[1])
                return self._send(200, track) if track else self._error(404, "Non existing id")
            if path.startswith("/v1/artists/"):
                artist_id = path.rsplit("/", 1)[1]
                return self._send(200, {"id": artist_id, "name": "Artist", "type": "artist", "genres": []})
            if path.startswith("/v1/audio-features"):
                return self._error(403, "Forbidden")
            if path == "/v1/search":
                return self._send(200, self._search(query))
            return self._error(404, "Service not found")

        def _recently_played(self, query: dict[str, str]) -> dict:
            limit = min(int(query.get("limit", 20)), PAGE_LIMIT)
            plays = state.plays
            if "after" in query:
                after = int(query["after"])
                newer = [p for p in plays if p["played_at_ms"] > after]
                page = newer[:limit]  # like Spotify: the newest `limit` plays after the cursor (older ones are lost)
            elif "before" in query:
                before = int(query["before"])
                page = [p for p in plays if p["played_at_ms"] < before][:limit]
            else:
                page = plays[:limit]
            items = [
                {
                    "track": p["track"],
                    "played_at": iso_ms(p["played_at_ms"]),
                    "context": {"type": "playlist", "uri": "spotify:playlist:fake"},
                }
                for p in page
            ]
            cursors = {"after": str(page[0]["played_at_ms"]), "before": str(page[-1]["played_at_ms"])} if page else None
            return {
                "items": items,
                "next": None,
                "cursors": cursors,
                "limit": limit,
                "href": "http://127.0.0.1/v1/me/player/recently-played",
            }

        def _search(self, query: dict[str, str]) -> dict:
            """``q`` with ``track:"…"`` and ``artist:"…"`` filters (or bare words), ``type=track``, ``limit``."""
            q = query.get("q", "")
            filters = dict(re.findall(r'(track|artist):"([^"]*)"', q))
            words = re.sub(r'(track|artist):"[^"]*"', " ", q).lower().split()
            limit = min(int(query.get("limit", 5)), 10)  # development-mode apps: at most 10 per page

            def matches(track: dict) -> bool:
                name, artist = track["name"].lower(), track["artists"][0]["name"].lower()
                return (
                    filters.get("track", "").lower() in name
                    and filters.get("artist", "").lower() in artist
                    and all(w in f"{name} {artist}" for w in words)
                )

            hits = [t for t in state.tracks.values() if matches(t)]
            return {
                "tracks": {
                    "href": "http://127.0.0.1/v1/search",
                    "items": hits[:limit],
                    "limit": limit,
                    "next": None,
                    "offset": 0,
                    "previous": None,
                    "total": len(hits),
                }
            }

    return Handler
