"""The listening-rhythm models on real Spotify exports: the session's ``real_exports_run`` (every real export imported
and the pipeline run once; this module's name sorts right after test_real_exports, which shares that run).

``late_night_share``, ``repeat_share`` and ``top10_share`` of every week, month and year of two real extended exports
are computed here straight from the JSON files, not through the models' SQL, mirroring only Silver's rules: which
records are music plays (not podcast episodes or audiobook chapters; a track URI, or artist and title), one play per
(listener, ``ts``, track) however often a file lists it (the first record kept), ``ts`` as the play's UTC time, local
time in the lakehouse's timezone (``TIMEZONE``, UTC by default: the session sets none). Then the year in review's dbt
unit test runs against the built lakehouse (its inputs need the Gold Python models; the other rhythm models' unit
tests run in test_silver_gold's build), and the report's pages carry every rhythm section.
"""

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from conftest import EXIT_POLL_FAILED, EXPORTS, REPO, Lakehouse, ScheduledRun

TRACK_URI = re.compile(r"spotify:track:([0-9A-Za-z]+)")
FOLDERS = ["mica-92__in-summation", "Khushi-203006__Spotify_Data_Analysis_Project"]
RHYTHM_SECTIONS = ["rhythm-diurnal", "rhythm-repetitiveness", "rhythm-low-valence", "rhythm-favourites",
                   "rhythm-late-night", "rhythm-changes", "year-in-review"]  # fmt: skip
SETTINGS = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
MIN_MINUTES, MIN_SHARE = SETTINGS["rhythm_min_minutes"], SETTINGS["rhythm_min_measured_share"]


@dataclass(frozen=True)
class Play:
    played_at: datetime  # local
    track: object  # the track id, or (artist, title) when the record has no track URI
    ms: int


def music_plays(folder: Path, timezone: str) -> list[Play]:
    """The folder's music plays as Silver holds them, read from its extended-export JSON files."""
    seen: dict[tuple, Play] = {}
    for path in sorted(folder.glob("Streaming_History_*.json")) + sorted(folder.glob("endsong*.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            if record.get("spotify_episode_uri") or record.get("episode_name"):
                continue  # a podcast episode
            if record.get("audiobook_chapter_uri") or record.get("audiobook_title") or record.get("audiobook_uri"):
                continue  # an audiobook chapter
            uri = record.get("spotify_track_uri") or ""
            match = TRACK_URI.fullmatch(uri)
            artist, title = record.get("master_metadata_album_artist_name"), record.get("master_metadata_track_name")
            if not match and not (artist and title):
                continue  # neither: quarantined
            track = match[1] if match else (artist, title)
            utc = datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
            key = (utc, uri if match else (artist, title))
            if key not in seen:  # the same play listed twice counts once: the first record
                local = utc.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
                seen[key] = Play(local, track, int(record["ms_played"]))
    return list(seen.values())


def period_starts(day: date) -> dict[str, date]:
    return {
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "year": day.replace(month=1, day=1),
    }


def expected_shares(plays: list[Play]) -> dict[tuple[str, date], dict[str, float | None]]:
    """Per period: the share of listening time late at night (local 00:00-04:59), on repeats of a track already
    played in the period (all of a track's time but its first play's) and on the period's 10 most-listened tracks;
    None under rhythm_min_minutes of listening."""
    periods: dict[tuple[str, date], list[Play]] = defaultdict(list)
    for play in plays:
        for period_type, start in period_starts(play.played_at.date()).items():
            periods[(period_type, start)].append(play)
    shares = {}
    for key, in_period in periods.items():
        total = sum(play.ms for play in in_period)
        if total < MIN_MINUTES * 60_000:
            shares[key] = {"late_night_share": None, "repeat_share": None, "top10_share": None}
            continue
        per_track: dict[object, list[Play]] = defaultdict(list)
        for play in sorted(in_period, key=lambda p: p.played_at):
            per_track[play.track].append(play)
        track_ms = sorted((sum(p.ms for p in track_plays) for track_plays in per_track.values()), reverse=True)
        shares[key] = {
            "late_night_share": sum(p.ms for p in in_period if p.played_at.hour < 5) / total,
            "repeat_share": sum(sum(p.ms for p in track_plays[1:]) for track_plays in per_track.values()) / total,
            "top10_share": sum(track_ms[:10]) / total,
        }
    return shares


@pytest.fixture(scope="module")
def built(real_exports_run: ScheduledRun) -> ScheduledRun:
    result = real_exports_run.first
    assert result.returncode == EXIT_POLL_FAILED, result.stdout[-6000:] + result.stderr[-6000:]  # polls fail by design
    return real_exports_run


@pytest.mark.parametrize("folder", FOLDERS)
def test_late_night_and_repetitiveness_equal_the_json_files(lakehouse: Lakehouse, built: ScheduledRun, folder) -> None:
    expected = expected_shares(music_plays(EXPORTS / folder, os.environ.get("TIMEZONE", "UTC")))
    rows = lakehouse.sql(
        "select period_type, period_start, late_night_share, repeat_share, top10_share from gold.listening_rhythms "
        f"where user_id = '{built.users[folder]}'"
    )
    actual = {
        (row.period_type, row.period_start): {
            "late_night_share": row.late_night_share, "repeat_share": row.repeat_share, "top10_share": row.top10_share
        }
        for row in rows
    }  # fmt: skip
    assert set(actual) == set(expected)
    assert sum(1 for shares in expected.values() if shares["repeat_share"] is not None) >= 10, folder
    for key, shares in expected.items():
        for name, value in shares.items():
            assert actual[key][name] == (None if value is None else pytest.approx(value, abs=1e-12)), (
                folder,
                key,
                name,
            )


def test_year_in_review_unit_test_passes_on_the_built_lakehouse(lakehouse: Lakehouse, built: ScheduledRun) -> None:
    """The year in review's formulas (dbt unit tests, worked out by hand in their description: a full build, and an
    incremental run recomputing the listener); its inputs include the Gold Python models, which the session's
    pipeline run has built."""
    result = lakehouse.dbt("test", "--select", "year_in_review,test_type:unit")
    assert result.returncode == 0, result.stdout[-5000:]
    assert "PASS=3 " in result.stdout and "ERROR=0" in result.stdout


def test_report_pages_have_every_rhythm_section(lakehouse: Lakehouse, built: ScheduledRun) -> None:
    reports = lakehouse.settings.data_path / "reports"
    for folder, user_id in built.users.items():
        page = (reports / f"user-{user_id}.html").read_text()
        for section in RHYTHM_SECTIONS:
            assert f'<section id="{section}">' in page, (folder, section)
        assert page.count('data-citation="source"') == 4, folder  # diurnal, repetitiveness, low valence, favourites
    # the classic export: 1% of its listening time has measured features, so every feature-based chart says so
    classic = (reports / f"user-{built.users['hobbies-w-erin__Spotify-Account-Data']}.html").read_text()
    for chart in ("diurnal-rhythm", "low-valence-runs", "favourites", "year-mood-mix"):
        assert f'data-chart="{chart}"' not in classic, chart
    assert classic.count('data-note="too-little-data"') >= 4
    # charts that use no audio features are drawn from the real listening
    khushi = (reports / f"user-{built.users['Khushi-203006__Spotify_Data_Analysis_Project']}.html").read_text()
    assert 'data-chart="repetitiveness"' in khushi and 'data-chart="late-night"' in khushi


def test_null_not_zero_where_features_are_too_few(lakehouse: Lakehouse, built: ScheduledRun) -> None:
    """With the shared 10K-row Kaggle sample, measured features cover a few percent of the real listening: a
    feature-based figure is null exactly where its listening time or its measured share is under the thresholds."""
    enough = f"minutes_listened >= {MIN_MINUTES} and measured_share >= {MIN_SHARE}"
    favourites_enough = f"favourite_minutes >= {MIN_MINUTES} and favourite_measured_share >= {MIN_SHARE}"
    [row] = lakehouse.sql(
        "select count(*) as periods, count_if(not coalesce(" + enough + ", false)) as thin, "
        "count_if((valence is null or energy is null) = coalesce(" + enough + ", false)) as mood_wrong, "
        "count_if((favourite_valence is null) = coalesce(" + favourites_enough + ", false)) as favourites_wrong "
        "from gold.listening_rhythms"
    )
    assert row.periods >= row.thin > 0  # the real listening mostly rests on too few measured features
    assert (row.mood_wrong, row.favourites_wrong) == (0, 0)
