"""A Bronze writer that did not end well (``ingest.bronze.writer``): its record names the session whose work may
still run on the server. The next load stops that work by itself; ``--repair`` does it now."""

from ingest.bronze.writer import lock_path, record_path, stop_dead_writer
from ingest.config import Settings
from ingest.file_lock import waiting_lock
from ingest.lakehouse.operations import RESTART, OperationsNotStopped
from ingest.landing.store import read_json
from spotify_analytics.doctor.findings import Finding


def check_dead_writer(settings: Settings, repair: bool) -> list[Finding]:
    record = read_json(record_path(settings), None)
    if not isinstance(record, dict):
        return [Finding("writer", str(record_path(settings)), "ok", "no Bronze writer was killed since the last load")]
    killed = f"a Bronze writer (pid {record.get('pid')}, started {record.get('started_at')}) did not end well"
    if not repair:
        return [
            Finding(
                "writer", str(record_path(settings)), "ok",
                f"{killed}: the next load stops whatever it left running on the server (doctor --repair: now)",
            )
        ]  # fmt: skip
    try:
        with waiting_lock(lock_path(settings)):
            stopped = stop_dead_writer(settings)
    except OperationsNotStopped:
        return [
            Finding(
                "writer", str(record_path(settings)), "problem",
                f"{killed}: the server did not confirm within {settings.writer_stop_timeout:.0f} s that what it left "
                f"running has ended; restart the server, which ends it: {RESTART}",
            )
        ]  # fmt: skip
    return [
        Finding(
            "writer", str(record_path(settings)), "repaired",
            f"{killed}: stopped {len(stopped)} operation(s) it left running on the server",
        )
    ]  # fmt: skip
