"""Silver and Gold in dbt SQL on the real Kaggle sample plus generated plays (issue 4).

Bronze is set up here: the real catalog (``load catalog``), real and synthetic features for a few
tracks, and generated plays of catalog tracks, of tracks outside the catalog (the synthetic path) and of
unresolved tracks. Then: a full build, an incremental build after more plays, a full refresh to compare,
and the compiled feature priority under the seed's order.
"""

import hashlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, Lakehouse

from ingest.bronze.delta import BRONZE_DATABASE, ensure_bronze_database, ensure_table
from ingest.bronze.schemas import (
    AUDIOBOOK_HISTORY,
    BRONZE_TABLES,
    LISTENING_HISTORY,
    PODCAST_HISTORY,
    SYNTHETIC_FEATURES,
    TRACK_FEATURES,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The Gold SQL models that read only Silver (year_in_review also reads the Python models: test_real_exports_rhythms);
# the build runs their dbt unit tests too.
SELECT_SILVER_GOLD = [
    "--select", "+wellbeing_indicators", "+temporal_patterns", "+listening_rhythm_changes",
    "+listening_rhythms_diurnal", "--indirect-selection", "cautious",
]  # fmt: skip
SILVER_AND_GOLD = [
    "listening_with_features",
    "wellbeing_indicators",
    "temporal_patterns",
    "listening_rhythms",
    "listening_rhythms_diurnal",
    "listening_rhythm_changes",
]
DBT = str(Path(sys.executable).parent / "dbt")
USERS = ("listener_a", "listener_b")
START = datetime(2026, 3, 2, 6, 0)  # a Monday
SESSION_GAP = timedelta(minutes=30)
FEATURES = ["danceability", "energy", "valence", "acousticness", "instrumentalness", "speechiness", "liveness"]
PLAY_COLUMNS = LISTENING_HISTORY.column_names
LISTENING = "listening_history_bronze"
REAL = "my_tracks_features_bronze"
SYNTHETIC = "my_tracks_features_bronze_synthetic"


# ---------------------------------------------------------------- generated Bronze rows


def track_choice(catalog_ids: list[str], outside_ids: list[str], rng: np.random.Generator) -> str | None:
    draw = rng.random()
    if draw < 0.65:
        return catalog_ids[int(rng.integers(len(catalog_ids)))]
    if draw < 0.95:
        return outside_ids[int(rng.integers(len(outside_ids)))]
    return None  # an unresolved play (e.g. a classic-export row no track id was found for)


def play_row(user_id: str, played_at: datetime, track_id: str | None, rng: np.random.Generator) -> dict:
    source = "export_extended" if rng.random() < 0.5 else "api"
    key = f"{user_id}|{played_at.isoformat()}|{track_id}"
    return {
        "play_id": hashlib.sha256(key.encode()).hexdigest(),
        "user_id": user_id,
        "played_at": played_at,
        "played_date": played_at.date(),
        "track_id": track_id,
        "track_name": f"title of {track_id}",
        "artist_name": "an artist",
        "album_name": "an album",
        "ms_played": int(rng.integers(5_000, 300_000)),
        "source": source,
        "skipped": bool(rng.random() < 0.25) if source == "export_extended" else None,
        "shuffle": bool(rng.random() < 0.5) if source == "export_extended" else None,
    }


def generate_sessions(
    user_id: str, first_start: datetime, sessions: int, tracks: tuple[list[str], list[str]], seed: int
) -> pd.DataFrame:
    """Sessions of 1-12 plays 2-5 minutes apart, separated by 40 minutes to 14 hours."""
    rng = np.random.default_rng(seed)
    rows, start = [], first_start
    for _ in range(sessions):
        played_at = start
        for _ in range(int(rng.integers(1, 13))):
            rows.append(play_row(user_id, played_at, track_choice(*tracks, rng), rng))
            played_at += timedelta(seconds=int(rng.integers(120, 300)))
        start = played_at + timedelta(minutes=int(rng.integers(40, 14 * 60)))
    return pd.DataFrame(rows).reindex(columns=PLAY_COLUMNS)


def feature_rows(track_ids: list[str], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame({"track_id": track_ids})
    for name in FEATURES:
        rows[name] = rng.random(len(rows)).round(4)
    rows["loudness"] = -rng.random(len(rows)).round(3) * 30
    rows["tempo"] = 60 + rng.random(len(rows)).round(3) * 120
    rows["key"], rows["mode"], rows["time_signature"] = 5, 1, 4
    rows["row_hash"] = "h"
    return rows


def replace_bronze_table(spark: "SparkSession", table: str, ddl: str, rows: pd.DataFrame) -> None:
    spark.sql(f"drop table if exists {BRONZE_DATABASE}.{table}")
    ensure_table(spark, BRONZE_TABLES[table])
    if not rows.empty:
        append_bronze_rows(spark, table, ddl, rows)


def append_bronze_rows(spark: "SparkSession", table: str, ddl: str, rows: pd.DataFrame) -> None:
    columns = [field.split()[0] for field in ddl.split(", ")]
    incoming = spark.createDataFrame(rows.reindex(columns=columns).astype(object).where(rows.notna(), None), ddl)
    incoming.createOrReplaceTempView(f"incoming_{table}")
    spark.sql(
        f"insert into {BRONZE_DATABASE}.{table} ({', '.join(columns)}, loaded_at) "
        f"select {', '.join(columns)}, current_timestamp() from incoming_{table}"
    )


# ---------------------------------------------------------------- fixtures


class Scenario:
    """The generated Bronze state and what the tests expect of it."""

    def __init__(self, kaggle_sample: Path) -> None:
        catalog_ids = sorted(pd.read_csv(kaggle_sample)["track_id"].unique())[:400]
        outside_ids = [f"outside{index:015d}" for index in range(120)]
        self.tracks = (catalog_ids, outside_ids)
        self.real_ids = catalog_ids[:25]  # real Spotify features beat the catalog's
        self.crafted_id = catalog_ids[30]  # Kaggle and synthetic: the priority decides
        self.synthetic_ids = [*outside_ids, self.crafted_id]
        self.plays = pd.concat(
            [generate_sessions(user, START, 150, self.tracks, seed) for seed, user in enumerate(USERS)],
            ignore_index=True,
        )
        self.new_plays = self.more_plays()

    def more_plays(self) -> pd.DataFrame:
        """listener_a: two plays joining their last session, then a new session; listener_b: a new session."""
        last_a = self.plays[self.plays.user_id == USERS[0]].played_at.max()
        last_b = self.plays[self.plays.user_id == USERS[1]].played_at.max()
        joining = generate_sessions(USERS[0], last_a + timedelta(minutes=10), 1, self.tracks, 101).head(2)
        later_a = generate_sessions(USERS[0], last_a + timedelta(hours=3), 3, self.tracks, 102)
        later_b = generate_sessions(USERS[1], last_b + timedelta(hours=5), 3, self.tracks, 103)
        return pd.concat([joining, later_a, later_b], ignore_index=True)


def last_session_size(plays: pd.DataFrame, user_id: str) -> int:
    times = plays[plays.user_id == user_id].played_at.sort_values().reset_index(drop=True)
    starts = times.diff().isna() | (times.diff() > SESSION_GAP)
    return int(len(times) - starts[starts].index.max())


@pytest.fixture(scope="module")
def spark(lakehouse: Lakehouse) -> Iterator["SparkSession"]:
    yield lakehouse.session


@pytest.fixture(scope="module")
def scenario(lakehouse: Lakehouse, spark: "SparkSession", kaggle_sample: Path) -> Scenario:
    loaded = lakehouse.cli("load", "catalog")
    assert loaded.returncode == 0, loaded.stderr
    scenario = Scenario(kaggle_sample)
    ensure_bronze_database(spark)
    real = feature_rows(scenario.real_ids, seed=7).assign(features_source="spotify_api")
    synthetic = feature_rows(scenario.synthetic_ids, seed=8).assign(source="synthetic", generator_version="t1")
    replace_bronze_table(spark, REAL, TRACK_FEATURES.ddl, real)
    replace_bronze_table(spark, SYNTHETIC, SYNTHETIC_FEATURES.ddl, synthetic)
    replace_bronze_table(spark, LISTENING, LISTENING_HISTORY.ddl, scenario.plays)
    for spoken, ddl in (
        ("podcast_history_bronze", PODCAST_HISTORY.ddl),
        ("audiobook_history_bronze", AUDIOBOOK_HISTORY.ddl),
    ):
        replace_bronze_table(spark, spoken, ddl, pd.DataFrame())  # music only: no spoken word from other modules
    return scenario


@pytest.fixture(scope="module")
def built(lakehouse: Lakehouse, scenario: Scenario) -> Lakehouse:
    build = lakehouse.dbt("build", "--full-refresh", *SELECT_SILVER_GOLD)
    assert build.returncode == 0, build.stdout[-5000:]
    assert "PASS=" in build.stdout
    return lakehouse


# ---------------------------------------------------------------- the full build


def test_silver_has_one_row_per_play_with_features_by_priority(built: Lakehouse, scenario: Scenario) -> None:
    rows = pd.DataFrame([row.asDict() for row in built.sql("select * from silver.listening_with_features")])
    assert len(rows) == len(scenario.plays)
    assert set(rows.play_id) == set(scenario.plays.play_id)

    by_track = rows.dropna(subset=["track_id"]).groupby("track_id").feature_source.first()
    catalog_ids, outside_ids = scenario.tracks
    played_real = set(scenario.real_ids) & set(by_track.index)
    assert played_real and set(by_track[list(played_real)]) == {"spotify_api"}
    played_catalog = (set(catalog_ids) - set(scenario.real_ids)) & set(by_track.index)
    assert set(by_track[list(played_catalog)]) == {"kaggle"}  # the crafted track too: Kaggle beats synthetic
    played_outside = set(outside_ids) & set(by_track.index)
    assert played_outside and set(by_track[list(played_outside)]) == {"synthetic"}

    unresolved = rows[rows.track_id.isna()]
    assert len(unresolved) > 0
    assert unresolved.feature_source.isna().all() and (~unresolved.has_features).all()

    real = rows[rows.feature_source == "spotify_api"].iloc[0]
    [bronze] = built.sql(f"select valence from bronze.{REAL} where track_id = '{real.track_id}'")
    assert real.valence == pytest.approx(bronze.valence)


def test_silver_sessions_follow_the_gap(built: Lakehouse, scenario: Scenario) -> None:
    [counts] = built.sql(
        "select count(distinct session_id) as sessions, max(session_play_number) as longest, "
        "sum(case when session_play_number = 1 then 1 else 0 end) as firsts from silver.listening_with_features"
    )
    assert counts.sessions == counts.firsts == 2 * 150  # the generator's sessions, exactly
    assert counts.longest <= 12


def repeat_share(track_ids: pd.Series) -> float:
    """Plays of a track already played earlier in the period, over all plays (unresolved never repeat)."""
    resolved = track_ids.dropna()
    return (len(resolved) - resolved.nunique()) / len(track_ids)


def test_gold_wellbeing_matches_plays_computed_independently(built: Lakehouse, scenario: Scenario) -> None:
    plays = scenario.plays.assign(day=scenario.plays.played_at.dt.date)  # TIMEZONE defaults to UTC
    daily = plays.groupby(["user_id", "day"])
    expected = pd.DataFrame(
        {
            "plays": daily.size(),
            "minutes": daily.ms_played.sum() / 60_000,
            "repeat_share": daily.track_id.apply(repeat_share),
            "skip_rate": daily.skipped.apply(lambda s: s.dropna().astype(float).mean() if s.notna().any() else None),
        }
    )
    gold = {
        (row.user_id, row.period_start): row
        for row in built.sql("select * from gold.wellbeing_indicators where period_type = 'day'")
    }
    assert set(gold) == set(expected.index)
    for key, want in expected.iterrows():
        got = gold[key]
        assert got.plays == want.plays
        assert got.minutes_listened == pytest.approx(want.minutes)
        assert got.repeat_share == pytest.approx(want.repeat_share)
        assert (got.skip_rate is None) == pd.isna(want.skip_rate)
        if got.skip_rate is not None:
            assert got.skip_rate == pytest.approx(want.skip_rate)
        shares = got.share_features_real + got.share_features_kaggle + got.share_features_synthetic
        assert shares + got.share_no_features == pytest.approx(1.0)

    [weeks] = built.sql(
        "select sum(plays) as plays, min(dayofweek(period_start)) as lo, max(dayofweek(period_start)) as hi "
        "from gold.wellbeing_indicators where period_type = 'week'"
    )
    assert (weeks.plays, weeks.lo, weeks.hi) == (len(plays), 2, 2)  # every week starts on a Monday


def test_gold_temporal_patterns_cover_every_play(built: Lakehouse, scenario: Scenario) -> None:
    [totals] = built.sql(
        "select sum(plays) as plays, count(*) as cells, max(hour_of_day) as max_hour from gold.temporal_patterns"
    )
    assert totals.plays == len(scenario.plays)
    assert totals.cells <= 2 * 7 * 24 and totals.max_hour <= 23


# ---------------------------------------------------------------- incremental vs full refresh


def silver_merge_metrics(lakehouse: Lakehouse) -> dict[str, str]:
    [last] = lakehouse.sql("describe history silver.listening_with_features limit 1")
    assert last.operation == "MERGE"
    return last.operationMetrics


def snapshot(lakehouse: Lakehouse, table: str, key: list[str]) -> pd.DataFrame:
    """The table's rows in key order, without its build marker (the one column a full refresh changes)."""
    rows = pd.DataFrame([row.asDict() for row in lakehouse.sql(f"select * from {table}")])
    return rows.drop(columns="built_at").sort_values(key, ignore_index=True)


def test_incremental_build_processes_only_new_plays_and_equals_a_full_refresh(
    built: Lakehouse, spark: "SparkSession", scenario: Scenario
) -> None:
    append_bronze_rows(spark, LISTENING, LISTENING_HISTORY.ddl, scenario.new_plays)
    joined_session = last_session_size(scenario.plays, USERS[0])

    incremental = built.dbt("run", "--select", *SILVER_AND_GOLD)  # the full build above ran the tests

    assert incremental.returncode == 0, incremental.stdout[-5000:]
    metrics = silver_merge_metrics(built)
    assert int(metrics["numTargetRowsInserted"]) == len(scenario.new_plays)
    # the new plays, plus the session listener_a's first two new plays joined; nothing else is rebuilt
    assert int(metrics["numSourceRows"]) == len(scenario.new_plays) + joined_session
    all_plays = pd.concat([scenario.plays, scenario.new_plays])
    [count] = built.sql("select count(*) as n from silver.listening_with_features")
    assert count.n == len(all_plays)

    tables = {
        "silver.listening_with_features": ["play_id"],
        "gold.wellbeing_indicators": ["user_id", "period_type", "period_start"],
        "gold.temporal_patterns": ["user_id", "day_of_week", "hour_of_day"],
        "gold.listening_rhythms": ["user_id", "period_type", "period_start"],
        "gold.listening_rhythms_diurnal": ["user_id", "period_type", "period_start", "day_type", "hour_of_day"],
        "gold.listening_rhythm_changes": ["user_id", "period_type", "period_start", "indicator"],
    }
    after_incremental = {table: snapshot(built, table, key) for table, key in tables.items()}

    refresh = built.dbt("run", "--full-refresh", "--select", *SILVER_AND_GOLD)

    assert refresh.returncode == 0, refresh.stdout[-5000:]
    [last] = built.sql("describe history silver.listening_with_features limit 1")
    assert last.operation != "MERGE"  # really rebuilt from scratch
    for table, key in tables.items():
        pd.testing.assert_frame_equal(snapshot(built, table, key), after_incremental[table], check_exact=False)


# ---------------------------------------------------------------- the feature priority setting


def compiled_sql(lakehouse: Lakehouse, model: str) -> str:
    """The model's own compiled SQL (unit tests compile files of the same name under a YAML-named folder)."""
    [source] = (REPO / "models").glob(f"**/{model}.sql")
    compiled = Path(lakehouse.env["DBT_TARGET_PATH"]) / "compiled" / "spotify_analytics" / source.relative_to(REPO)
    return compiled.read_text()


def test_seed_priority_order_prefers_synthetic_over_kaggle(built: Lakehouse, scenario: Scenario) -> None:
    query = f"select feature_source from ({{}}) where track_id = '{scenario.crafted_id}'"
    [default] = built.sql(query.format(compiled_sql(built, "int_track_features__resolved")))
    assert default.feature_source == "kaggle"

    seed_order = built.dbt(
        "compile",
        "--select",
        "int_track_features__resolved",
        "--vars",
        "{feature_source_priority: [spotify_api, synthetic, kaggle]}",
    )

    assert seed_order.returncode == 0, seed_order.stdout[-3000:]
    [seed] = built.sql(query.format(compiled_sql(built, "int_track_features__resolved")))
    assert seed.feature_source == "synthetic"

    no_synthetic = built.run(
        DBT, "compile", "--select", "int_track_features__resolved", env={"ALLOW_SYNTHETIC": "false"}
    )

    assert no_synthetic.returncode == 0, no_synthetic.stdout[-3000:]
    resolved = compiled_sql(built, "int_track_features__resolved")
    [kaggle] = built.sql(query.format(resolved))
    assert kaggle.feature_source == "kaggle"
    outside = f"select count(*) as n from ({resolved}) where track_id like 'outside%'"
    assert built.sql(outside)[0].n == 0


@contextmanager
def silver_restored_afterwards(lakehouse: Lakehouse) -> Iterator[None]:
    """Silver as it was before the block, whatever the block did to it (Delta RESTORE to that version)."""
    [before] = lakehouse.sql("describe history silver.listening_with_features limit 1")
    try:
        yield
    finally:
        lakehouse.sql(f"restore table silver.listening_with_features to version as of {before.version}")


def test_an_empty_silver_takes_every_loaded_play_as_new(built: Lakehouse) -> None:
    """The incremental branch on a Silver with no rows (a build ran before any play arrived): the 'loaded since
    the last build' bound must not be null, so every play is new. Silver is emptied for the test and restored."""
    [held] = built.sql("select count(*) as n from silver.listening_with_features")
    with silver_restored_afterwards(built):
        built.sql("delete from silver.listening_with_features")
        compiled = built.dbt("compile", "--select", "listening_with_features")  # Silver exists: incremental SQL
        assert compiled.returncode == 0, compiled.stdout[-3000:]
        incremental = compiled_sql(built, "listening_with_features")
        for user_id in USERS:  # the incremental branch: each listener read from their first play on
            assert f"plays.user_id = '{user_id}'" in incremental

        [rebuilt] = built.sql(f"select count(*) as n from ({incremental})")

    [plays] = built.sql("select count(*) as n from staging.stg_spotify__plays")
    assert rebuilt.n == plays.n > 0
    [restored] = built.sql("select count(*) as n from silver.listening_with_features")
    assert restored.n == held.n


def test_columns_valid_names_each_failed_check_of_a_bad_row(built: Lakehouse) -> None:
    """The one-scan column test fails on a Silver row with a null, an out-of-range and an unknown value, and
    says which column and value; Silver is restored afterwards."""
    [play] = built.sql("select play_id from silver.listening_with_features where has_features order by play_id limit 1")
    with silver_restored_afterwards(built):
        built.sql(
            "update silver.listening_with_features set valence = 1.5, session_id = null, feature_source = 'guessed' "
            f"where play_id = '{play.play_id}'"
        )
        failing = built.dbt("test", "--select", "listening_with_features,test_name:columns_valid", "--store-failures")
    passing = built.dbt("test", "--select", "listening_with_features,test_name:columns_valid")

    assert failing.returncode == 1 and "FAIL 3" in failing.stdout, failing.stdout[-3000:]
    [stored] = built.sql("show tables in dbt_test__audit like 'columns_valid_listening*'")
    failures = {row.failed_check for row in built.sql(f"select * from dbt_test__audit.{stored.tableName}")}
    assert failures == {
        "session_id is null",
        "valence = 1.5 is outside [0, 1]",
        "feature_source = guessed is not one of spotify_api, kaggle, synthetic",
    }
    assert passing.returncode == 0, passing.stdout[-3000:]


def test_relationships_fails_once_per_orphan_child_row(built: Lakehouse) -> None:
    """The relationships test (an anti join, macros/test_relationships.sql) fails once per child row whose value
    the parent lacks, whatever the parent's duplicates: the seed holds each part of the day on several hours'
    rows. The test sets two Silver rows' part_of_day to 'dusk', which the seed lacks (2 failures, counted by
    hand), and a third's to null, which the test skips; Silver is restored afterwards."""
    first_three = built.sql("select play_id from silver.listening_with_features order by play_id limit 3")
    plays = [row.play_id for row in first_three]
    test = "relationships_listening_with_features_part_of_day"
    with silver_restored_afterwards(built):
        built.sql(
            "update silver.listening_with_features set part_of_day = case play_id "
            f"when '{plays[2]}' then null else 'dusk' end where play_id in ('{plays[0]}', '{plays[1]}', '{plays[2]}')"
        )
        failing = built.dbt("test", "--select", test)
    passing = built.dbt("test", "--select", test)

    [hours] = built.sql("select count(*) as n, count(distinct part_of_day) as parts from seeds.part_of_day_hours")
    assert hours.n > hours.parts  # the parent side holds duplicates
    assert failing.returncode == 1 and "FAIL 2" in failing.stdout, failing.stdout[-3000:]
    assert passing.returncode == 0, passing.stdout[-3000:]
