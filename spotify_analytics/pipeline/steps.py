"""The pipeline's steps: each one a command a user (or cron) can type, run as a subprocess.

A step
that exits 77 (a listener's Spotify authorisation lapsed: ``poll``) is ``lapsed``, and the run goes on.
"""

import logging
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ingest.config import Settings
from ingest.spotify.lapse import EXIT_AUTH_LAPSED
from spotify_analytics.pipeline.dbt import dbt_env, dbt_executable

log = logging.getLogger(__name__)

GOLD_PATHS = ("path:models/gold", "path:python_models/gold")
Status = Literal["ok", "failed", "not_run", "lapsed"]


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
    try:
        completed = subprocess.run(
            argv, cwd=settings.project_dir, env=env, timeout=settings.pipeline_step_timeout, check=False
        )
    except subprocess.TimeoutExpired:
        seconds = time.monotonic() - started
        message = f"timed out after {settings.pipeline_step_timeout:.0f} s (PIPELINE_STEP_TIMEOUT)"
        return StepResult(step.name, command, "failed", None, started_at, seconds, message)
    seconds = time.monotonic() - started
    if completed.returncode == EXIT_AUTH_LAPSED and step.program == "cli":
        message = f"exit code {EXIT_AUTH_LAPSED}: a listener's Spotify authorisation lapsed"
        return StepResult(step.name, command, "lapsed", completed.returncode, started_at, seconds, message)
    if completed.returncode != 0:
        message = f"exit code {completed.returncode}"
        return StepResult(step.name, command, "failed", completed.returncode, started_at, seconds, message)
    return StepResult(step.name, command, "ok", 0, started_at, seconds)
