"""``load`` on the session's lakehouse: polls and exports → Bronze, idempotent, deduped, quarantined, crash-safe.

The module lands its own data (fake Spotify polls and generated exports) as its own listener (a salt of its
own) in the session lakehouse's data directory (a client of another data directory is refused) and counts only
its own listener's rows and files, so it neither needs nor disturbs other modules' tables.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, Lakehouse
from pydantic import SecretStr

from ingest.bronze.delta import REPARTITION_FROM, ensure_bronze_database, ensure_table
from ingest.bronze.listening_history import load_plays, pending_landing_files
from ingest.bronze.load_all import load_all
from ingest.bronze.schemas import LISTENING_HISTORY
from ingest.config import Settings
from ingest.export.importer import import_history
from ingest.lakehouse.client import connect
from ingest.spotify.auth import authorize
from ingest.spotify.poll import poll
from ingest.spotify.users import pseudonymous_user_id
from tests.integration.fake_spotify import FakeSpotify, track_object
from tests.integration.ingest_exports import extended_record, podcast_record, write_classic, write_extended

T0 = 1_730_000_000_000
PLAYS_PARTITIONING = LISTENING_HISTORY.partitioning
PLAYS_DDL = LISTENING_HISTORY.stored_ddl  # as the loader creates the table


@pytest.fixture(scope="module")
def client(lakehouse: Lakehouse) -> Settings:
    return lakehouse.settings.model_copy(update={"user_id_salt": uuid.uuid4().hex})


def count(lakehouse: Lakehouse, table: str, user_id: str, extra: str = "true") -> int:
    query = f"select count(*) as n from bronze.{table} where user_id = '{user_id}' and {extra}"
    return lakehouse.sql(query)[0]["n"]


def land_polls(client: Settings, kaggle_ids: list[str]) -> str:
    """Two overlapping polls of the fake API (the cursor is forgotten in between) → 12 distinct plays."""
    with FakeSpotify() as fake:
        settings = client.model_copy(
            update={
                "client_id": fake.state.client_id,
                "client_secret": SecretStr(fake.state.client_secret),
                "spotify_api_base_url": fake.api_url,
                "spotify_accounts_url": fake.accounts_url,
            }
        )
        user_id = pseudonymous_user_id(settings)
        authorize(settings, user_id, lambda url: "http://127.0.0.1:8888/callback?code=good")
        for i in range(12):
            track_id = kaggle_ids[i] if i < 4 else f"api{i:019d}"
            fake.add_play(T0 + i * 200_000, track_object(track_id, f"Api song {i}", "Api artist"))
        assert poll(settings, user_id).plays == 12
        (settings.ingest_state_path / user_id / "recently_played_cursor.json").unlink()
        assert poll(settings, user_id).plays == 12
    return user_id


@pytest.fixture(scope="module")
def loaded(lakehouse: Lakehouse, client: Settings, kaggle_sample: Path, tmp_path_factory) -> dict:
    catalog = pd.read_csv(kaggle_sample, nrows=10)
    user_id = land_polls(client, list(catalog["track_id"]))
    export = tmp_path_factory.mktemp("export")
    bad = [
        {"ts": "2024-01-01T00:00:00Z"},
        dict(extended_record(900), ms_played=-5),
        dict(extended_record(901), ms_played=10**12),
        dict(extended_record(902), ts="2999-01-01T00:00:00Z"),
        dict(extended_record(903), ms_played="12 minutes"),
        "not a record",
        dict(extended_record(904), ts=None),
        dict(extended_record(905), ts="1900-01-01T00:00:00Z"),
        dict(extended_record(906), ts="1500-01-01T00:00:00Z"),  # once made every later load fail (pandas' bounds)
        dict(extended_record(907), spotify_track_uri="spotify:track:", master_metadata_track_name=None),
        dict(extended_record(908), spotify_track_uri="spotify:track:"),  # a malformed URI with artist and title
    ]
    write_extended(export, 0, [extended_record(i) for i in range(300)] + [podcast_record(1), podcast_record(2)] + bad)
    first_artist = catalog["artists"][0].split(";")[0]
    write_classic(
        export,
        0,
        [
            {"endTime": "2024-02-01 09:00", "artistName": first_artist.upper(), "trackName": catalog["track_name"][0],
             "msPlayed": 100_000},
            {"endTime": "2024-02-01 09:05", "artistName": "Nobody Known", "trackName": "No Such Song",
             "msPlayed": 100_000},
            {"endTime": "2024-02-01 09:05", "artistName": "Nobody Known", "trackName": "No Such Song"},
        ],
    )  # fmt: skip
    imported = import_history([export], client)
    assert (len(imported.having("imported")), imported.having("refused")) == (2, [])
    spark = connect(client)
    result = load_all(spark, client)
    return {"user_id": user_id, "result": result, "spark": spark}


def test_every_valid_play_lands_once_and_bad_records_are_quarantined(lakehouse, loaded):
    user = loaded["user_id"]
    assert count(lakehouse, "listening_history_bronze", user, "source = 'api'") == 12  # two overlapping polls
    assert count(lakehouse, "listening_history_bronze", user, "source = 'export_extended'") == 301
    assert count(lakehouse, "podcast_history_bronze", user) == 2
    reasons = [
        r["reason"]
        for r in lakehouse.sql(
            "select reason from bronze.listening_history_quarantine q where landing_file like 'export/%' "
            f"and landing_file like '%{user}%' order by landing_file like '%/classic/%', record_index"
        )
    ]
    assert reasons == [
        "missing field: ms_played",
        "negative ms_played: -5",
        "absurd ms_played (> 24 h): 1000000000000",
        "timestamp in the future: 2999-01-01T00:00:00+00:00",
        "ms_played is not a number: '12 minutes'",
        "record is a str, not an object",
        "missing field: ts",
        "timestamp before 2006-01-01 (before Spotify): 1900-01-01T00:00:00+00:00",
        "timestamp before 2006-01-01 (before Spotify): 1500-01-01T00:00:00+00:00",
        "neither a track, an episode nor an audiobook chapter: a malformed spotify_track_uri 'spotify:track:', "
        "no artist and title",
        "missing fields: msPlayed",
    ]
    [malformed] = lakehouse.sql(
        "select track_id, track_resolution, track_name from bronze.listening_history_bronze "
        f"where user_id = '{user}' and track_resolution = 'unresolved:malformed_uri'"
    )
    assert (malformed.track_id, malformed.track_name) == (None, "Song 408")
    classic = lakehouse.sql(
        "select track_resolution, track_id is not null as has_id from bronze.listening_history_bronze "
        f"where user_id = '{user}' and source = 'export_classic' order by track_resolution"
    )
    assert [(r["track_resolution"], r["has_id"]) for r in classic] == [
        ("kaggle_match", True),
        ("unresolved:no_catalog_match", False),
    ]
    skipped = count(lakehouse, "listening_history_bronze", user, "source = 'export_extended' and skipped")
    assert skipped == 60


def test_features_real_metadata_and_synthetic_only_where_missing(lakehouse, loaded):
    user = loaded["user_id"]
    tracks = lakehouse.sql(
        "select count(*) n from bronze.my_tracks_features_bronze where track_name like 'Api song %'"
    )[0]["n"]
    assert tracks == 12
    synthetic = lakehouse.sql(
        "select count(distinct p.track_id) n from bronze.listening_history_bronze p "
        "join bronze.my_tracks_features_bronze_synthetic s using (track_id) "
        f"where p.user_id = '{user}' and p.source = 'api'"
    )[0]["n"]
    assert synthetic == 8  # the 4 catalog tracks have Kaggle features


def test_loading_again_changes_nothing(lakehouse, loaded, client):
    spark = loaded["spark"]
    version = spark.sql("describe history bronze.listening_history_bronze limit 1").collect()[0]["version"]
    again = load_all(spark, client, with_catalog=False)
    assert again.plays.files == 0
    assert spark.sql("describe history bronze.listening_history_bronze limit 1").collect()[0]["version"] == version
    # Forget which files were loaded: the full re-MERGE must still insert and update nothing.
    (client.ingest_state_path / "bronze_loaded_files.json").unlink()
    landed = pending_landing_files(client)
    redo = load_plays(spark, client)
    assert redo.files == len(landed)
    assert sum(loaded["user_id"] in path.parts for path in landed) == 4  # two polls, two export files
    assert (redo.plays.inserted, redo.plays.updated, redo.podcasts.inserted, redo.podcasts.updated) == (0, 0, 0, 0)
    assert count(lakehouse, "listening_history_bronze", loaded["user_id"]) == 12 + 301 + 2


def test_kill_9_during_load_then_rerun_loses_and_duplicates_nothing(lakehouse, loaded, client, tmp_path):
    user = loaded["user_id"]
    before = count(lakehouse, "listening_history_bronze", user)
    export = tmp_path / "more"
    for n in range(3):
        write_extended(export, 10 + n, [extended_record(5000 + n * 2000 + i) for i in range(2000)])
    import_history([export], client)
    assert len(pending_landing_files(client)) == 3
    env = {**os.environ, **lakehouse.env, "USER_ID_SALT": client.user_id_salt}
    process = subprocess.Popen(
        [sys.executable, "-m", "spotify_analytics", "load", "plays"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(8)  # mid-way: reading files, merging or committing
    process.send_signal(signal.SIGKILL)
    process.wait()
    rerun = lakehouse.cli("load", "plays", env={"USER_ID_SALT": client.user_id_salt})
    assert rerun.returncode == 0, rerun.stderr
    assert pending_landing_files(client) == []
    assert count(lakehouse, "listening_history_bronze", user) == before + 6000
    duplicates = lakehouse.sql(
        f"select count(*) - count(distinct play_id) as d from bronze.listening_history_bronze where user_id = '{user}'"
    )[0]["d"]
    assert duplicates == 0


def with_fake_spotify(settings: Settings, fake: FakeSpotify) -> Settings:
    return settings.model_copy(
        update={
            "client_id": fake.state.client_id,
            "client_secret": SecretStr(fake.state.client_secret),
            "spotify_api_base_url": fake.api_url,
            "spotify_accounts_url": fake.accounts_url,
        }
    )


def test_classic_plays_the_catalog_misses_are_resolved_by_spotify_search(lakehouse, loaded, client, tmp_path):
    found = track_object("4SearchFoundTrack00001", "Found By Search", "Search Artist")
    records = [
        {"endTime": "2024-03-01 10:00", "artistName": "Search Artist", "trackName": "Found By Search",
         "msPlayed": 150_000},
        {"endTime": "2024-03-01 10:05", "artistName": "search artist", "trackName": "Found by search!",
         "msPlayed": 90_000},
        {"endTime": "2024-03-01 10:10", "artistName": "Nobody Known", "trackName": "Unfindable Song",
         "msPlayed": 100_000},
    ]  # fmt: skip
    write_classic(tmp_path / "first", 0, records)
    with FakeSpotify() as fake:
        fake.add_track(found)
        settings = with_fake_spotify(client, fake)
        import_history([tmp_path / "first"], settings, user="searcher")
        first = load_plays(loaded["spark"], settings)
        searches = fake.state.counts["/v1/search"]

    searcher = pseudonymous_user_id(client, "searcher")
    rows = lakehouse.sql(
        "select track_id, track_resolution from bronze.listening_history_bronze "
        f"where user_id = '{searcher}' order by played_at"
    )
    assert [(r["track_id"], r["track_resolution"]) for r in rows] == [
        (found["id"], "search"),
        (found["id"], "search"),
        (None, "unresolved:no_search_match"),
    ]
    assert searches == 2  # one per distinct normalised (artist, title)
    assert (first.resolved_classic, first.unresolved_classic) == (2, 1)
    cached_track = client.landing_path / "api" / "metadata" / "tracks" / f"{found['id']}.json"
    assert cached_track.is_file()  # its metadata is not fetched again

    write_classic(tmp_path / "second", 0, [dict(record, endTime="2024-03-02 10:00") for record in records[:1]])
    with FakeSpotify() as fake:
        settings = with_fake_spotify(client, fake)
        import_history([tmp_path / "second"], settings, user="searcher")
        second = load_plays(loaded["spark"], settings)
        assert fake.state.counts["/v1/search"] == 0  # answered from the cache
    assert (second.resolved_classic, second.unresolved_classic) == (1, 0)


# ---------------------------------------------------------------- Bronze plays of the older, daily layout

OLD_LAYOUT_PLAYS = [
    ("p1", "2024-01-31 23:59:00", "2024-01-31", 1000),
    ("p2", "2024-02-01 00:01:00", "2024-02-01", 2000),
    ("p3", "2024-02-29 12:00:00", "2024-02-29", 3000),
]


def day_partitioned_plays(spark, table: str) -> str:
    """A plays table as earlier versions made it (partitioned by played_date), holding three plays."""
    ensure_bronze_database(spark)
    qualified = f"bronze.{table}"
    spark.sql(f"drop table if exists {qualified}")
    spark.sql(f"create table {qualified} ({PLAYS_DDL}) using delta partitioned by (played_date)")
    values = ", ".join(
        f"('{key}', 'u', timestamp'{at}', date'{day}', {ms}, timestamp'2024-03-01 00:00:00')"
        for key, at, day, ms in OLD_LAYOUT_PLAYS
    )
    columns = "play_id, user_id, played_at, played_date, ms_played, loaded_at"
    spark.sql(f"insert into {qualified} ({columns}) values {values}")
    return qualified


def layout(spark, qualified: str) -> tuple[list[str], list[tuple], dict]:
    partitions = [column.name for column in spark.catalog.listColumns(qualified) if column.isPartition]
    query = f"select play_id, played_date, played_month, ms_played from {qualified} order by play_id"
    rows = spark.sql(query).collect()
    properties = {row.key: row.value for row in spark.sql(f"show tblproperties {qualified}").collect()}
    return partitions, [tuple(row) for row in rows], properties


def month_layout_rows() -> list[tuple]:
    months = {"2024-01-31": date(2024, 1, 1), "2024-02-01": date(2024, 2, 1), "2024-02-29": date(2024, 2, 1)}
    return [(key, date.fromisoformat(day), months[day], ms) for key, _, day, ms in OLD_LAYOUT_PLAYS]


def test_a_day_partitioned_plays_table_is_repartitioned_by_month_losing_nothing(lakehouse):
    spark = lakehouse.session
    qualified = day_partitioned_plays(spark, "plays_daily_layout")

    ensure_table(spark, LISTENING_HISTORY, "plays_daily_layout")

    partitions, rows, properties = layout(spark, qualified)
    assert partitions == ["played_month"]
    assert rows == month_layout_rows()
    assert REPARTITION_FROM not in properties
    version = spark.sql(f"describe history {qualified} limit 1").collect()[0]["version"]
    ensure_table(spark, LISTENING_HISTORY, "plays_daily_layout")
    assert spark.sql(f"describe history {qualified} limit 1").collect()[0]["version"] == version  # no-op now
    # a play inserted without played_month gets it generated
    spark.sql(f"insert into {qualified} (play_id, user_id, played_date) values ('p4', 'u', date'2024-03-15')")
    [p4] = spark.sql(f"select played_month from {qualified} where play_id = 'p4'").collect()
    assert p4.played_month == date(2024, 3, 1)


def test_repartitioning_killed_after_the_replace_resumes_on_the_next_run(lakehouse):
    """The state a kill between REPLACE and the copy leaves: new layout, no rows, the old version recorded."""
    spark = lakehouse.session
    qualified = day_partitioned_plays(spark, "plays_interrupted_layout")
    old_version = spark.sql(f"describe history {qualified} limit 1").collect()[0]["version"]
    spark.sql(
        f"create or replace table {qualified} ({PLAYS_DDL}, "
        f"{PLAYS_PARTITIONING.column_ddl}) using delta partitioned by (played_month) "
        f"tblproperties ('{REPARTITION_FROM}' = '{old_version}')"
    )
    assert spark.table(qualified).count() == 0

    ensure_table(spark, LISTENING_HISTORY, "plays_interrupted_layout")

    partitions, rows, properties = layout(spark, qualified)
    assert (partitions, rows) == (["played_month"], month_layout_rows())
    assert REPARTITION_FROM not in properties
