"""Every check of ``doctor`` in order: the locks, the Delta logs on disk (a table must be readable before the server
is asked about it), then the server, then through it what a killed Bronze writer left running and the metastore;
and what a repair of Bronze implies."""

from pathlib import Path

from ingest.bronze.listening_history import forget_every_load
from ingest.bronze.schemas import AUDIOBOOK_HISTORY, LISTENING_HISTORY, PODCAST_HISTORY
from ingest.config import Settings
from ingest.lakehouse.client import ServerError, connect
from spotify_analytics.doctor.delta_logs import check_delta_logs
from spotify_analytics.doctor.findings import Finding
from spotify_analytics.doctor.locks import check_locks
from spotify_analytics.doctor.metastore import check_metastore
from spotify_analytics.doctor.writer import check_dead_writer
from spotify_analytics.server import process as server

PLAY_TABLES = (LISTENING_HISTORY.name, PODCAST_HISTORY.name, AUDIOBOOK_HISTORY.name)


def examine(settings: Settings, repair: bool) -> list[Finding]:
    findings = check_locks(settings) + check_delta_logs(settings.data_path, repair)
    if any(finding.status == "repaired" and Path(finding.subject).name in PLAY_TABLES for finding in findings):
        forget_every_load(settings)
        findings.append(
            Finding("landing", "load manifest", "repaired", "cleared: the next load reads every landing file again")
        )
    findings.append(server_finding(settings))
    if findings[-1].status == "problem":
        return findings
    return findings + check_dead_writer(settings, repair) + check_metastore(connect(settings), repair)


def server_finding(settings: Settings) -> Finding:
    """The server of this data directory answers (started here when it was not running)."""
    try:
        pid, started_now = server.start(settings)
    except ServerError as exc:
        return Finding("server", str(settings.data_path), "problem", str(exc))
    return Finding("server", str(settings.data_path), "ok", f"{'started' if started_now else 'running'} (pid {pid})")
