"""The one client writing Bronze at a time, and the work a killed one left running on the server.

Every command that writes Bronze (``load …``, ``synthetic …``, ``demo remove``) holds the Bronze write lock
(``state/bronze_writer.lock``, freed by the kernel however the process ends) for its whole run, and writes
through a Spark Connect session of its own whose id it records in ``state/bronze_writer.json`` until it ends
well. A writer that was killed leaves the record behind, and its last MERGE may still be running on the server.
The next writer finds the record under the lock, so its writer is dead: it interrupts what that session still
runs and waits until it has ended (``ingest.lakehouse.operations``) before it writes anything itself.
"""

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.file_lock import waiting_lock
from ingest.lakehouse.client import connect
from ingest.lakehouse.operations import stop_operations_of
from ingest.landing.store import private_dir, read_json, write_json

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def lock_path(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "bronze_writer.lock"


def record_path(settings: Settings) -> Path:
    return private_dir(settings.ingest_state_path) / "bronze_writer.json"


@contextmanager
def bronze_writer(settings: Settings) -> Iterator["SparkSession"]:
    """A session to write Bronze with, as the only writer; what a killed writer left running is stopped first.
    The record of the session is removed when the block ends well, and kept when it raises: the next writer
    then stops whatever this one's session may still run."""
    with waiting_lock(lock_path(settings)):
        stop_dead_writer(settings)
        session_id = str(uuid.uuid4())
        started = datetime.now(UTC).isoformat(timespec="seconds")
        write_json(record_path(settings), {"session_id": session_id, "pid": os.getpid(), "started_at": started})
        yield connect(settings, session_id=session_id)
        record_path(settings).unlink(missing_ok=True)


def stop_dead_writer(settings: Settings) -> list[str]:
    """Interrupt and wait for what the last writer, which did not end well, still runs on the server (call it
    under the write lock); the operations interrupted. OperationsNotStopped (the record is kept) when the server
    does not confirm their end within WRITER_STOP_TIMEOUT."""
    record = read_json(record_path(settings), None)
    if not isinstance(record, dict):
        return []
    whose = f"a killed Bronze writer (pid {record.get('pid')}, started {record.get('started_at')})"
    interrupted = stop_operations_of(settings, str(record["session_id"]), whose)
    if interrupted:
        log.warning(
            "Stopped %d operation(s) on the lakehouse server that %s left running, so none of them commits behind "
            "this load",
            len(interrupted), whose,
        )  # fmt: skip
    record_path(settings).unlink(missing_ok=True)
    return interrupted
