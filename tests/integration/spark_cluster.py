"""A real Spark standalone cluster on loopback for the tests (issue 31): a master and one worker started with
``python -m spotify_analytics cluster master|worker`` (what the compose services run), with Spark's RPC
authentication and the lakehouse secret; and Gold read in one comparable form (``gold_rows``)."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import REPO, Lakehouse, free_port

from spotify_analytics.pipeline.run import BUILT_TABLES

DAEMON_START_SECONDS = 180.0
GOLD_TABLES = {table.removeprefix("gold.") for table in BUILT_TABLES if table.startswith("gold.")}  # a run builds
# When the build ran (its clock), not what it computed: the only columns two builds of one input may differ in.
BUILD_TIME_COLUMNS = {"built_at", "fitted_at"}


@dataclass
class Cluster:
    master_url: str
    webui: str
    daemons: list[subprocess.Popen[bytes]]

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.webui}/json/", timeout=10) as answer:
            return json.load(answer)


def start_daemon(house: Lakehouse, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m spotify_analytics cluster …`` in a process group of its own (it execs the daemon's JVM)."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "spotify_analytics", "cluster", *args],
            cwd=REPO,
            env={**os.environ, **house.env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(what: str, ready: Any, daemon: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + DAEMON_START_SECONDS
    while not ready():
        assert daemon.poll() is None, f"{what} exited: {log.read_text(errors='replace')[-3000:]}"
        assert time.monotonic() < deadline, f"{what} not ready within {DAEMON_START_SECONDS:.0f} s"
        time.sleep(1)


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the daemon's group (its executors with it), SIGKILL after 30 s."""
    try:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=30)


def master_answers(cluster: Cluster) -> bool:
    try:
        return cluster.state()["status"] == "ALIVE"
    except OSError:
        return False


def master_url_on_loopback() -> str:
    return f"spark://127.0.0.1:{free_port()}"


@contextmanager
def cluster_on_loopback(house: Lakehouse, master_url: str, logs: Path) -> Iterator[Cluster]:
    """A master at ``master_url`` and one worker (2 cores, 1 GB), both with ``house``'s secret, logging into
    ``logs``; both stopped (with their executors) at the end of the block."""
    port = master_url.rsplit(":", 1)[1]
    webui_port, worker_webui_port = free_port(), free_port()
    cluster = Cluster(master_url, f"http://127.0.0.1:{webui_port}", [])
    try:
        master = start_daemon(house, ["master", "--port", port, "--webui-port", str(webui_port)], logs / "master")
        cluster.daemons.append(master)
        wait_for("the master", lambda: master_answers(cluster), master, logs / "master")
        worker_args = ["worker", master_url, "--cores", "2", "--memory", "1g", "--webui-port", str(worker_webui_port)]
        worker = start_daemon(house, worker_args, logs / "worker")
        cluster.daemons.append(worker)
        wait_for("the worker", lambda: cluster.state()["aliveworkers"] == 1, worker, logs / "worker")
        yield cluster
    finally:
        for daemon in reversed(cluster.daemons):
            stop_daemon(daemon)


def settled(value: Any) -> Any:
    """A float to 9 significant digits: sums over executors' partitions may differ from local[2]'s in the last
    bits (their order differs), which is not a different result."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list | tuple):  # arrays, and structs (pyspark's Row is a tuple)
        return tuple(map(settled, value))
    if isinstance(value, dict):
        return tuple(sorted((key, settled(item)) for key, item in value.items()))
    return value


def gold_rows(house: Lakehouse) -> dict[str, list[tuple]]:
    """Every Gold table's rows without the build-time columns, in one order (sorted by their text)."""
    session = house.new_session()
    try:
        tables = {row.tableName for row in session.sql("show tables in gold").collect()}
        rows = {}
        for table in sorted(tables):
            frame = session.table(f"gold.{table}")
            kept = [column for column in frame.columns if column not in BUILD_TIME_COLUMNS]
            rows[table] = sorted((tuple(map(settled, row)) for row in frame.select(*kept).collect()), key=repr)
        return rows
    finally:
        session.stop()
