"""Spotify side of the ingester against the fake Web API (no JVM): auth, poll, cursors, gaps, faults, secrets, and
unattended runs that never prompt (a lapsed authorisation exits 77 and is shown by the pipeline and the report; a
failing poll is recorded per listener, the others are polled, and the pipeline goes on)."""

import logging
import os
import re
import stat
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import orjson
import pytest
from conftest import closed_port

from ingest.config import Settings
from ingest.spotify.auth import AuthError, authorize
from ingest.spotify.client import (
    REFRESH_REJECTED,
    SCOPES,
    AuthorizationLapsed,
    RateLimited,
    SpotifyUnavailable,
    oauth_manager,
    spotify_client,
)
from ingest.spotify.lapse import EXIT_AUTH_LAPSED, Lapse, current_lapses
from ingest.spotify.metadata import audio_features_forbidden, fetch_metadata
from ingest.spotify.poll import poll
from ingest.spotify.poll_failures import EXIT_POLL_FAILED, current_poll_failures
from ingest.spotify.tokens import TokenFile
from ingest.spotify.users import pseudonymous_user_id, token_file
from spotify_analytics.pipeline.run import exit_code, lapse_summary, poll_failure_summary
from spotify_analytics.pipeline.run_log import PipelineRun, format_summary
from spotify_analytics.pipeline.steps import STEPS, run_step
from spotify_analytics.report.data import ReportData, TableRead
from spotify_analytics.report.html import user_page
from spotify_analytics.report.lapses import lapse_notice
from spotify_analytics.report.writer import write_reports
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
    assert len(list((settings.landing_path / "api" / user_id / "recently_played").glob("*.json"))) == 1  # no empty page
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
        [sys.executable, "-m", "spotify_analytics", "poll"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stdout


# ---------------------------------------------------------------- unattended runs: a lapsed authorisation


def spotify_env(settings: Settings, fake: FakeSpotify) -> dict[str, str]:
    """The settings of a command run against the fake, as .env would hold them."""
    return {
        "PROJECT_DIR": str(REPO),
        "DATA_DIR": str(settings.data_dir),
        "CLIENT_ID": fake.state.client_id,
        "CLIENT_SECRET": fake.state.client_secret,
        "SPOTIFY_API_BASE_URL": fake.api_url,
        "SPOTIFY_ACCOUNTS_URL": fake.accounts_url,
        "SPOTIFY_MAX_RETRIES": "1",
    }


def unattended(settings: Settings, fake: FakeSpotify, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m spotify_analytics …`` as cron runs it: nothing on stdin (a prompt would read EOF or wait)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "spotify_analytics", *args],
        cwd=REPO, env={**os.environ, **spotify_env(settings, fake)}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done, time.monotonic() - started


def assert_lapsed(done: subprocess.CompletedProcess[str], seconds: float, name: str, reason: str) -> None:
    assert done.returncode == EXIT_AUTH_LAPSED, done.stdout + done.stderr
    assert seconds < 30
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1, message  # one message, no traceback
    assert f"listener '{name}'" in message and reason in message
    assert message.endswith(f"run: python -m spotify_analytics auth --user {name}")


def test_poll_exits_77_without_prompting_when_spotify_rejects_the_refresh_token(tmp_path, fake):
    settings = settings_for(tmp_path, fake)
    user_id = pseudonymous_user_id(settings, "alice")
    authorize(settings, user_id, lambda url: "http://127.0.0.1:8888/callback?code=good-code&state=x")
    add_plays(fake, 0, 3)
    # Six months on: the access token has long expired and Spotify has expired the refresh token.
    path = token_file(settings, user_id)
    path.write_bytes(orjson.dumps(orjson.loads(path.read_bytes()) | {"expires_at": 0}))
    fake.revoke_refresh_tokens()

    done, seconds = unattended(settings, fake, "poll", "--user", "alice")

    assert_lapsed(done, seconds, "alice", "invalid_grant")
    assert fake.state.counts["refused_refresh"] == 1
    assert landed_play_times(settings, user_id) == []
    [lapse] = current_lapses(settings)
    assert (lapse.user_id, lapse.reason) == (user_id, REFRESH_REJECTED)
    assert f"(since {lapse.since})" in done.stderr
    again, seconds = unattended(settings, fake, "poll", "--user", "alice")
    assert_lapsed(again, seconds, "alice", "invalid_grant")
    assert current_lapses(settings) == [lapse]  # still lapsed since the first failure

    authorize(settings, user_id, lambda url: "http://127.0.0.1:8888/callback?code=good-again&state=x")
    assert current_lapses(settings) == []  # auth ends the lapse
    done, _ = unattended(settings, fake, "poll", "--user", "alice")
    assert (done.returncode, done.stdout.strip()) == (0, "poll: 3 plays landed.")


def test_poll_exits_77_when_the_stored_grant_lacks_a_scope_the_app_asks_for(tmp_path, fake):
    settings = settings_for(tmp_path, fake)
    user_id = pseudonymous_user_id(settings)
    # Tokens from a version that asked for fewer scopes (spotipy alone would ask for a new authorisation on stdin).
    token = fake.grant("user-read-private") | {"expires_at": int(time.time()) + 3600}
    TokenFile(token_file(settings, user_id)).save_token_to_cache(token)
    with pytest.raises(AuthorizationLapsed):
        oauth_manager(settings, user_id).get_access_token(as_dict=False)

    done, seconds = unattended(settings, fake, "poll")

    assert_lapsed(done, seconds, "me", "lacks the scope(s) user-read-recently-played")
    metadata, seconds = unattended(settings, fake, "fetch-metadata")
    assert_lapsed(metadata, seconds, "me", "lacks the scope(s) user-read-recently-played")
    assert fake.state.counts["/v1/me/player/recently-played"] == 0
    # Tokens stored by spotipy itself name the scopes it asked for, not those granted: Spotify answers 403.
    TokenFile(token_file(settings, user_id)).save_token_to_cache(token | {"scope": SCOPES})
    done, seconds = unattended(settings, fake, "poll")
    assert_lapsed(done, seconds, "me", "Spotify refused recently-played: the authorisation lacks a scope")
    assert fake.state.counts["/v1/me/player/recently-played"] == 1
    # An authorisation that grants too little is refused by auth itself, not found out by the next poll.
    fake.grant_only("user-read-private")
    with pytest.raises(AuthError, match=r"scope\(s\) user-read-recently-played are missing"):
        authorized(settings)
    assert [lapse.user_id for lapse in current_lapses(settings)] == [user_id]


def test_poll_exits_77_when_the_listener_has_no_tokens(tmp_path, fake):
    """(Without CLIENT_ID/CLIENT_SECRET poll is skipped with exit code 0: test_poll_cli_skips_without_credentials.)"""
    settings = settings_for(tmp_path, fake)

    done, seconds = unattended(settings, fake, "poll")

    assert_lapsed(done, seconds, "me", "no Spotify tokens are stored")
    assert fake.state.requests == []


def test_the_pipeline_goes_on_past_a_lapsed_authorisation_and_names_the_listener(tmp_path, fake, monkeypatch):
    settings = settings_for(tmp_path, fake)
    for key, value in spotify_env(settings, fake).items():
        monkeypatch.setenv(key, value)
    [poll_step] = [step for step in STEPS if step.name == "poll"]

    result = run_step(poll_step, settings)

    assert (result.status, result.exit_code) == ("lapsed", EXIT_AUTH_LAPSED)
    run = PipelineRun.new()
    run.results.append(result)
    assert run.failed_step is None  # the load, checks, builds and report still run
    assert re.search(r"^  poll\s+lapsed\s", format_summary(run), re.M)
    [lapse] = current_lapses(settings)
    summary = lapse_summary(settings)
    assert f"LAPSED: Spotify authorisation of listener {lapse.user_id} lapsed (since {lapse.since})" in summary
    assert summary.strip().endswith("run: python -m spotify_analytics auth")  # the default listener: no --user needed
    assert exit_code(run, recorded=True) == EXIT_AUTH_LAPSED
    run.results.append(replace(result, step="load", status="failed", exit_code=1))
    assert exit_code(run, recorded=True) == 1  # a failure outranks the lapse


def test_the_report_names_a_listener_whose_authorisation_lapsed(tmp_path):
    lapse = Lapse("u_lapsedlistener0", "2026-06-01T04:00:00Z", REFRESH_REJECTED)
    nothing_built = ReportData(
        *(TableRead(f"gold.table_{n}", None, "not built yet") for n in range(len(fields(ReportData))))
    )

    [index] = write_reports(nothing_built, tmp_path / "reports", "2026-12-03T00:00:00Z", lapses=[lapse])
    page = user_page(lapse.user_id, nothing_built, "2026-12-03T00:00:00Z", notice=lapse_notice([lapse], lapse.user_id))

    for html in (index.read_text(), page):
        assert 'data-warning="authorisation-lapsed"' in html
        assert f'<strong>{lapse.user_id}</strong> since <time datetime="{lapse.since}">' in html
        assert "invalid_grant" in html and "python -m spotify_analytics auth --user" in html
    assert lapse_notice([lapse], "u_someoneelse0000") == ""
    [plain] = write_reports(nothing_built, tmp_path / "plain", "2026-12-03T00:00:00Z")
    assert "authorisation-lapsed" not in plain.read_text()


# ---------------------------------------------------------------- unattended runs: a failing poll (issue 29)


def authorize_listener(settings: Settings, name: str) -> str:
    user_id = pseudonymous_user_id(settings, name)
    authorize(settings, user_id, lambda url: "http://127.0.0.1:8888/callback?code=good-code&state=x")
    return user_id


def test_one_listeners_failing_poll_is_recorded_and_the_others_are_polled(tmp_path, fake):
    """Two listeners authorised; Spotify answers the first one polled 503 on both attempts (SPOTIFY_MAX_RETRIES=1):
    poll lands the other's plays, records the failure and exits 69; the failed listener's next poll clears it."""
    settings = settings_for(tmp_path, fake)
    first, second = sorted(authorize_listener(settings, name) for name in ("alice", "bob"))
    add_plays(fake, 0, 3)
    for _ in range(2):
        fake.fail_next("/v1/me/player/recently-played", 503)

    done, seconds = unattended(settings, fake, "poll")

    assert done.returncode == EXIT_POLL_FAILED, done.stdout + done.stderr
    assert seconds < 30
    assert f"error: poll {first} failed: recently-played: HTTP 503 after 2 attempts" in done.stderr
    assert f"poll {second}: 3 plays landed." in done.stdout
    assert (landed_play_times(settings, first), len(landed_play_times(settings, second))) == ([], 3)
    [failure] = current_poll_failures(settings)
    assert (failure.user_id, failure.reason) == (
        first,
        "recently-played: HTTP 503 after 2 attempts; the next run retries",
    )
    assert current_lapses(settings) == []

    again, _ = unattended(settings, fake, "poll")

    assert again.returncode == 0, again.stdout + again.stderr
    assert f"poll {first}: 3 plays landed." in again.stdout and f"poll {second}: 0 plays landed." in again.stdout
    assert current_poll_failures(settings) == []


def test_an_unreachable_spotify_fails_every_listeners_poll_and_the_pipeline_goes_on(tmp_path, fake, monkeypatch):
    """Nothing listens where the API should be: each listener's poll fails (connection refused after the retries)
    and is recorded; the pipeline's poll step is poll_failed, the run goes on and exits 69 naming both."""
    settings = settings_for(tmp_path, fake)
    user_ids = sorted(authorize_listener(settings, name) for name in ("alice", "bob"))
    closed = f"http://127.0.0.1:{closed_port()}"
    for key, value in {**spotify_env(settings, fake), "SPOTIFY_API_BASE_URL": closed + "/v1/"}.items():
        monkeypatch.setenv(key, value)
    [poll_step] = [step for step in STEPS if step.name == "poll"]

    result = run_step(poll_step, settings)

    assert (result.status, result.exit_code) == ("poll_failed", EXIT_POLL_FAILED)
    assert [failure.user_id for failure in sorted(current_poll_failures(settings), key=lambda f: f.user_id)] == user_ids
    run = PipelineRun.new()
    run.results.append(result)
    assert run.failed_step is None  # the load, checks, builds and report still run
    assert re.search(r"^  poll\s+poll_failed\s", format_summary(run), re.M)
    summary = poll_failure_summary(settings)
    for user_id in user_ids:
        assert f"POLL FAILED: Polling listener {user_id} failed (since " in summary
    assert "ConnectionError after 2 attempts" in summary
    assert exit_code(run, recorded=True) == EXIT_POLL_FAILED
    run.results.append(replace(result, step="poll", status="lapsed", exit_code=EXIT_AUTH_LAPSED))
    assert exit_code(run, recorded=True) == EXIT_AUTH_LAPSED  # a lapse, which needs a person, outranks it
