"""The pipeline's steps: each one a command a user (or cron) can type, run as a subprocess.

A step that exits 77 (a listener's Spotify authorisation lapsed: ``poll``) is ``lapsed``, one that exits 69 (a
listener's poll failed: Spotify unreachable or failing) is ``poll_failed``; either way the run goes on.
While a step runs, the pipeline checks every few seconds that the lakehouse server still answers: a step whose
server died is stopped at once and fails with why the server stopped (out of memory, say) and what to do, rather
than wait for its client to give up. A step is a child that dies with the pipeline: a killed run leaves no step
running outside the released run lock.
"""

import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ingest.config import Settings
from ingest.spotify.lapse import EXIT_AUTH_LAPSED
from ingest.spotify.poll_failures import EXIT_POLL_FAILED
from spotify_analytics.pipeline.dbt import dbt_env, dbt_executable
from spotify_analytics.server.process import answers, why_it_stopped

log = logging.getLogger(__name__)

SERVER_CHECK_SECONDS = 5.0
SERVER_CHECKS_BEFORE_DEAD = 2  # a server that fails two checks in a row (5-10 s) is dead, not busy
STOP_GRACE_SECONDS = 20.0  # a step asked to stop (SIGINT: dbt cancels its queries) gets this long before SIGKILL
DEAD_SERVER_GRACE_SECONDS = 5.0  # ... unless its server died: there is no query left to cancel
GOLD_PATHS = ("path:models/gold", "path:python_models/gold")
Status = Literal["ok", "failed", "not_run", "lapsed", "poll_failed"]
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


def run_step(step: Step, settings: Settings) -> StepResult:
    if step.program == "cli":
        argv, env = [sys.executable, "-m", "spotify_analytics", *step.args], dict(os.environ)
    else:
        argv, env = [dbt_executable(), *step.args], dbt_env(settings)
    command = step.command_text()
    log.info("Step %s: %s", step.name, command)
    started_at, started = datetime.now(UTC), time.monotonic()
    server_was_up = answers(settings)
    process = subprocess.Popen(dying_with_this_process(argv), cwd=settings.project_dir, env=env)
    stopped_because = supervise(process, settings, server_was_up)
    seconds = time.monotonic() - started
    if process.returncode != 0 and server_was_up and not stopped_because and not answers(settings):
        stopped_because = why_it_stopped(settings)  # the step noticed the dead server before the pipeline did
    if stopped_because:
        return StepResult(step.name, command, "failed", process.returncode, started_at, seconds, stopped_because)
    if process.returncode in GOES_ON and step.program == "cli":
        status = GOES_ON[process.returncode]
        return StepResult(step.name, command, status, process.returncode, started_at, seconds, GOES_ON_MESSAGE[status])
    if process.returncode != 0:
        message = f"exit code {process.returncode}"
        return StepResult(step.name, command, "failed", process.returncode, started_at, seconds, message)
    return StepResult(step.name, command, "ok", 0, started_at, seconds)


def supervise(process: subprocess.Popen[bytes], settings: Settings, server_was_up: bool) -> str:
    """Wait for a step; stop it when it outlives PIPELINE_STEP_TIMEOUT or the server it talks to dies.
    Returns why it was stopped ('' when it ended by itself)."""
    deadline, failed_checks = time.monotonic() + settings.pipeline_step_timeout, 0
    while True:
        try:
            process.wait(timeout=SERVER_CHECK_SECONDS)
            return ""
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() > deadline:
            stop(process)
            return f"timed out after {settings.pipeline_step_timeout:.0f} s (PIPELINE_STEP_TIMEOUT)"
        failed_checks = 0 if not server_was_up or answers(settings) else failed_checks + 1
        if failed_checks >= SERVER_CHECKS_BEFORE_DEAD:
            log.error("The lakehouse server stopped answering: stopping the step")
            stop(process, DEAD_SERVER_GRACE_SECONDS)
            return why_it_stopped(settings)


def stop(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGINT first (dbt cancels its running queries, a load releases its locks), SIGKILL after the grace time."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def dying_with_this_process(argv: list[str]) -> list[str]:
    """``argv`` run through ``with_parent``, so that the step dies with the pipeline."""
    return [sys.executable, "-m", "spotify_analytics.pipeline.with_parent", str(os.getpid()), *argv]
