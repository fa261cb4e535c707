"""Run dbt commands as a user would type them, with the lakehouse connection settings in the env."""

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DbtResult:
    args: tuple[str, ...]
    returncode: int
    seconds: float


def target_path(settings: Settings) -> Path:
    """Where dbt writes its artifacts: ``DBT_TARGET_PATH`` (a relative one from the project directory, where dbt
    runs), else the project's ``target``."""
    return settings.path(Path(os.environ.get("DBT_TARGET_PATH") or "target"))


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DBT_PROFILES_DIR=str(settings.project_dir),
        LAKEHOUSE_HOST=settings.lakehouse_host,
        THRIFT_PORT=str(settings.thrift_port),
        CONNECT_PORT=str(settings.connect_port),
        DATA_DIR=str(settings.data_path),
    )
    return env


def run_dbt(settings: Settings, *args: str) -> DbtResult:
    command = [dbt_executable(), *args]
    log.info("Running: %s", " ".join(["dbt", *args]))
    started = time.monotonic()
    completed = subprocess.run(command, cwd=settings.project_dir, env=dbt_env(settings), check=False)
    return DbtResult(tuple(args), completed.returncode, time.monotonic() - started)
