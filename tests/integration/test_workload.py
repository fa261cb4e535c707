"""The workload generator: deterministic, at the requested scale, realistic, in the documented shapes.

Most tests need no server; one loads generated Bronze rows through the session's lakehouse server.
"""

import hashlib
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bench.workload.bronze_load import insert_parquet
from ingest.bronze.schemas import LISTENING_HISTORY
from ingest.demo.generate import WorkloadSpec, generate

REPO = Path(__file__).resolve().parents[2]
TIMEZONE = "Europe/Berlin"
EXTENDED_KEYS = {
    "ts", "username", "platform", "ms_played", "conn_country", "ip_addr", "user_agent_decrypted",
    "master_metadata_track_name", "master_metadata_album_artist_name", "master_metadata_album_album_name",
    "spotify_track_uri", "episode_name", "episode_show_name", "spotify_episode_uri", "reason_start", "reason_end",
    "shuffle", "skipped", "offline", "offline_timestamp", "incognito_mode",
}  # fmt: skip


def spec(kaggle_sample: Path, users: int = 1, plays: int = 10_000, seed: int = 7) -> WorkloadSpec:
    return WorkloadSpec(users=users, plays_per_user=plays, seed=seed, catalog_csv=kaggle_sample, timezone=TIMEZONE)


def read_records(paths: list[Path]) -> list[dict]:
    return [
        record
        for path in sorted(paths, key=lambda p: int(p.stem.rsplit("_", 1)[1]))
        for record in orjson.loads(path.read_bytes())
    ]


@pytest.fixture(scope="module")
def extended(kaggle_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate(spec(kaggle_sample, users=2, plays=12_345), "extended", tmp_path_factory.mktemp("extended"))


@pytest.fixture(scope="module")
def bronze(kaggle_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    paths = generate(spec(kaggle_sample, users=2, plays=12_345), "bronze", tmp_path_factory.mktemp("bronze"))
    return pq.read_table(paths[0].parent).to_pandas()


@pytest.mark.parametrize("output_format", ["extended", "classic", "api", "bronze"])
def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(
    kaggle_sample: Path, tmp_path: Path, output_format: str
) -> None:
    def files(seed: int, folder: str) -> dict[str, bytes]:
        paths = generate(spec(kaggle_sample, users=2, plays=1_500, seed=seed), output_format, tmp_path / folder)
        return {str(p.relative_to(tmp_path / folder)): p.read_bytes() for p in paths}

    first, again, other = files(1, "a"), files(1, "b"), files(2, "c")
    assert first and first == again
    assert first != other


def test_extended_export_has_the_requested_scale_and_rolls_over_at_10000(extended: list[Path]) -> None:
    by_user: dict[str, list[Path]] = {}
    for path in extended:
        assert re.fullmatch(r"Streaming_History_Audio_\d{4}(-\d{4})?_\d+\.json", path.name)
        by_user.setdefault(path.parent.name, []).append(path)
    assert sorted(by_user) == ["listener_000", "listener_001"]
    for paths in by_user.values():
        sizes = sorted(len(orjson.loads(p.read_bytes())) for p in paths)
        assert sizes == [2_345, 10_000]


def test_extended_records_have_the_documented_fields_and_values(extended: list[Path]) -> None:
    records = read_records([p for p in extended if p.parent.name == "listener_000"])
    assert len(records) == 12_345
    for record in records[:500]:
        assert set(record) == EXTENDED_KEYS
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["ts"])
        assert re.fullmatch(r"spotify:track:[0-9A-Za-z]{22}", record["spotify_track_uri"])
        assert record["ip_addr"] and record["username"]  # fake personal fields the importer must drop
        assert isinstance(record["skipped"], bool) and isinstance(record["shuffle"], bool)
        assert 1_000 <= record["ms_played"] <= 1_200_000
    timestamps = [r["ts"] for r in records]
    assert timestamps == sorted(timestamps)
    assert max(timestamps) < datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_most_plays_are_outside_the_catalog(bronze: pd.DataFrame, kaggle_sample: Path) -> None:
    catalog_ids = set(pd.read_csv(kaggle_sample, usecols=["track_id"])["track_id"])
    share_in_catalog = bronze["track_id"].isin(catalog_ids).mean()
    assert 0.12 <= share_in_catalog <= 0.18  # ~15% Kaggle, ~85% synthetic path
    assert bronze["track_id"].str.fullmatch(r"[0-9A-Za-z]{22}").all()


def test_popularity_is_heavy_tailed_and_listening_follows_daily_and_weekly_rhythms(bronze: pd.DataFrame) -> None:
    counts = bronze["track_id"].value_counts()
    top_one_percent = counts.iloc[: max(1, len(counts) // 100)].sum() / counts.sum()
    assert top_one_percent > 0.10
    assert (counts == 1).sum() > len(counts) * 0.1 and counts.median() <= 3  # a long tail of rarely played tracks
    local = bronze["played_at"].dt.tz_convert(TIMEZONE)
    hours = local.dt.hour.value_counts(normalize=True)
    assert hours.loc[[18, 19, 20, 21]].sum() > 3 * hours.reindex([2, 3, 4, 5], fill_value=0).sum()
    weekdays = local.dt.dayofweek.value_counts(normalize=True)
    assert weekdays.loc[[5, 6]].mean() > weekdays.loc[[0, 1]].mean()


def test_sessions_skips_and_repeats_are_present(bronze: pd.DataFrame) -> None:
    for _, plays in bronze.groupby("user_id"):
        plays = plays.sort_values("played_at")
        gaps = plays["played_at"].diff().dt.total_seconds()
        sessions = 1 + int((gaps > 30 * 60).sum())
        assert len(plays) / 20 < sessions < len(plays) / 6  # sessions of ~12 plays
        assert 0.15 < plays["skipped"].mean() < 0.4
        assert set(plays.loc[plays["skipped"], "reason_end"]) <= {"fwdbtn", "backbtn", "endplay"}
        assert (plays.loc[~plays["skipped"], "reason_end"].isin(["trackdone", "endplay", "logout"])).all()
        skipped_ms = plays.loc[plays["skipped"], "ms_played"].median()
        assert skipped_ms < plays.loc[~plays["skipped"], "ms_played"].median() / 3
        repeats = (plays["track_id"] == plays["track_id"].shift()).mean()
        assert 0.02 < repeats < 0.15
        assert plays["shuffle"].any() and not plays["shuffle"].all()


def test_bronze_rows_follow_the_contract_and_the_play_id_rule(bronze: pd.DataFrame) -> None:
    assert list(bronze.columns) == LISTENING_HISTORY.column_names
    assert bronze["play_id"].is_unique
    row = bronze.iloc[0]
    millis = int(row["played_at"].timestamp() * 1000)
    expected = hashlib.sha256(f"{row['user_id']}|{millis}|spotify:track:{row['track_id']}".encode()).hexdigest()
    assert row["play_id"] == expected
    assert (bronze["played_date"] == bronze["played_at"].dt.date).all()
    assert set(bronze["source"]) == {"export_extended"}


def test_bronze_rows_equal_what_the_importer_makes_of_the_extended_export(kaggle_sample: Path, tmp_path: Path) -> None:
    plays = pytest.importorskip("ingest.landing.plays")
    small = spec(kaggle_sample, plays=2_000, seed=11)
    bronze_rows = pq.read_table(generate(small, "bronze", tmp_path / "b")[0]).to_pandas()
    records = read_records(generate(small, "extended", tmp_path / "e"))
    user_id = bronze_rows["user_id"].iloc[0]
    normalised = plays.extended_plays(records, user_id, "test", datetime.now(UTC))
    assert not normalised.rejected
    imported = pd.DataFrame(normalised.plays)
    columns = ["play_id", "track_id", "ms_played", "skipped", "shuffle", "reason_start", "reason_end"]
    assert imported[columns].reset_index(drop=True).equals(bronze_rows[columns].reset_index(drop=True))


def test_classic_export_is_the_same_plays_in_utc_minutes(kaggle_sample: Path, tmp_path: Path) -> None:
    small = spec(kaggle_sample, plays=10_001, seed=5)
    classic = generate(small, "classic", tmp_path / "c")
    assert sorted(p.name for p in classic) == ["StreamingHistory_music_0.json", "StreamingHistory_music_1.json"]
    records = read_records(classic)
    extended = read_records(generate(small, "extended", tmp_path / "e"))
    assert len(records) == len(extended) == 10_001
    for old, new in zip(records[::997], extended[::997], strict=True):
        assert set(old) == {"endTime", "artistName", "trackName", "msPlayed"}
        assert (old["trackName"], old["msPlayed"]) == (new["master_metadata_track_name"], new["ms_played"])
    # Spotify's endTime is the UTC minute the play ended as the API has it, 0-3 s before the extended ts: the ts
    # lies 0-63 s after the start of that minute, and in the minute before the ts's own now and then
    after = [
        (pd.Timestamp(new["ts"]) - pd.Timestamp(old["endTime"], tz="UTC")).total_seconds()
        for old, new in zip(records, extended, strict=True)
    ]
    assert min(after) >= 0 and max(after) <= 63
    earlier_minute = sum(seconds >= 60 for seconds in after)
    assert 0 < earlier_minute < len(after) * 0.05  # plays whose ts lies in the first 0-3 s of a minute


def test_api_pages_have_the_recently_played_shape(kaggle_sample: Path, tmp_path: Path) -> None:
    small = spec(kaggle_sample, plays=1_000, seed=3)
    pages = [orjson.loads(p.read_bytes()) for p in sorted(generate(small, "api", tmp_path / "a"))]
    extended = read_records(generate(small, "extended", tmp_path / "e"))
    long_plays = [r for r in extended if r["ms_played"] >= 30_000]
    items = [item for page in pages for item in page["items"]]
    assert len(items) == len(long_plays) < len(extended)  # the API lists plays over 30 s only
    assert all(len(page["items"]) <= 50 and page["limit"] == 50 for page in pages)
    assert [p["next"] is None for p in pages] == [False] * (len(pages) - 1) + [True]
    for page in pages:
        played = [pd.Timestamp(item["played_at"]) for item in page["items"]]
        assert played == sorted(played, reverse=True)  # newest first
        millis = [int(p.timestamp() * 1000) for p in played]
        assert page["cursors"] == {"after": str(millis[0]), "before": str(millis[-1])}
    item = items[0]
    assert set(item) == {"track", "played_at", "context"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["played_at"])
    track = item["track"]
    assert re.fullmatch(r"[0-9A-Za-z]{22}", track["id"]) and track["uri"] == f"spotify:track:{track['id']}"
    assert track["name"] and track["album"]["name"] and track["duration_ms"] > 0
    assert all(set(artist) >= {"id", "name"} for artist in track["artists"])
    assert items[-1]["track"]["id"] == long_plays[0]["spotify_track_uri"].rsplit(":", 1)[1]
    # the same plays, each ending 0-3 s earlier than the export's ts says, to the millisecond
    lags = [
        (pd.Timestamp(record["ts"]) - pd.Timestamp(item["played_at"])).total_seconds()
        for record, item in zip(long_plays, reversed(items), strict=True)
    ]
    assert min(lags) >= 0 and max(lags) <= 3 and len(set(lags)) > 100


def test_a_play_range_writes_that_share_of_the_same_plays(kaggle_sample: Path, tmp_path: Path) -> None:
    whole = read_records(generate(spec(kaggle_sample, plays=1_000, seed=3), "extended", tmp_path / "whole"))
    ranged = WorkloadSpec(
        users=1, plays_per_user=1_000, seed=3, catalog_csv=kaggle_sample, timezone=TIMEZONE, play_range=(250, 700)
    )
    part = read_records(generate(ranged, "extended", tmp_path / "part"))
    assert part == whole[250:700]
    with pytest.raises(ValueError, match="play_range 900:1200 must lie within 0:1000"):
        WorkloadSpec(users=1, plays_per_user=1_000, seed=3, catalog_csv=kaggle_sample, play_range=(900, 1_200))


def test_cli_writes_the_workload(kaggle_sample: Path, tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "bench.workload", "generate", "--users", "2", "--plays-per-user", "300",
        "--seed", "9", "--format", "classic", "--out", str(tmp_path), "--catalog", str(kaggle_sample),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Wrote 600 plays of 2 listener(s) as classic" in done.stdout
    assert len(orjson.loads((tmp_path / "listener_001" / "StreamingHistory_music_0.json").read_bytes())) == 300
    bad = subprocess.run([*command[:-2], "--out", str(tmp_path), "--format", "xml"], cwd=REPO, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert bad.returncode != 0 and "choose one of" in bad.stderr + bad.stdout
    share = subprocess.run([*command, "--plays", "100:250", "--out", str(tmp_path / "share")], cwd=REPO,
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert share.returncode == 0 and "Wrote 300 plays of 2 listener(s) as classic" in share.stdout, share.stderr
    written = tmp_path / "share" / "listener_001" / "StreamingHistory_music_0.json"
    assert len(orjson.loads(written.read_bytes())) == 150
    outside = subprocess.run([*command, "--plays", "250:400"], cwd=REPO, capture_output=True, text=True, check=False)
    assert outside.returncode != 0 and "must lie within 0:300" in outside.stderr


def test_generated_bronze_rows_load_through_the_server(lakehouse, kaggle_sample: Path, tmp_path: Path) -> None:
    paths = generate(spec(kaggle_sample, users=2, plays=2_500, seed=4), "bronze", tmp_path)
    table = "workload_test_listening_history"
    from ingest.lakehouse.client import connect

    spark = connect(lakehouse.settings)
    spark.sql(f"drop table if exists bronze.{table}")
    try:
        assert insert_parquet(spark, paths[0].parent, table) == 5_000
        row = spark.sql(
            f"select count(distinct play_id) as plays, count(distinct user_id) as users, "
            f"sum(cast(skipped as int)) as skips, min(unix_timestamp(played_at)) as first from bronze.{table}"
        ).collect()[0]
        expected = pq.read_table(paths[0].parent).to_pandas()
        assert (row["plays"], row["users"], row["skips"]) == (5_000, 2, int(expected["skipped"].sum()))
        assert row["first"] == int(expected["played_at"].min().timestamp())
    finally:
        spark.sql(f"drop table if exists bronze.{table}")
