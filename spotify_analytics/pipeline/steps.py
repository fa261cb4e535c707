"""The pipeline's steps: each one a command a user (or cron) can type, run by the run's worker (``worker``).

A step that exits 77 (a listener's Spotify authorisation lapsed: ``poll``) is ``lapsed``, one that exits 69 (a
listener's poll failed: Spotify unreachable or failing) is ``poll_failed``; either way the run goes on.
While a step runs, the pipeline watches the worker and the server (``supervisor``): a step whose server died is
stopped at once and fails with why the server stopped (out of memory, say) and what to do. The worker dies with the
pipeline: a killed run leaves no step running outside the released run lock.
"""

import logging
import shlex
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ingest.config import Settings
from ingest.spotify.lapse import EXIT_AUTH_LAPSED
from ingest.spotify.poll_failures import EXIT_POLL_FAILED
from spotify_analytics.pipeline import inputs
from spotify_analytics.pipeline.supervisor import Worker
from spotify_analytics.server.process import answers, why_it_stopped

log = logging.getLogger(__name__)

GOLD_PATHS = ("path:models/gold", "path:python_models/gold")
Status = Literal["ok", "failed", "not_run", "lapsed", "poll_failed", "skipped"]
# Exit codes of a command that did its work but met a listener's problem the summary names: the run goes on.
GOES_ON = {EXIT_AUTH_LAPSED: "lapsed", EXIT_POLL_FAILED: "poll_failed"}
GOES_ON_MESSAGE = {
    "lapsed": f"exit code {EXIT_AUTH_LAPSED}: a listener's Spotify authorisation lapsed",
    "poll_failed": f"exit code {EXIT_POLL_FAILED}: polling a listener failed",
}


@dataclass(frozen=True)
class Step:
    name: str
    program: Literal["cli", "dbt"]
    args: tuple[str, ...]

    def command_text(self) -> str:
        prefix = "python -m spotify_analytics" if self.program == "cli" else "dbt"
        return f"{prefix} {shlex.join(self.args)}"


# dbt's unit tests check the models' logic, not the data: `make test` runs them, a scheduled refresh need not.
# Its data tests of incremental models read the rows the refresh wrote (macros/get_where_subquery.sql).
SCHEDULED_BUILD = ("build", "--exclude-resource-type", "unit_test", "--vars", "{data_tests_cover: rows_built_this_run}")
# The tests of the staging models and their sources check the Bronze rows that validate_bronze has just
# checked with the same expectations (dbt_project.yml tags them), so the Silver build leaves them out.
BRONZE_GATED_TESTS = "tag:checked_by_bronze_gate"
# The intermediate view's tests: its checks hold by its SQL or are checked again by Silver's tests on the rows the
# Silver build writes (dbt_project.yml tags them), so the Silver build leaves them out too.
SILVER_CHECKED_TESTS = "tag:checked_through_silver"
# Silver checks run between the two dbt builds, so a failed Silver check leaves Gold as it was.
STEPS = (
    Step("poll", "cli", ("poll",)),
    # A first run without credentials or plays lands the generated demo listener, so the report shows everything.
    Step("demo", "cli", ("demo", "add", "--when-empty")),
    Step("load", "cli", ("load", "all")),
    Step("validate_bronze", "cli", ("validate", "bronze")),
    Step(
        "dbt_build_silver",
        "dbt",
        (*SCHEDULED_BUILD, "--exclude", *GOLD_PATHS, BRONZE_GATED_TESTS, SILVER_CHECKED_TESTS),
    ),
    Step("validate_silver", "cli", ("validate", "silver")),
    Step("dbt_build_gold", "dbt", (*SCHEDULED_BUILD, "--select", *GOLD_PATHS)),
    Step("dbt_docs", "dbt", ("docs", "generate")),
    Step("report", "cli", ("report",)),
    Step("maintain", "cli", ("maintain",)),
)


@dataclass(frozen=True)
class StepResult:
    step: str
    command: str
    status: Status
    exit_code: int | None
    started_at: datetime | None
    seconds: float
    message: str = ""


def not_run(step: Step) -> StepResult:
    return StepResult(step.name, step.command_text(), "not_run", None, None, 0.0, "an earlier step failed")


def run_step(step: Step, settings: Settings, worker: Worker | None = None, run_id: str = "") -> StepResult:
    """Run ``step`` in the run's worker (a worker of its own when none is given) and say how it ended; a step whose
    inputs are as they were when it last succeeded is skipped (``inputs``)."""
    if worker is None:
        with Worker(settings) as own:
            return run_step(step, settings, own, run_id)
    command = step.command_text()
    started_at, started = datetime.now(UTC), time.monotonic()
    done_by = inputs.unchanged_since(step.name, settings)
    if done_by is not None:
        message = f"nothing new since run {done_by}: its inputs are unchanged"
        log.info("Step %s: %s", step.name, message)
        return StepResult(step.name, command, "skipped", None, started_at, time.monotonic() - started, message)
    log.info("Step %s: %s", step.name, command)
    server_was_up = answers(settings)
    exit_code, stopped_because = worker.run(step.program, step.args, server_was_up)
    seconds = time.monotonic() - started
    if exit_code != 0 and server_was_up and not stopped_because and not answers(settings):
        stopped_because = why_it_stopped(settings)  # the step noticed the dead server before the pipeline did
    if stopped_because:
        return StepResult(step.name, command, "failed", exit_code, started_at, seconds, stopped_because)
    if exit_code in GOES_ON and step.program == "cli":
        status = GOES_ON[exit_code]
        return StepResult(step.name, command, status, exit_code, started_at, seconds, GOES_ON_MESSAGE[status])
    if exit_code != 0:
        return StepResult(step.name, command, "failed", exit_code, started_at, seconds, f"exit code {exit_code}")
    inputs.record_success(step.name, settings, run_id)
    return StepResult(step.name, command, "ok", 0, started_at, seconds)
