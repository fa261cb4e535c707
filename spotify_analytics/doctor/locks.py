"""The lakehouse's locks: ``<data>/pipeline.lock`` (one pipeline run at a time) and the ingest state's ``*.lock``
files (one Bronze writer at a time, one plays load at a time). They are ``flock`` locks, which the kernel frees
when their holder dies, so none can be stale: a lock is reported free, or held right now and by what (the pipeline
lock file records its run; ``/proc/locks`` gives any holder's pid)."""

import fcntl
import os
from pathlib import Path

from ingest.config import Settings
from spotify_analytics.doctor.findings import Finding
from spotify_analytics.pipeline.run import lock_path

FREE = "free (a flock lock: the kernel frees it when its holder dies, so it is never stale)"


def lock_files(settings: Settings) -> list[Path]:
    state = settings.ingest_state_path
    found = sorted(state.rglob("*.lock")) if state.is_dir() else []
    pipeline = lock_path(settings)
    return ([pipeline] if pipeline.is_file() else []) + found


def check_locks(settings: Settings) -> list[Finding]:
    return [check_lock(path, path == lock_path(settings)) for path in lock_files(settings)]


def check_lock(path: Path, records_holder: bool) -> Finding:
    try:
        with path.open("r") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = handle.read().strip() if records_holder else ""
                return Finding("locks", str(path), "ok", f"held right now by {holder or holders(path)}")
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError as exc:
        return Finding("locks", str(path), "problem", f"cannot be opened ({exc.strerror}): check its permissions")
    return Finding("locks", str(path), "ok", FREE)


def holders(path: Path) -> str:
    """The processes holding a flock lock on ``path``, from ``/proc/locks``: 'pid N (command line)'."""
    stat = path.stat()
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "another process"
    pids = sorted({fields[4] for line in lines if len(fields := line.split()) > 5 and fields[5] == device})
    return ", ".join(f"pid {pid} ({command_line(pid)})" for pid in pids) or "another process"


def command_line(pid: str) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
    except OSError:
        return "gone"
    return " ".join(words)[:200]
