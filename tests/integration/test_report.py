"""The wellbeing report: written by ``python -m spotify_analytics report`` from contract-shaped Silver and Gold tables,
checked in headless Chromium over the DevTools protocol (network disabled), and byte-for-byte deterministic.

The tables live in their own databases (``report_silver``, ``report_gold``) so this module neither
depends on nor disturbs the real models other modules build in the shared session lakehouse.
"""

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rhythm_tables
from browser import REPORT_SECTIONS, inspect_page, require_chromium

SILVER_DB, GOLD_DB = "report_silver", "report_gold"
USERS = ["u-3f9a2c", "u-b71e04"]  # pseudonymous ids; the second listener has synthetic-only features
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
EXPECTED_USER_CHARTS = {"heatmap", "top-artists", "top-tracks", "weekly-indicators", "mood-over-time", "mood-clusters"}
# The listening-rhythm charts: those that use no audio features are drawn for both listeners; the others only for
# the first, whose features are measured (Kaggle, API): the second's are synthetic, so those say "too little data".
RHYTHM_CHARTS = {"repetitiveness", "late-night", "rhythm-z-scores"}
MEASURED_RHYTHM_CHARTS = {"diurnal-rhythm", "low-valence-runs", "favourites", "year-mood-mix"}

SILVER_SCHEMA = (
    "play_id string, user_id string, played_at timestamp, played_at_local timestamp, played_date_local date, "
    "hour_of_day int, day_of_week int, part_of_day string, is_weekend boolean, track_id string, track_name string, "
    "artist_name string, album_name string, ms_played bigint, minutes_played double, source string, "
    "skipped boolean, reason_start string, reason_end string, shuffle boolean, session_id string, "
    "session_play_number int, feature_source string, has_features boolean, danceability double, energy double, "
    "valence double, acousticness double, instrumentalness double, speechiness double, liveness double, "
    "loudness double, tempo double, musical_key int, musical_mode int, time_signature int"
)
WELLBEING_SCHEMA = (
    "user_id string, period_type string, period_start date, minutes_listened double, plays bigint, "
    "valence_weighted double, energy_weighted double, mood_variability double, late_night_share double, "
    "repeat_share double, skip_rate double, share_features_real double, share_features_kaggle double, "
    "share_features_synthetic double, share_no_features double, feature_coverage_plays double, "
    "feature_coverage_minutes double, podcast_minutes double, audiobook_minutes double"
)
TEMPORAL_SCHEMA = (
    "user_id string, day_of_week int, hour_of_day int, minutes_listened double, plays bigint, "
    "mean_valence double, mean_energy double"
)
CLUSTERS_SCHEMA = (
    "cluster_id int, label string, centroid_valence double, centroid_energy double, centroid_danceability double, "
    "centroid_acousticness double, sessions bigint, silhouette double, share_features_real double, "
    "share_features_kaggle double, share_features_synthetic double"
)
SESSIONS_SCHEMA = (
    "session_id string, user_id string, session_start timestamp, cluster_id int, label string, valence double, "
    "energy double, plays bigint, minutes_listened double"
)
RECOMMENDATIONS_SCHEMA = (
    "user_id string, rank int, track_id string, track_name string, artist_name string, recommendation_type string, "
    "similarity double, target_valence double, target_energy double, reason string"
)


# ---------------------------------------------------------------- contract-shaped data (seeded, deterministic)


def silver_plays() -> pd.DataFrame:
    """Ten weeks of plays for two listeners; the first knows skips (extended export), the second does not."""
    rng = np.random.default_rng(8)
    tracks = [(f"t{i:03d}", f"Track {i}", f"Artist {i % 9}") for i in range(40)]
    rows = []
    for user_index, user in enumerate(USERS):
        for day in pd.date_range("2024-01-01", periods=70, freq="D"):
            drift = 0.15 * np.sin(day.dayofyear / 9) + (0.1 if user_index == 0 else -0.1)
            for hour in sorted(rng.choice([0, 1, 7, 8, 12, 17, 18, 20, 21, 22, 23], size=rng.integers(1, 4))):
                session_start = day + pd.Timedelta(hours=int(hour))
                session_id = f"{user}-{int(session_start.timestamp())}"
                for number in range(int(rng.integers(2, 7))):
                    track_id, track_name, artist = tracks[int(rng.integers(0, 40 if user_index == 0 else 15))]
                    played_at = session_start + pd.Timedelta(minutes=4 * number)
                    ms = int(rng.integers(20_000, 300_000))
                    source = ("kaggle" if rng.random() < 0.7 else "spotify_api") if user_index == 0 else "synthetic"
                    rows.append({
                        "play_id": f"{session_id}-{number}", "user_id": user, "played_at": played_at,
                        "played_at_local": played_at, "played_date_local": played_at.date(),
                        "hour_of_day": played_at.hour, "day_of_week": played_at.dayofweek + 1,
                        "part_of_day": "night" if played_at.hour < 6 else "morning" if played_at.hour < 12
                        else "afternoon" if played_at.hour < 18 else "evening",
                        "is_weekend": played_at.dayofweek >= 5, "track_id": track_id, "track_name": track_name,
                        "artist_name": artist, "album_name": f"Album of {artist}", "ms_played": ms,
                        "minutes_played": ms / 60_000, "source": "export_extended" if user_index == 0 else "api",
                        "skipped": bool(ms < 60_000) if user_index == 0 else None, "reason_start": "trackdone",
                        "reason_end": "endplay" if ms < 60_000 else "trackdone", "shuffle": False,
                        "session_id": session_id, "session_play_number": number + 1, "feature_source": source,
                        "has_features": True, "danceability": float(rng.uniform(0.2, 0.9)),
                        "energy": float(np.clip(rng.normal(0.55 + drift / 2, 0.15), 0, 1)),
                        "valence": float(np.clip(rng.normal(0.5 + drift, 0.15), 0, 1)),
                        "acousticness": float(rng.uniform(0, 1)), "instrumentalness": float(rng.uniform(0, 0.3)),
                        "speechiness": float(rng.uniform(0, 0.2)), "liveness": float(rng.uniform(0, 0.4)),
                        "loudness": float(rng.uniform(-14, -4)), "tempo": float(rng.uniform(70, 170)),
                        "musical_key": int(rng.integers(0, 12)), "musical_mode": int(rng.integers(0, 2)),
                        "time_signature": 4,
                    })  # fmt: skip
    return pd.DataFrame(rows)


def wellbeing(plays: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for period_type, offset in (("day", None), ("week", "W-MON")):
        dates = pd.to_datetime(plays["played_date_local"])
        start = dates if offset is None else dates.dt.to_period("W").dt.start_time
        keyed = plays.assign(period_start=start.dt.date, w=plays["ms_played"])
        for (user, period), group in keyed.groupby(["user_id", "period_start"]):
            weights = group["w"] / group["w"].sum()
            skips = group["skipped"].dropna()
            frames.append({
                "user_id": user, "period_type": period_type, "period_start": period,
                "minutes_listened": float(group["minutes_played"].sum()), "plays": len(group),
                "valence_weighted": float((group["valence"] * weights).sum()),
                "energy_weighted": float((group["energy"] * weights).sum()),
                "mood_variability": float(group["valence"].std(ddof=0)),
                "late_night_share": float((group["hour_of_day"] < 4).mean()),
                "repeat_share": float(group["track_id"].duplicated().mean()),
                "skip_rate": float(skips.astype(float).mean()) if len(skips) else None,
                "share_features_real": float((group["feature_source"] == "spotify_api").mean()),
                "share_features_kaggle": float((group["feature_source"] == "kaggle").mean()),
                "share_features_synthetic": float((group["feature_source"] == "synthetic").mean()),
                "share_no_features": 0.0, "feature_coverage_plays": 1.0, "feature_coverage_minutes": 1.0,
                "podcast_minutes": 0.0, "audiobook_minutes": 0.0,
            })  # fmt: skip
    return pd.DataFrame(frames)


def temporal(plays: pd.DataFrame) -> pd.DataFrame:
    grouped = plays.groupby(["user_id", "day_of_week", "hour_of_day"])
    return grouped.agg(
        minutes_listened=("minutes_played", "sum"), plays=("play_id", "count"),
        mean_valence=("valence", "mean"), mean_energy=("energy", "mean"),
    ).reset_index()  # fmt: skip


QUADRANTS = {(1, 0): "calm-positive", (1, 1): "energetic-positive", (0, 1): "tense-negative", (0, 0): "calm-negative"}


def sessions_and_clusters(plays: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    sessions = plays.groupby(["session_id", "user_id"]).agg(
        session_start=("played_at", "min"), valence=("valence", "mean"), energy=("energy", "mean"),
        plays=("play_id", "count"), minutes_listened=("minutes_played", "sum"),
    ).reset_index()  # fmt: skip
    quadrant = list(
        zip((sessions["valence"] >= 0.5).astype(int), (sessions["energy"] >= 0.55).astype(int), strict=True)
    )
    ids = {key: index for index, key in enumerate(sorted(QUADRANTS))}
    sessions["cluster_id"] = [ids[q] for q in quadrant]
    sessions["label"] = [QUADRANTS[q] for q in quadrant]
    clusters = (
        sessions.groupby(["cluster_id", "label"])
        .agg(centroid_valence=("valence", "mean"), centroid_energy=("energy", "mean"), sessions=("session_id", "count"))
        .reset_index()
    )
    clusters = clusters.assign(
        centroid_danceability=0.6, centroid_acousticness=0.3, silhouette=0.41,
        share_features_real=0.15, share_features_kaggle=0.35, share_features_synthetic=0.5,
    )  # fmt: skip
    return sessions, clusters


def recommendations() -> pd.DataFrame:
    rows = []
    for user in USERS:
        for number in range(1, 11):
            mood, rank = number > 5, (number - 1) % 5 + 1  # rank within each recommendation type
            rows.append({
                "user_id": user, "rank": rank, "track_id": f"r{number:03d}", "track_name": f"Pick {number} <&>",
                "artist_name": f"Artist {number % 4}", "recommendation_type": "mood_directed" if mood else "similar",
                "similarity": round(0.95 - rank * 0.02, 3), "target_valence": 0.7 if mood else None,
                "target_energy": 0.55 if mood else None,
                "reason": "lifts valence towards your calm-positive sessions" if mood
                else f"sounds like Track {number} you played often",
            })  # fmt: skip
    return pd.DataFrame(rows)


def write_table(spark: Any, database: str, table: str, frame: pd.DataFrame, schema: str) -> None:
    columns = [field.split()[0] for field in schema.split(", ")]
    frame = frame[columns].copy()
    for column in frame.select_dtypes("datetime64[ns]").columns:
        frame[column] = frame[column].dt.tz_localize("UTC")
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    spark.createDataFrame(records, schema=schema).write.format("delta").mode("overwrite").option(
        "overwriteSchema", "true"
    ).saveAsTable(f"{database}.{table}")


@pytest.fixture(scope="module")
def report_tables(lakehouse) -> dict[str, int]:
    """Contract-shaped Silver and Gold tables in this module's own databases; returns row counts."""
    from ingest.lakehouse.client import connect

    lakehouse.sql("select 1")  # the fixture's own session, which it stops before the server
    spark = connect(lakehouse.settings)
    assert spark is lakehouse._session, "expected the one shared Spark Connect session"
    for database in (SILVER_DB, GOLD_DB):
        spark.sql(f"create database if not exists {database}")
    plays = silver_plays()
    sessions, clusters = sessions_and_clusters(plays)
    rhythms = rhythm_tables.rhythms(plays)
    schemas = rhythm_tables.table_schemas()
    tables = {
        (SILVER_DB, "listening_with_features", SILVER_SCHEMA): plays,
        (GOLD_DB, "wellbeing_indicators", WELLBEING_SCHEMA): wellbeing(plays),
        (GOLD_DB, "temporal_patterns", TEMPORAL_SCHEMA): temporal(plays),
        (GOLD_DB, "mood_clusters", CLUSTERS_SCHEMA): clusters,
        (GOLD_DB, "mood_session_clusters", SESSIONS_SCHEMA): sessions,
        (GOLD_DB, "track_recommendations", RECOMMENDATIONS_SCHEMA): recommendations(),
        (GOLD_DB, "listening_rhythms", schemas["listening_rhythms"]): rhythms,
        (GOLD_DB, "listening_rhythms_diurnal", schemas["listening_rhythms_diurnal"]): rhythm_tables.diurnal(plays),
        (GOLD_DB, "listening_rhythm_changes", schemas["listening_rhythm_changes"]): rhythm_tables.changes(rhythms),
        (GOLD_DB, "year_in_review", schemas["year_in_review"]): rhythm_tables.year_in_review(plays, sessions),
    }
    for (database, table, schema), frame in tables.items():
        write_table(spark, database, table, frame, schema)
    return {table: len(frame) for (_, table, _), frame in tables.items()}


def run_report(lakehouse, *out: str):
    result = lakehouse.cli("report", "--gold", GOLD_DB, "--silver", SILVER_DB, *out)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


@pytest.fixture(scope="module")
def report_dir(lakehouse, report_tables) -> Path:
    """The report in its default place, <DATA_DIR>/reports (what the docs service serves)."""
    out = lakehouse.settings.data_path / "reports"
    result = run_report(lakehouse)
    for path in [out / "index.html", *(out / f"user-{user}.html" for user in USERS)]:
        assert str(path) in result.stdout
    return out


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("page", ["index.html", f"user-{USERS[0]}.html", f"user-{USERS[1]}.html"])
def test_report_renders_offline_without_console_errors(report_dir: Path, page: str, tmp_path: Path) -> None:
    require_chromium()
    screenshot = report_dir / f"screenshot-{Path(page).stem}.png"
    seen = inspect_page(report_dir / page, tmp_path / "profile", screenshot)
    assert seen["errors"] == []
    assert seen["requests"] and all(url.startswith("file://") for url in seen["requests"]), seen["requests"]
    assert seen["charts"], "no charts on the page"
    for chart in seen["charts"]:
        assert chart["drawn"] > 0 and chart["width"] > 0 and chart["height"] > 0, chart
    names = {chart["name"] for chart in seen["charts"]}
    if page.startswith("user-"):
        assert names >= EXPECTED_USER_CHARTS | RHYTHM_CHARTS
        if page == f"user-{USERS[0]}.html":
            assert names >= MEASURED_RHYTHM_CHARTS
        else:
            assert not names & MEASURED_RHYTHM_CHARTS
            assert seen["text"].count("Too little data for this chart") == len(MEASURED_RHYTHM_CHARTS)
        for heading in REPORT_SECTIONS:
            assert heading in seen["text"]
    else:
        assert "mood-clusters" in names
    assert screenshot.stat().st_size > 10_000


def test_report_sections_interpret_the_data(report_dir: Path) -> None:
    first = (report_dir / f"user-{USERS[0]}.html").read_text()
    second = (report_dir / f"user-{USERS[1]}.html").read_text()
    for page in (first, second):
        assert page.count('<p class="interpretation">') == 5
        assert "Too little data for an interpretation" not in page
        assert "Not available yet" not in page
        assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # skip rate where known: the first listener's export knows skips, the second's API source does not
    assert "skip rate unknown" in second and "skip rate unknown" not in first
    # the synthetic-only listener gets the visible warning, the other does not
    assert 'data-warning="synthetic"' in second and 'data-warning="synthetic"' not in first
    assert "Pick 1 &lt;&amp;&gt;" in first  # escaped, never raw markup
    index = (report_dir / "index.html").read_text()
    for user in USERS:
        assert f'href="user-{user}.html"' in index


def test_report_is_deterministic_apart_from_the_timestamp(lakehouse, report_dir: Path, tmp_path: Path) -> None:
    time.sleep(1.1)  # a different generation second
    again = tmp_path / "again"
    run_report(lakehouse, "--out", str(again))
    names = sorted(p.name for p in report_dir.glob("*.html"))
    assert names == sorted(p.name for p in again.glob("*.html"))
    for name in names:
        first, second = (report_dir / name).read_bytes(), (again / name).read_bytes()
        stamps = {TIMESTAMP.findall(first.decode())[0], TIMESTAMP.findall(second.decode())[0]}
        assert len(stamps) == 2, "the two runs should carry different timestamps"
        assert TIMESTAMP.sub("T", first.decode()) == TIMESTAMP.sub("T", second.decode()), name


def test_missing_tables_give_not_available_sections(lakehouse, report_tables, tmp_path: Path) -> None:
    lakehouse.sql("create database if not exists report_gold_partial")
    lakehouse.sql("drop table if exists report_gold_partial.temporal_patterns")
    lakehouse.sql(
        f"create table report_gold_partial.temporal_patterns using delta as select * from {GOLD_DB}.temporal_patterns"
    )
    out = tmp_path / "partial"
    result = lakehouse.cli("report", "--out", str(out), "--gold", "report_gold_partial", "--silver", "no_such_db")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "report_gold_partial.wellbeing_indicators does not exist yet" in result.stdout
    page = (out / f"user-{USERS[0]}.html").read_text()
    assert 'data-chart="heatmap"' in page
    assert "Not available yet: report_gold_partial.track_recommendations does not exist yet" in page
    assert 'data-chart="mood-over-time"' not in page


def test_the_browser_check_sees_errors_and_network_use(tmp_path: Path) -> None:
    """Control for the check above: a page that logs an error and fetches from the network is caught."""
    require_chromium()
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><svg data-chart="empty"></svg>'
        '<img src="http://example.invalid/x.png"><script>console.error("boom")</script></body></html>'
    )
    seen = inspect_page(bad, tmp_path / "profile", tmp_path / "bad.png")
    assert any(e.get("type") == "error" for e in seen["errors"]), seen["errors"]
    assert "http://example.invalid/x.png" in seen["requests"]
    assert seen["charts"] == [{"name": "empty", "drawn": 0, "width": 300, "height": 150}]
