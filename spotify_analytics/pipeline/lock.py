"""One pipeline run at a time: an exclusive ``fcntl`` lock on ``<data>/pipeline.lock``; and a lock that waits.

The lock is held by the open file, so it goes away with the process however it ends (no stale lock
after a crash or a kill). The file records who holds it, for the message the second run prints.
"""

import fcntl
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


class PipelineBusy(RuntimeError):
    """Another pipeline run holds the lock; the message says which."""


@contextmanager
def pipeline_lock(path: Path, run_id: str) -> Iterator[None]:
    """Hold the lock for the duration of the block, or raise PipelineBusy at once (never waits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown holder"
            raise PipelineBusy(f"Another pipeline run is in progress ({holder}); lock file {path}.") from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        handle.write(f"run {run_id}, pid {os.getpid()} on {socket.gethostname()}, started {started}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
