"""The data quality gate: broken batches fail the checks they break, the real Kaggle sample passes, the CLI's
exit codes and summary, quality history rows, offline Data Docs.

Test tables live in databases of their own (``quality_test_broken``, ``quality_test_good``), built here from
the Bronze contract (``ingest/bronze/schemas.py``) and the Silver contract; the gate is pointed at them with
``--database`` so the Bronze and Silver tables of other modules are never touched.
"""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Lakehouse

from ingest.bronze.schemas import BRONZE_TABLES
from ingest.lakehouse.client import connect
from spotify_analytics.quality import docs_assets
from spotify_analytics.quality.gate_config import QualityConfigError, load_config, parse_config
from spotify_analytics.quality.outcomes import ValidationReport
from spotify_analytics.quality.suites import layer_suites
from spotify_analytics.server.command import DATA_DIR_CONF

DEFAULT_CONFIG = Path(__file__).parents[2] / "spotify_analytics/quality/expectations.toml"
BROKEN = "quality_test_broken"
GOOD = "quality_test_good"
INCREMENT = "quality_test_increment"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
FEATURES = {
    "danceability": 0.6, "energy": 0.7, "key": 5, "loudness": -6.0, "mode": 1, "speechiness": 0.05,
    "acousticness": 0.2, "instrumentalness": 0.0, "liveness": 0.1, "valence": 0.5, "tempo": 120.0,
    "time_signature": 4,
}  # fmt: skip
SILVER_COLUMNS = (
    "play_id string, user_id string, played_at timestamp, played_at_local timestamp, played_date_local date, "
    "hour_of_day int, day_of_week int, part_of_day string, is_weekend boolean, track_id string, "
    "track_name string, artist_name string, album_name string, ms_played bigint, minutes_played double, "
    "source string, skipped boolean, reason_start string, reason_end string, shuffle boolean, "
    "session_id string, session_play_number int, feature_source string, has_features boolean, "
    "danceability double, energy double, valence double, acousticness double, instrumentalness double, "
    "speechiness double, liveness double, loudness double, tempo double, musical_key int, musical_mode int, "
    "time_signature int"
)


def column_names(ddl: str) -> list[str]:
    return [field.split()[0] for field in ddl.split(", ")]


def play(n: int, **changes: Any) -> dict[str, Any]:
    played_at = NOW - dt.timedelta(hours=n + 1)
    row = {
        "play_id": f"play-{n}", "user_id": "listener", "played_at": played_at, "played_date": played_at.date(),
        "track_id": f"track-{n}", "track_name": f"Song {n}", "artist_name": "Artist", "album_name": "Album",
        "ms_played": 180_000, "source": "api", "track_resolution": "uri",
    }  # fmt: skip
    return row | changes


def track_features(n: int, **changes: Any) -> dict[str, Any]:
    row = {"track_id": f"track-{n}", "track_name": f"Song {n}", "duration_ms": 200_000, "fetched_at": NOW}
    return row | FEATURES | {"features_source": "spotify_api"} | changes


def synthetic_features(n: int) -> dict[str, Any]:
    return {"track_id": f"track-{n}", **FEATURES, "source": "synthetic", "generator_version": "1"}


def silver_play(n: int, feature_source: str | None, user_id: str = "listener", ms_played: int = 180_000) -> dict:
    features = (
        {name: value for name, value in FEATURES.items() if name not in ("key", "mode")}
        | {"musical_key": 5, "musical_mode": 1}
        if feature_source
        else {}
    )
    played_at = NOW - dt.timedelta(hours=n + 1)
    return {
        "play_id": f"play-{n}", "user_id": user_id, "played_at": played_at, "hour_of_day": played_at.hour,
        "day_of_week": played_at.isoweekday(), "track_id": f"track-{n}", "ms_played": ms_played, "source": "api",
        "feature_source": feature_source, "has_features": feature_source is not None, **features,
    }  # fmt: skip


def create_table(lakehouse: Lakehouse, table: str, ddl: str, rows: list[dict[str, Any]]) -> None:
    spark = connect(lakehouse.settings)
    names = column_names(ddl)
    spark.sql(f"drop table if exists {table}")
    spark.sql(f"create table {table} ({ddl}) using delta")
    spark.createDataFrame([tuple(row.get(name) for name in names) for row in rows], schema=ddl).write.insertInto(table)


def bronze_ddl(table: str) -> str:
    return BRONZE_TABLES[table].stored_ddl


def create_database(lakehouse: Lakehouse, database: str) -> None:
    lakehouse.sql(f"drop database if exists {database} cascade")
    lakehouse.sql(f"create database {database} location '${{{DATA_DIR_CONF}}}/{database}'")


@pytest.fixture(scope="module")
def broken_tables(lakehouse: Lakehouse) -> Lakehouse:
    """Bronze and Silver tables each breaking some checks; kaggle_tracks_bronze deliberately absent."""
    create_database(lakehouse, BROKEN)
    plays = [play(n) for n in range(4)] + [
        play(10, play_id=None),
        play(11, play_id="play-0"),  # duplicate key
        play(12, played_at=NOW + dt.timedelta(days=1)),
        play(13, ms_played=-5, source="radio"),
    ]
    create_table(lakehouse, f"{BROKEN}.listening_history_bronze", bronze_ddl("listening_history_bronze"), plays)
    features = [track_features(n) for n in range(4)] + [
        track_features(10, valence=1.5),
        track_features(11, tempo=400.0),
        track_features(12, track_id=None),
        track_features(0),  # duplicate key
    ]
    create_table(lakehouse, f"{BROKEN}.my_tracks_features_bronze", bronze_ddl("my_tracks_features_bronze"), features)
    synthetic = [synthetic_features(n) for n in range(5)]
    ddl = bronze_ddl("my_tracks_features_bronze_synthetic")
    create_table(lakehouse, f"{BROKEN}.my_tracks_features_bronze_synthetic", ddl, synthetic)
    # 10 plays of one listener, 3 with features (30% < 50% overall and for the listener), none from Kaggle (0% < 5%);
    # another listener's plays all lasted 0 ms: no share of listening time to measure.
    silver = [silver_play(n, "synthetic" if n < 3 else None) for n in range(10)]
    silver += [silver_play(n, "synthetic", user_id="silent", ms_played=0) for n in range(20, 22)]
    create_table(lakehouse, f"{BROKEN}.listening_with_features", SILVER_COLUMNS, silver)
    return lakehouse


@pytest.fixture(scope="module")
def good_tables(lakehouse: Lakehouse) -> Lakehouse:
    """Valid Bronze tables, with the real Kaggle sample as the catalog; one play has an unknown source."""
    loaded = lakehouse.cli("load", "catalog")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "Kaggle catalog" in loaded.stdout
    create_database(lakehouse, GOOD)
    lakehouse.sql(f"create table {GOOD}.kaggle_tracks_bronze using delta as select * from bronze.kaggle_tracks_bronze")
    sources = ["api", "export_extended", "export_classic", "radio"]  # 'radio': an accepted_values warning
    plays = [play(n, source=source) for n, source in enumerate(sources)]
    create_table(lakehouse, f"{GOOD}.listening_history_bronze", bronze_ddl("listening_history_bronze"), plays)
    features = [track_features(0), track_features(1, features_source=None, **dict.fromkeys(FEATURES))]
    create_table(lakehouse, f"{GOOD}.my_tracks_features_bronze", bronze_ddl("my_tracks_features_bronze"), features)
    ddl = bronze_ddl("my_tracks_features_bronze_synthetic")
    create_table(lakehouse, f"{GOOD}.my_tracks_features_bronze_synthetic", ddl, [synthetic_features(1)])
    for spoken in ("podcast_history_bronze", "audiobook_history_bronze"):
        create_table(lakehouse, f"{GOOD}.{spoken}", bronze_ddl(spoken), [])
    return lakehouse


@pytest.fixture(scope="module")
def broken_bronze_report(broken_tables: Lakehouse) -> ValidationReport:
    from spotify_analytics.quality.runner import validate_layer

    return validate_layer(connect(broken_tables.settings), broken_tables.settings, "bronze", database=BROKEN)


def failed_checks(report: ValidationReport, table: str) -> dict[str, Any]:
    return {o.check_id: o for o in report.outcomes if o.table == table and not o.success}


def test_each_broken_bronze_expectation_fails_and_the_rest_pass(broken_bronze_report: ValidationReport) -> None:
    plays = failed_checks(broken_bronze_report, f"{BROKEN}.listening_history_bronze")
    assert set(plays) == {
        "play_id.not_null", "play_id.unique", "played_at.not_in_future", "ms_played.range", "source.accepted_values",
    }  # fmt: skip
    assert plays["play_id.not_null"].unexpected_count == 1
    assert plays["play_id.unique"].unexpected_count == 2  # both rows sharing the key
    assert plays["ms_played.range"].observed.startswith("1 of 8 rows unexpected")
    assert "-5" in plays["ms_played.range"].observed
    assert plays["source.accepted_values"].severity == "warning"

    features = failed_checks(broken_bronze_report, f"{BROKEN}.my_tracks_features_bronze")
    assert set(features) == {"valence.range", "tempo.range", "track_id.not_null", "track_id.unique"}
    assert "1.5" in features["valence.range"].observed
    assert "400.0" in features["tempo.range"].observed
    assert all(outcome.severity == "critical" for outcome in features.values())

    assert failed_checks(broken_bronze_report, f"{BROKEN}.my_tracks_features_bronze_synthetic") == {}
    [missing] = failed_checks(broken_bronze_report, f"{BROKEN}.kaggle_tracks_bronze").values()
    assert (missing.check_id, missing.severity) == ("table.exists", "warning")
    assert "does not exist" in missing.observed
    assert broken_bronze_report.exit_code == 1


def test_history_holds_every_result_of_the_run(
    broken_bronze_report: ValidationReport, broken_tables: Lakehouse
) -> None:
    rows = broken_tables.sql(
        "select table_name, expectation_id, severity, success, observed_value, unexpected_count, run_at "
        f"from quality.validation_results where run_id = '{broken_bronze_report.run_id}'"
    )
    assert len(rows) == len(broken_bronze_report.outcomes) > 30
    by_check = {(row.table_name, row.expectation_id): row for row in rows}
    valence = by_check[(f"{BROKEN}.my_tracks_features_bronze", "valence.range")]
    assert (valence.success, valence.severity, valence.unexpected_count) == (False, "critical", 1)
    assert by_check[(f"{BROKEN}.my_tracks_features_bronze", "energy.range")].success is True
    assert by_check[(f"{BROKEN}.kaggle_tracks_bronze", "table.exists")].success is False
    [detail] = broken_tables.sql("describe detail quality.validation_results")
    assert detail.format == "delta"
    assert detail.location.rstrip("/").endswith("quality/validation_results")


def test_real_kaggle_sample_passes_and_warnings_alone_exit_0(good_tables: Lakehouse) -> None:
    result = good_tables.cli("validate", "bronze", "--database", GOOD)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "0 critical failures, 1 warnings" in result.stdout
    [warning] = [line for line in result.stdout.splitlines() if line.startswith("WARNING")]
    assert re.search(rf"WARNING +{GOOD}\.listening_history_bronze +source\.accepted_values", warning)
    assert "1 of 4 rows unexpected" in warning and "radio" in warning
    assert "PASSED." in result.stdout
    [run] = good_tables.sql(
        "select run_id, count(*) as checks, sum(cast(success as int)) as passed, max(element_count) as rows "
        f"from quality.validation_results where table_name = '{GOOD}.kaggle_tracks_bronze' "
        "group by run_id order by max(run_at) desc limit 1"
    )
    assert run.checks == run.passed >= 19
    assert run.rows == 10_000


def test_low_coverage_warns_per_listener_and_is_recorded(broken_tables: Lakehouse) -> None:
    result = broken_tables.cli("validate", "silver", "--database", BROKEN)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    [overall] = [line for line in lines if "coverage.overall" in line]
    assert re.search(rf"WARNING +{BROKEN}\.listening_with_features +coverage\.overall", overall)
    assert "0.4167 (expected >= 0.5)" in overall  # 5 of 12 plays
    [minutes] = [line for line in lines if "coverage.listener_minutes" in line]
    assert minutes.startswith("WARNING") and "listener listener " in minutes and "0.3000 (expected >= 0.5)" in minutes
    [plays] = [line for line in lines if "coverage.listener_plays" in line]
    assert "listener listener " in plays and "0.3000" in plays
    assert "silent" not in result.stdout  # its plays all have features; its 0 ms of listening time is not measured
    assert "PASSED." in result.stdout
    rows = broken_tables.sql(
        "select expectation_id, user_id, success, observed_number, observed_value from quality.validation_results "
        f"where table_name = '{BROKEN}.listening_with_features' and expectation_id like 'coverage.%'"
    )
    shares = {(row.expectation_id, row.user_id): row.observed_number for row in rows}
    silent_minutes = shares.pop(("coverage.listener_minutes", "silent"))
    assert shares == pytest.approx(
        {
            ("coverage.overall", None): 5 / 12, ("coverage.synthetic", None): 5 / 12, ("coverage.kaggle", None): 0.0,
            ("coverage.spotify_api", None): 0.0, ("coverage.listener_plays", "listener"): 0.3,
            ("coverage.listener_minutes", "listener"): 0.3, ("coverage.listener_plays", "silent"): 1.0,
        }
    )  # fmt: skip
    assert silent_minutes is None
    [silent] = [row for row in rows if (row.expectation_id, row.user_id) == ("coverage.listener_minutes", "silent")]
    assert (silent.success, silent.observed_number, silent.observed_value) == (
        True, None, "no rows: coverage not measured",
    )  # fmt: skip


def test_a_check_after_a_merge_reads_the_new_rows_and_the_older_rows_of_their_keys(lakehouse: Lakehouse) -> None:
    """Silver with its build stamp: the first check reads every row; after a MERGE, only the rows it wrote and the
    older rows sharing a key with one of them. Worked out by hand: 4 valid plays; the MERGE (on no key, so it only
    inserts) adds play-1 again and play-9 with hour 30; the second check reads those 2 and the older play-1, so 3
    rows, finds play-1 twice (2 unexpected rows) and one hour out of range, and never reads play-0, 2 or 3."""
    create_database(lakehouse, INCREMENT)
    table = f"{INCREMENT}.listening_with_features"
    ddl = f"{SILVER_COLUMNS}, built_at timestamp"
    first_build, second_build = NOW - dt.timedelta(minutes=30), NOW - dt.timedelta(minutes=10)
    create_table(lakehouse, table, ddl, [silver_play(n, "synthetic") | {"built_at": first_build} for n in range(4)])
    first = lakehouse.cli("validate", "silver", "--database", INCREMENT)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert f"{table}: checking whole table" in first.stderr

    written = [silver_play(1, "synthetic"), silver_play(9, "synthetic") | {"hour_of_day": 30}]
    spark = connect(lakehouse.settings)
    names = column_names(ddl)
    rows = [tuple((row | {"built_at": second_build}).get(name) for name in names) for row in written]
    spark.createDataFrame(rows, schema=ddl).createOrReplaceTempView("increment_written")
    spark.sql(f"merge into {table} using increment_written on false when not matched then insert *")
    second = lakehouse.cli("validate", "silver", "--database", INCREMENT)

    assert second.returncode == 1, second.stdout + second.stderr[-3000:]
    assert re.search(rf"{table}: checking keys written since version \d+ \(now \d+\)", second.stderr)
    results = lakehouse.sql(
        "select run_id, expectation_id, success, unexpected_count, element_count from quality.validation_results "
        f"where table_name = '{table}' and expectation_id in ('play_id.unique', 'hour_of_day.range') "
        "order by run_at, expectation_id"
    )
    assert [(r.expectation_id, r.success, r.unexpected_count, r.element_count) for r in results] == [
        ("hour_of_day.range", True, 0, 4), ("play_id.unique", True, 0, 4),
        ("hour_of_day.range", False, 1, 3), ("play_id.unique", False, 2, 3),
    ]  # fmt: skip


def test_stop_below_is_the_one_threshold_that_stops_before_gold(broken_tables: Lakehouse, tmp_path: Path) -> None:
    stopping = tmp_path / "stopping.toml"
    stopping.write_text(DEFAULT_CONFIG.read_text().replace("stop_below = 0.0", "stop_below = 0.5"))

    result = broken_tables.cli("validate", "silver", "--database", BROKEN, env={"QUALITY_CONFIG": str(stopping)})

    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    [stop] = [line for line in result.stdout.splitlines() if "coverage.stop_below" in line]
    assert re.search(rf"CRITICAL +{BROKEN}\.listening_with_features +coverage\.stop_below listener listener ", stop)
    assert "0.3000 (expected >= 0.5)" in stop
    assert "FAILED: a critical expectation failed." in result.stdout


def test_severity_is_configurable(tmp_path: Path) -> None:
    default = DEFAULT_CONFIG.read_text()
    custom = tmp_path / "custom.toml"
    overrides = (
        '[overrides]\n"silver.listening_with_features" = { "coverage.overall" = "critical" }\n'
        '"bronze.my_tracks_features_bronze" = { "valence.range" = "critical" }'
    )
    custom.write_text(default.replace("[overrides]", overrides).replace('range = "critical"', 'range = "warning"'))
    silver, bronze = (layer_suites(layer, load_config(custom)) for layer in ("silver", "bronze"))
    severity = {(suite.table, c.check_id): c.severity for suite in silver + bronze for c in suite.checks}

    assert severity[("silver.listening_with_features", "coverage.overall")] == "critical"
    assert severity[("bronze.my_tracks_features_bronze", "valence.range")] == "critical"
    assert severity[("bronze.my_tracks_features_bronze", "tempo.range")] == "warning"
    assert severity[("bronze.listening_history_bronze", "play_id.unique")] == "critical"
    defaults = {
        (s.table, c.check_id): c.severity for s in layer_suites("silver", load_config(DEFAULT_CONFIG)) for c in s.checks
    }
    assert defaults[("silver.listening_with_features", "coverage.overall")] == "warning"
    assert defaults[("silver.listening_with_features", "coverage.kaggle")] == "warning"


def test_data_docs_render_offline(broken_bronze_report: ValidationReport, broken_tables: Lakehouse) -> None:
    docs = broken_tables.settings.quality_path / "docs"
    assert broken_bronze_report.docs_index == docs / "index.html"
    pages = list(docs.rglob("*.html"))
    assert any(f"{BROKEN}.my_tracks_features_bronze" in page.read_text() for page in pages)
    for page in pages:
        html = page.read_text()
        assert docs_assets.remote_assets(html) == [], page
        assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?:", html), page
        for local in re.findall(r"(?:src|href)=[\"']([^\"']*static/offline/[^\"']+)", html):
            assert (page.parent / local).resolve().is_file(), (page, local)
    assert (docs / "static/offline/font-awesome/webfonts/fa-solid-900.woff2").is_file()


def test_rewrite_points_cdn_tags_at_local_copies() -> None:
    html = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" '
        'integrity="sha384-x" crossorigin="anonymous"></script>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
    )
    rewritten = docs_assets.rewrite_page(html, depth=2)
    assert 'href="../../static/offline/bootstrap/css/bootstrap.min.css"' in rewritten
    assert 'src="../../static/offline/vendor/vega.min.js"' in rewritten
    assert 'popper.min.js" integrity' not in rewritten  # Popper is in the local Bootstrap bundle
    assert "<!-- https://cdnjs.cloudflare.com/ajax/libs/popper.js" in rewritten
    assert docs_assets.remote_assets(rewritten) == []
    with pytest.raises(docs_assets.OfflineAssetError, match=r"unknown\.example"):
        docs_assets.rewrite_page('<script src="https://unknown.example/x.js"></script>', depth=0)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw["severity"].update(range="fatal"), "severity.range = 'fatal'"),
        (lambda raw: raw["coverage"].update(kaggle={"min": 5}), "coverage.kaggle.min = 5"),
        (lambda raw: raw["severity"].pop("unique"), "lacks unique"),
        (lambda raw: raw["coverage"].update(stop_below=2), "coverage.stop_below = 2"),
    ],
)
def test_invalid_config_is_named(edit: Callable[[dict], Any], message: str) -> None:
    import tomllib

    raw = tomllib.loads(DEFAULT_CONFIG.read_text())
    edit(raw)
    with pytest.raises(QualityConfigError, match=re.escape(message)):
        parse_config(raw, "test.toml")
    with pytest.raises(QualityConfigError, match="not found"):
        load_config(Path("/nonexistent/quality.toml"))
