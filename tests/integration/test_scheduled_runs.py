"""`python -m spotify_analytics pipeline` as cron runs it: one run at a time, a failing step stops the run before Gold
and leaves the Gold tables as they were, every step of every run lands in ops.pipeline_runs, and a Spotify API that
cannot be reached fails the listeners' polls but not the build of what landed.

The overlapping runs are the session's ``real_exports_run`` (the real exports' pipeline, which test_real_exports
checks too); this module's name sorts after it, so the run it shares is already done when it starts."""

import json
import re

import pytest
from conftest import (
    EXIT_POLL_FAILED,
    NO_CREDENTIALS,
    REPO,
    STEP_NAMES,
    Lakehouse,
    ScheduledRun,
    gold_versions,
    run_id_of,
    summary_rows,
)

from spotify_analytics.pipeline.steps import BRONZE_GATED_TESTS, SILVER_CHECKED_TESTS, STEPS
from spotify_analytics.quality.gate_config import load_config
from spotify_analytics.quality.suites import layer_suites

GOLD_STEPS = {"dbt_build_gold", "dbt_docs", "report"}
EXIT_BUSY = 75


@pytest.fixture(scope="module")
def concurrent(real_exports_run: ScheduledRun) -> ScheduledRun:
    """The real exports imported (so Silver has plays to check); a full run started and, once it held the lock,
    a second one; both finished (the session's run, shared with test_real_exports)."""
    return real_exports_run


def test_two_concurrent_runs_exactly_one_proceeds(concurrent: ScheduledRun) -> None:
    second = concurrent.second
    assert second.returncode == EXIT_BUSY, second.stderr[-3000:]
    assert concurrent.first_was_running  # the second gave up at once instead of waiting
    first_id = run_id_of(concurrent.first.stdout)
    assert f"Another pipeline run is in progress (run {first_id}, pid " in second.stderr
    assert f"exits with code {EXIT_BUSY}" in second.stderr
    assert "Step " not in second.stderr and "Pipeline run" not in second.stdout  # it ran nothing

    assert concurrent.first.returncode == EXIT_POLL_FAILED, (
        concurrent.first.stdout[-4000:] + concurrent.first.stderr[-4000:]
    )  # built, but the polls failed (test_an_unreachable_spotify_api_fails_the_polls_but_not_the_build)
    assert concurrent.runs_added == 1  # only the first run is in the summary table


def test_run_summary_records_every_step(lakehouse: Lakehouse, concurrent: ScheduledRun) -> None:
    run_id = run_id_of(concurrent.first.stdout)
    rows = summary_rows(lakehouse, run_id)

    assert [row.step for row in rows] == STEP_NAMES
    assert [row.step_number for row in rows] == list(range(1, len(STEP_NAMES) + 1))
    assert {row.run_status for row in rows} == {"succeeded"}
    for row in rows:
        assert row.status in {"ok", "skipped", "poll_failed"}, row
        assert row.duration_seconds >= 0
        assert (row.exit_code == 0) == (row.status == "ok"), row
    by_step = {row.step: row for row in rows}
    for step in ("server", "load", "dbt_build_silver", "dbt_build_gold"):
        assert by_step[step].status == "ok", by_step[step]
    # the docs are the tables' columns, not their rows: rebuilt only when a run before left other tables
    assert by_step["dbt_docs"].status == "ok" or by_step["dbt_docs"].message.startswith("nothing new since run ")
    assert (by_step["poll"].status, by_step["poll"].exit_code) == ("poll_failed", EXIT_POLL_FAILED)
    assert by_step["dbt_build_gold"].duration_seconds > 1  # real work, not a stub
    for name in STEP_NAMES:  # the printed summary has a line per step
        assert re.search(rf"^  {name}\s+(ok|skipped|poll_failed)\s+\d+\.\d", concurrent.first.stdout, re.M), name


def test_an_unreachable_spotify_api_fails_the_polls_but_not_the_build(
    lakehouse: Lakehouse, concurrent: ScheduledRun
) -> None:
    """Two listeners are authorised, and nothing answers at the API's address: each of their polls fails and is
    named in the summary, and every step after the poll ran, so Silver and Gold hold every listener's exports."""
    run = concurrent.first
    assert run.returncode == EXIT_POLL_FAILED, run.stdout[-3000:] + run.stderr[-3000:]
    assert re.search(r"^Pipeline run \S+ succeeded in \d+ s", run.stdout, re.M), run.stdout[-3000:]
    for user_id in concurrent.polled:
        assert re.search(
            rf"^POLL FAILED: Polling listener {user_id} failed \(since [0-9T:-]+Z\): recently-played: "
            r"ConnectionError after 2 attempts; the next run retries\.",
            run.stdout,
            re.M,
        ), run.stdout[-3000:]
    # every listener with stored tokens was polled and failed: the two above, and any a module before authorised
    assert sorted(re.findall(r"^POLL FAILED: Polling listener (\S+) ", run.stdout, re.M)) == concurrent.authorised
    listeners = set(concurrent.users.values())
    silver = {row.user_id for row in lakehouse.sql("select distinct user_id from silver.listening_with_features")}
    gold = {row.user_id for row in lakehouse.sql("select distinct user_id from gold.wellbeing_indicators")}
    assert listeners - silver == set()  # every listener's exports were built, the polled ones too
    assert set(concurrent.polled) <= gold


def test_failing_step_stops_before_gold_and_leaves_gold_unchanged(
    lakehouse: Lakehouse, concurrent: ScheduledRun
) -> None:
    assert concurrent.first.returncode == EXIT_POLL_FAILED  # Gold exists from a run that built everything
    gold_before = gold_versions(lakehouse)
    assert gold_before, "the good run left no Gold tables"
    # A broken Bronze row: a catalog track without its id. The load's MERGE keeps it (its row_hash is
    # unchanged), so the run meets it in the Bronze checks (validate bronze, or dbt's source tests).
    [victim] = lakehouse.sql("select catalog_row_id, track_id from bronze.kaggle_tracks_bronze order by 1 limit 1")
    lakehouse.sql(f"update bronze.kaggle_tracks_bronze set track_id = null where catalog_row_id = {victim[0]}")
    try:
        result = lakehouse.cli("pipeline", env=NO_CREDENTIALS)
    finally:
        lakehouse.sql(
            f"update bronze.kaggle_tracks_bronze set track_id = '{victim.track_id}' where catalog_row_id = {victim[0]}"
        )

    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAILED at step" in result.stdout
    rows = summary_rows(lakehouse, run_id_of(result.stdout))
    assert [row.step for row in rows] == STEP_NAMES  # every step is recorded, run or not
    statuses = {row.step: row.status for row in rows}
    [failed] = [row for row in rows if row.status == "failed"]
    assert failed.step in {"validate_bronze", "dbt_build_silver"}, failed
    assert failed.exit_code not in (0, None)
    assert all(statuses[step] == "not_run" for step in GOLD_STEPS), statuses
    assert {row.run_status for row in rows} == {"failed"}
    assert gold_versions(lakehouse) == gold_before  # Gold was not rebuilt from bad data


def test_lock_is_free_after_the_runs_and_a_held_lock_means_exit_75(
    lakehouse: Lakehouse, concurrent: ScheduledRun
) -> None:
    from spotify_analytics.pipeline.lock import pipeline_lock

    with pipeline_lock(lakehouse.settings.data_path / "pipeline.lock", "held-by-test"):  # free: no PipelineBusy
        busy = lakehouse.cli("pipeline", env=NO_CREDENTIALS)
    assert busy.returncode == EXIT_BUSY
    assert "(run held-by-test, pid " in busy.stderr


# What the staging models rename: the Bronze table the gate checks for each.
BRONZE_OF = {
    "model.spotify_analytics.stg_spotify__plays": "bronze.listening_history_bronze",
    "model.spotify_analytics.stg_spotify__podcast_plays": "bronze.podcast_history_bronze",
    "model.spotify_analytics.stg_spotify__audiobook_plays": "bronze.audiobook_history_bronze",
    "model.spotify_analytics.stg_spotify__track_features": "bronze.my_tracks_features_bronze",
    "model.spotify_analytics.stg_synthetic__track_features": "bronze.my_tracks_features_bronze_synthetic",
    "model.spotify_analytics.stg_kaggle__tracks": "bronze.kaggle_tracks_bronze",
    "model.spotify_analytics.stg_participants__timezones": "bronze.participant_timezones",
    "source.spotify_analytics.kaggle.kaggle_tracks_bronze": "bronze.kaggle_tracks_bronze",
}
# Not a property of the Bronze rows: stg_kaggle__tracks keeps one row per track with row_number() = 1.
BY_CONSTRUCTION = {("bronze.kaggle_tracks_bronze", "track_id.unique")}


def gate_checks_of(test: dict) -> set[tuple[str, str]]:
    """(Bronze table, gate check id) pairs that check what one dbt test checks."""
    table = BRONZE_OF[test["depends_on"]["nodes"][0]]
    kind, arguments = test["test_metadata"]["name"], test["test_metadata"]["kwargs"]
    if kind == "columns_valid":
        columns = [f"{column}.not_null" for column in arguments.get("not_null", [])]
        return {(table, check) for check in columns + [f"{column}.range" for column in arguments.get("between", {})]}
    return {(table, f"{arguments['column_name']}.{kind}")}


def test_the_silver_build_leaves_out_only_tests_the_bronze_gate_runs(lakehouse: Lakehouse) -> None:
    """The scheduled Silver build leaves out the tests of the staging models and their sources: each is a
    critical check of the Bronze gate, which runs just before it (or holds by the model's construction)."""
    keys = ["--output", "json", "--output-keys", "unique_id name test_metadata depends_on", "-q"]
    listed = lakehouse.dbt("ls", "--resource-type", "test", "--select", BRONZE_GATED_TESTS, *keys)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    left_out = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    assert len(left_out) >= 10
    config = load_config(REPO / "spotify_analytics" / "quality" / "expectations.toml")
    critical = {
        (suite.table, check.check_id)
        for suite in layer_suites("bronze", config)
        for check in suite.checks
        if check.severity == "critical"
    }
    checked = {(test["unique_id"], pair) for test in left_out for pair in gate_checks_of(test)}
    assert {(test, pair) for test, pair in checked if pair not in critical | BY_CONSTRUCTION} == set()

    [silver_build] = [step for step in STEPS if step.name == "dbt_build_silver"]
    run = lakehouse.dbt("ls", *silver_build.args[1:], "--resource-type", "test", "--output", "name", "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    tests_run = set(run.stdout.split())
    assert "relationships_listening_with_features_play_id" in tests_run
    assert {test["name"] for test in left_out} & tests_run == set()


def listed_tests(lakehouse: Lakehouse, *selection: str) -> list[dict]:
    keys = ["--output", "json", "--output-keys", "unique_id name test_metadata depends_on", "-q"]
    listed = lakehouse.dbt("ls", "--resource-type", "test", *selection, *keys)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]


def test_the_silver_build_leaves_out_only_intermediate_checks_that_silver_repeats(lakehouse: Lakehouse) -> None:
    """The intermediate view's tests are left out of the scheduled Silver build: each check holds by the view's
    SQL (non-null track ids, feature_source a literal) or is repeated by a Silver test that the build runs."""
    left_out = listed_tests(lakehouse, "--select", SILVER_CHECKED_TESTS)
    of_the_view = listed_tests(lakehouse, "--select", "int_track_features__resolved")
    assert {test["unique_id"] for test in left_out} == {test["unique_id"] for test in of_the_view}
    assert {test["depends_on"]["nodes"][0] for test in left_out} == {
        "model.spotify_analytics.int_track_features__resolved"
    }
    [silver_build] = [step for step in STEPS if step.name == "dbt_build_silver"]
    run = {test["name"]: test for test in listed_tests(lakehouse, *silver_build.args[1:])}
    assert {test["name"] for test in left_out} & set(run) == set()

    silver_sources = set()
    for test in run.values():
        if test["name"].startswith("columns_valid_listening_with_features"):
            silver_sources |= set(test["test_metadata"]["kwargs"].get("accepted_values", {}).get("feature_source", []))
    for test in left_out:
        kind, arguments = test["test_metadata"]["name"], test["test_metadata"]["kwargs"]
        if kind == "unique":  # a track resolved twice would duplicate its plays in Silver
            assert arguments["column_name"] == "track_id"
            assert "unique_listening_with_features_play_id" in run
        elif kind == "not_null":  # by the view's SQL
            assert arguments["column_name"] == "track_id"
        else:
            assert kind == "columns_valid"
            assert set(arguments["not_null"]) <= {"track_id", "feature_source"}  # by the view's SQL
            assert set(arguments["accepted_values"]) == {"feature_source"}
            assert set(arguments["accepted_values"]["feature_source"]) == silver_sources
