"""Spotify side of the ingester against the fake Web API (no JVM): auth, poll, cursors, gaps, faults, secrets."""

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ingest.config import Settings
from ingest.spotify.auth import authorize
from ingest.spotify.client import RateLimited, SpotifyUnavailable, spotify_client
from ingest.spotify.metadata import audio_features_forbidden, fetch_metadata
from ingest.spotify.poll import poll
from ingest.spotify.users import pseudonymous_user_id, token_file
from tests.integration.fake_spotify import FakeSpotify, track_object

REPO = Path(__file__).resolve().parents[2]
T0 = 1_760_000_000_000  # ms


def settings_for(tmp_path: Path, fake: FakeSpotify, **extra: object) -> Settings:
    return Settings(
        project_dir=REPO,
        data_dir=tmp_path / "data",
        client_id=fake.state.client_id,
        client_secret=fake.state.client_secret,
        spotify_api_base_url=fake.api_url,
        spotify_accounts_url=fake.accounts_url,
        spotify_backoff_cap=2,
        spotify_max_retries=2,
        **extra,
    )


def authorized(settings: Settings) -> str:
    user_id = pseudonymous_user_id(settings)
    authorize(settings, user_id, lambda url: "http://127.0.0.1:8888/callback?code=good-code&state=x")
    return user_id


def add_plays(fake: FakeSpotify, start: int, count: int, step_ms: int = 180_000) -> None:
    for i in range(start, start + count):
        fake.add_play(T0 + i * step_ms, track_object(f"track{i:018d}", f"Song {i}", f"Artist {i % 7}"))


def landed_play_times(settings: Settings, user_id: str) -> list[str]:
    folder = settings.landing_path / "api" / user_id / "recently_played"
    return [
        item["played_at"]
        for path in sorted(folder.glob("*.json"))
        for item in orjson.loads(path.read_bytes())["response"]["items"]
    ]


@pytest.fixture
def fake():
    with FakeSpotify() as server:
        yield server


def test_auth_writes_private_token_file_and_no_secret_in_logs(tmp_path, fake, caplog):
    caplog.set_level(logging.DEBUG)
    settings = settings_for(tmp_path, fake)
    user_id = authorized(settings)
    path = token_file(settings, user_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    token = orjson.loads(path.read_bytes())
    add_plays(fake, 0, 3)
    fake.expire_tokens()  # next call gets 401 → refresh → rotated refresh token persisted
    assert poll(settings, user_id).plays == 3
    rotated = orjson.loads(path.read_bytes())
    assert rotated["refresh_token"] != token["refresh_token"]
    assert rotated["refresh_token"] in fake.state.refresh_tokens
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = [fake.state.client_secret, token["access_token"], token["refresh_token"], rotated["access_token"]]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert not [s for s in secrets if s in logged]


def test_poll_overlap_cursor_and_gap(tmp_path, fake):
    settings = settings_for(tmp_path, fake)
    user_id = authorized(settings)
    add_plays(fake, 0, 10)
    assert poll(settings, user_id).plays == 10
    assert poll(settings, user_id).plays == 0  # the cursor moved: nothing new
    add_plays(fake, 10, 5)
    assert poll(settings, user_id).plays == 5
    times = landed_play_times(settings, user_id)
    assert len(times) == len(set(times)) == 15
    # 120 plays since the cursor, but the API returns only the newest 50: a gap is logged and recorded
    add_plays(fake, 15, 120)
    result = poll(settings, user_id)
    assert (result.plays, result.gap) == (50, True)
    gaps = list((settings.landing_path / "api" / user_id / "gaps").glob("*.json"))
    assert len(gaps) == 1 and orjson.loads(gaps[0].read_bytes())["oldest_play_ms"] == T0 + 85 * 180_000


def test_poll_backoff_429_and_5xx(tmp_path, fake, caplog):
    settings = settings_for(tmp_path, fake)
    user_id = authorized(settings)
    add_plays(fake, 0, 2)
    fake.fail_next("/v1/me/player/recently-played", 429, retry_after=1)
    fake.fail_next("/v1/me/player/recently-played", 503)
    assert poll(settings, user_id).plays == 2
    assert "rate limited, waiting 1 s" in caplog.text and "HTTP 503" in caplog.text
    # Retry-After above the cap: stop cleanly, cursor unchanged, the next run resumes
    add_plays(fake, 2, 3)
    fake.fail_next("/v1/me/player/recently-played", 429, retry_after=7200)
    with pytest.raises(RateLimited, match="7200 s"):
        poll(settings, user_id)
    assert poll(settings, user_id).plays == 3
    for _ in range(3):
        fake.fail_next("/v1/me/player/recently-played", 500)
    with pytest.raises(SpotifyUnavailable, match="HTTP 500 after 3 attempts"):
        poll(settings, user_id)


def test_metadata_cache_and_audio_features_403_remembered(tmp_path, fake):
    settings = settings_for(tmp_path, fake)
    user_id = authorized(settings)
    add_plays(fake, 0, 2)
    poll(settings, user_id)  # track objects arrive with the plays: not fetched again
    fake.state.tracks["extra000000000000001"] = track_object("extra000000000000001", "Extra", "Someone")
    client = spotify_client(settings, user_id)
    ids = ["track000000000000000000", "extra000000000000001"]
    result = fetch_metadata(settings, client, ids)
    assert (result.tracks_fetched, result.features_forbidden) == (1, True)
    assert fake.state.counts["/v1/tracks/track000000000000000000"] == 0
    assert audio_features_forbidden(settings)
    features_calls = sum(n for path, n in fake.state.counts.items() if path.startswith("/v1/audio-features"))
    fetch_metadata(settings, client, ids)  # cached track, remembered 403: no request at all
    assert fake.state.counts["/v1/tracks/extra000000000000001"] == 1
    assert sum(n for p, n in fake.state.counts.items() if p.startswith("/v1/audio-features")) == features_calls


def test_poll_cli_skips_without_credentials(tmp_path):
    env = {**os.environ, "PROJECT_DIR": str(REPO), "DATA_DIR": str(tmp_path / "data"), "CLIENT_ID": ""}
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "poll"], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stdout
