"""Each participant's own timezone (issue 30), on the real exports' lakehouse (the session's ``real_exports_run``;
this module sorts right after test_real_exports, which checks what that run built).

Khushi's extended exports were played from India (``conn_country`` IN in every record), a country of one zone:
that is the suggested zone. Setting it with ``participants set`` and building again moves that listener's local
hours, days and weekdays to Asia/Kolkata (computed here with zoneinfo from the UTC times Silver holds) and leaves
every other listener's as they were; the build rewrites that listener's Silver rows and no other's.
"""

import json
from collections import Counter
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from conftest import EXPORTS, Lakehouse, ScheduledRun

from ingest.participants.timezones import suggested_timezone

KHUSHI = "Khushi-203006__Spotify_Data_Analysis_Project"
NATE = "nate-downer__spotify-analysis"
BUILD = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
MODELS = ["--select", "+wellbeing_indicators", "+temporal_patterns"]


def local_times(lakehouse: Lakehouse, user_id: str) -> dict[str, tuple]:
    rows = lakehouse.sql(
        "select play_id, played_at, hour_of_day, played_date_local, day_of_week, timezone, built_at "
        f"from silver.listening_with_features where user_id = '{user_id}'"
    )
    return {row.play_id: row for row in rows}


def expected_local(played_at, zone: str) -> tuple:
    """Silver's played_at is a naive UTC timestamp: its hour, date and ISO weekday in ``zone``."""
    local = played_at.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return local.hour, local.date(), local.isoweekday()


@pytest.fixture(scope="module")
def zone_set(lakehouse: Lakehouse, real_exports_run: ScheduledRun) -> dict:
    """Khushi's timezone set to the suggested zone, then an incremental build; the state before and after."""
    users = real_exports_run.users
    before = {name: local_times(lakehouse, users[name]) for name in (KHUSHI, NATE)}
    [version] = lakehouse.sql("describe history silver.listening_with_features limit 1")
    done = lakehouse.cli("participants", "set", KHUSHI, "--timezone", "Asia/Kolkata")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    built = lakehouse.dbt(*BUILD, *MODELS)
    assert built.returncode == 0, built.stdout[-5000:]
    after = {name: local_times(lakehouse, users[name]) for name in (KHUSHI, NATE)}
    merges = [
        row for row in lakehouse.sql("describe history silver.listening_with_features") if row.version > version.version
    ]
    return {"before": before, "after": after, "merges": merges, "set": done, "users": users}


def test_the_exports_suggest_the_zone_of_the_country_they_were_played_from(lakehouse: Lakehouse, zone_set) -> None:
    countries = Counter(
        record.get("conn_country")
        for path in (EXPORTS / KHUSHI).glob("Streaming_History_*.json")
        for record in json.loads(path.read_text(encoding="utf-8"))
    )
    assert set(countries) == {"IN"}  # India has one timezone, Asia/Kolkata
    assert suggested_timezone(lakehouse.settings, zone_set["users"][KHUSHI]) == "Asia/Kolkata"
    assert suggested_timezone(lakehouse.settings, zone_set["users"]["hobbies-w-erin__Spotify-Account-Data"]) is None
    assert "now has timezone Asia/Kolkata (was TIMEZONE, UTC)" in zone_set["set"].stdout


def test_local_time_moves_to_the_participants_zone_and_no_one_elses(zone_set) -> None:
    before, after = zone_set["before"], zone_set["after"]
    assert set(after[KHUSHI]) == set(before[KHUSHI]) and len(after[KHUSHI]) == 8535 + 43
    for play_id, row in after[KHUSHI].items():
        assert row.timezone == "Asia/Kolkata"
        assert (row.hour_of_day, row.played_date_local, row.day_of_week) == expected_local(
            row.played_at, "Asia/Kolkata"
        )
        old = before[KHUSHI][play_id]
        assert (old.hour_of_day, old.played_date_local) == expected_local(old.played_at, "UTC")[:2]
    assert after[NATE] == before[NATE]  # not even rebuilt: the same rows, the same built_at


def test_the_build_rewrote_that_participants_rows_only(zone_set) -> None:
    [merge] = [row for row in zone_set["merges"] if row.operation == "MERGE"]
    metrics = merge.operationMetrics
    plays = len(zone_set["after"][KHUSHI])
    assert int(metrics["numSourceRows"]) == plays
    assert int(metrics["numTargetRowsUpdated"]) == plays
    assert int(metrics["numTargetRowsInserted"]) == int(metrics["numTargetRowsDeleted"]) == 0
    built = {row.built_at for row in zone_set["after"][KHUSHI].values()}
    assert len(built) == 1 and built != {row.built_at for row in zone_set["before"][KHUSHI].values()}


def test_gold_follows_the_participants_zone(lakehouse: Lakehouse, zone_set) -> None:
    """Gold's days are the participant's local days: recomputed, and equal to a count from Silver."""
    user_id = zone_set["users"][KHUSHI]
    days = Counter(row.played_date_local for row in zone_set["after"][KHUSHI].values())
    gold = {
        row.period_start: row.plays
        for row in lakehouse.sql(
            "select period_start, plays from gold.wellbeing_indicators "
            f"where user_id = '{user_id}' and period_type = 'day' and plays > 0"
        )
    }
    assert gold == dict(days)
    hours = Counter(row.hour_of_day for row in zone_set["after"][KHUSHI].values())
    cells = lakehouse.sql(
        f"select hour_of_day, sum(plays) as plays from gold.temporal_patterns where user_id = '{user_id}' "
        "group by hour_of_day"
    )
    assert {row.hour_of_day: row.plays for row in cells} == dict(hours)
