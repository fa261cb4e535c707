"""Superset in a virtual environment of its own, outside the project's lock: ``superset/requirements.lock`` (Superset
and its Hive driver, resolved by ``make superset-lock``) installed with uv into ``.cache/superset/venv``.

The environment records the lock's digest it was made from and is reused while the lock is unchanged, so a second
install (the test session's, every ``make superset``) costs a file read.
"""

import hashlib
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)
LOCK = Path("superset/requirements.lock")
VENV = Path(".cache/superset/venv")
STAMP = ".installed-lock-sha256"  # in the venv: the digest of the lock it was installed from


class InstallError(RuntimeError):
    """The environment could not be made; the message names the step and what it printed."""


def superset_venv(project_dir: Path) -> Path:
    return project_dir / VENV


def lock_digest(project_dir: Path) -> str:
    return hashlib.sha256((project_dir / LOCK).read_bytes()).hexdigest()


def is_installed(project_dir: Path) -> bool:
    stamp = superset_venv(project_dir) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == lock_digest(project_dir)


def install(project_dir: Path, timeout: float) -> tuple[Path, float]:
    """Make (or reuse) the environment; return its folder and the seconds the install took (0 when reused)."""
    venv = superset_venv(project_dir)
    if is_installed(project_dir):
        log.info("Superset's environment %s matches %s; reused", venv, LOCK)
        return venv, 0.0
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not uv:
        raise InstallError("uv is missing (make setup installs it into .venv)")
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    log.info("Installing Superset from %s into %s", LOCK, venv)
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], timeout)
    run(
        [uv, "pip", "sync", "--quiet", "--python", str(venv / "bin" / "python"), str(project_dir / LOCK)],
        timeout - (time.monotonic() - started),
    )
    (venv / STAMP).write_text(lock_digest(project_dir) + "\n")
    seconds = time.monotonic() - started
    log.info("Installed Superset into %s in %.0f s", venv, seconds)
    return venv, seconds


def run(command: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=max(timeout, 1), check=False)
    except subprocess.TimeoutExpired:
        raise InstallError(f"`{' '.join(command)}` did not end within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise InstallError(f"`{' '.join(command)}` failed (exit code {done.returncode}): {done.stderr[-2000:]}")
