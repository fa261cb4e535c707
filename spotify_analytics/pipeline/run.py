"""The main job, run by hand (``make run``) or by cron: every step in order, one run at a time.

server up → poll → demo (a first run without data only) → load → validate Bronze → dbt build (all but Gold)
→ validate Silver → dbt build (Gold) → dbt docs generate → report. Each step is the command a user would type,
run one after the other by one worker process (``worker``); the first failure stops the run, so Gold is only
rebuilt from checked Silver. The run summary is printed and appended to ``ops.pipeline_runs``.

Exit codes: 0 every step succeeded; 1 a step failed (or the summary
could not be recorded); 75 another run holds the lock (nothing was done); 77 every step ran but ``poll`` found a
listener's Spotify authorisation lapsed (the summary names the listeners whose authorisation lapsed and since when);
69 every step ran and built what landed, but polling some listeners failed (Spotify unreachable or failing: the
summary names them and since when). A lapse outranks a failed poll: it needs a person.
"""

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from pyspark.errors import PySparkException

from ingest.config import Settings
from ingest.lakehouse.client import connect
from ingest.spotify.lapse import EXIT_AUTH_LAPSED, current_lapses, lapse_message
from ingest.spotify.poll_failures import EXIT_POLL_FAILED, current_poll_failures, poll_failure_message
from spotify_analytics.pipeline.lock import PipelineBusy, pipeline_lock
from spotify_analytics.pipeline.run_log import RUNS_TABLE, PipelineRun, append_run, ensure_runs_table, format_summary
from spotify_analytics.pipeline.steps import STEPS, StepResult, not_run, run_step
from spotify_analytics.pipeline.supervisor import Worker
from spotify_analytics.server import process as server
from spotify_analytics.server.process import ServerError, port_open

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BUSY = 75  # EX_TEMPFAIL: try again later


def lock_path(settings: Settings) -> Path:
    return settings.data_path / "pipeline.lock"


def run_pipeline(settings: Settings) -> int:
    """Run every step in order under the run lock; return the process exit code."""
    run = PipelineRun.new()
    try:
        with pipeline_lock(lock_path(settings), run.run_id):
            return _run_locked(settings, run)
    except PipelineBusy as exc:
        log.error("%s This run does nothing and exits with code %d.", exc, EXIT_BUSY)
        return EXIT_BUSY


def _run_locked(settings: Settings, run: PipelineRun) -> int:
    log.info("Pipeline run %s started", run.run_id)
    run.results.append(server_step(settings))
    with Worker(settings) as worker:
        for step in STEPS:
            run.results.append(not_run(step) if run.failed_step else run_step(step, settings, worker, run.run_id))
    print(format_summary(run), flush=True)
    print(lapse_summary(settings) + poll_failure_summary(settings), end="", flush=True)
    recorded = record(settings, run)
    if run.failed_step:
        return EXIT_FAILED
    print(results_summary(settings, (datetime.now(UTC) - run.started_at).total_seconds()))
    return exit_code(run, recorded)


def exit_code(run: PipelineRun, recorded: bool) -> int:
    """1 when a step failed or the run could not be recorded; else 77 when a listener's authorisation lapsed; else
    69 when polling a listener failed."""
    if run.failed_step or not recorded:
        return EXIT_FAILED
    statuses = {result.status for result in run.results}
    return EXIT_AUTH_LAPSED if "lapsed" in statuses else EXIT_POLL_FAILED if "poll_failed" in statuses else EXIT_OK


def lapse_summary(settings: Settings) -> str:
    """The listeners whose Spotify authorisation has lapsed, since when, and how to renew it ('' when none)."""
    lapses = current_lapses(settings)
    return "".join(f"\nLAPSED: {lapse_message(settings, lapse)}\n" for lapse in lapses)


def poll_failure_summary(settings: Settings) -> str:
    """The listeners whose last poll failed, since when and why ('' when none)."""
    return "".join(f"\nPOLL FAILED: {poll_failure_message(failure)}\n" for failure in current_poll_failures(settings))


def server_step(settings: Settings) -> StepResult:
    """The lakehouse server answers (started here unless PIPELINE_START_SERVER=false) and ops.pipeline_runs
    exists, so dbt's source for it resolves from the first run on."""
    started_at, started = datetime.now(UTC), time.monotonic()
    command = "python -m spotify_analytics server start"
    try:
        message = ensure_server(settings)
        ensure_runs_table(connect(settings))
    except ServerError as exc:
        log.error("%s", exc)
        return StepResult("server", command, "failed", None, started_at, time.monotonic() - started, str(exc)[:500])
    return StepResult("server", command, "ok", 0, started_at, time.monotonic() - started, message)


def ensure_server(settings: Settings) -> str:
    host = settings.lakehouse_host
    if port_open(host, settings.thrift_port) and port_open(host, settings.connect_port):
        return f"already answering at {host}"
    if not settings.pipeline_start_server:
        raise ServerError(
            f"No lakehouse server answers at {host}:{settings.thrift_port}/{settings.connect_port} and "
            "PIPELINE_START_SERVER is false: start it (docker compose up -d spark)."
        )
    pid, _ = server.start(settings)
    return f"started (pid {pid})"


def record(settings: Settings, run: PipelineRun) -> bool:
    try:
        append_run(connect(settings), run)
    except Exception as exc:  # the run's outcome is already printed; say why it is not in the table
        log.error("Could not record run %s in %s: %s", run.run_id, RUNS_TABLE, str(exc)[:500])
        return False
    print(f"\nRecorded in {RUNS_TABLE}.", flush=True)
    return True


# What a run leaves to look at, in the order a user wants it: the tables' row counts are read at the end of a run.
BUILT_TABLES = (
    "silver.listening_with_features",
    "gold.wellbeing_indicators",
    "gold.temporal_patterns",
    "gold.listening_rhythms",
    "gold.listening_rhythms_diurnal",
    "gold.listening_rhythm_changes",
    "gold.year_in_review",
    "gold.mood_session_clusters",
    "gold.mood_clusters",
    "gold.track_recommendations",
    "gold.kaggle_track_sound_clusters",
    "bronze.listening_history_bronze",
    "bronze.podcast_history_bronze",
    "bronze.audiobook_history_bronze",
    "bronze.kaggle_tracks_bronze",
)


def row_counts(settings: Settings) -> dict[str, int | None]:
    """Rows of each table a run builds; None for one that does not exist (yet)."""
    spark = connect(settings)
    return {table: spark.table(table).count() if spark.catalog.tableExists(table) else None for table in BUILT_TABLES}


def _rows(rows: int | str | None) -> str:
    return "not built" if rows is None else rows if isinstance(rows, str) else f"{rows:>12,} rows"


def results_summary(settings: Settings, seconds: float) -> str:
    """The end of a successful run: the report first, then the tables built, then how to look further."""
    from ingest.demo import DEMO_USER, REMOVE_COMMAND
    from ingest.demo.listener import demo_present
    from spotify_analytics.report.writer import INDEX, report_dir

    index = report_dir(settings) / INDEX
    demo = (
        f"\n  It shows the GENERATED demo listener '{DEMO_USER}' (no plays and no Spotify credentials yet): import "
        f"your export with python -m spotify_analytics import-history PATH, and remove the demo with {REMOVE_COMMAND}"
        if demo_present(settings)
        else ""
    )
    catalog = (
        f"\nNOTE: the catalog is GENERATED demo data, not real Spotify features. Put the Kaggle dataset.csv at "
        f"{settings.path(settings.kaggle_csv)} and run again for real data."
        if not settings.path(settings.kaggle_csv).is_file()
        else ""
    )
    try:
        counts = row_counts(settings)
    except (ServerError, PySparkException) as exc:  # the run succeeded: say why the counts are missing
        counts = dict.fromkeys(BUILT_TABLES, f"not counted ({str(exc).splitlines()[0][:200]})")
    width = max(len(table) for table in counts)
    tables = "\n".join(f"  {table:<{width}}  {_rows(rows)}" for table, rows in counts.items())
    return f"""
Pipeline finished in {seconds:.0f} s.

Report: {index}
        {index.as_uri()}{demo}

Tables built (Delta, under {settings.data_path}):
{tables}
  ops.pipeline_runs: one row per step of each run; quality.validation_results: every check of every run

Look further:
  .venv/bin/dbt show --select wellbeing_indicators --limit 10
  .venv/bin/dbt show --inline "select * from gold.mood_clusters"
  .venv/bin/dbt docs generate && .venv/bin/dbt docs serve --port 8080   (lineage and column docs)
  Data quality checks (Data Docs): {settings.quality_path / "docs" / "index.html"}{catalog}
The lakehouse server keeps running; stop it with: .venv/bin/python -m spotify_analytics server stop
"""
