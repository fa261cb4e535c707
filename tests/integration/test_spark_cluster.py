"""The lakehouse server drives a real Spark standalone cluster, and its build equals a ``local[2]`` build (issue 31).

This module starts a master and one worker on loopback (``python -m spotify_analytics cluster master|worker``, what the
compose services run), both with Spark's RPC authentication and the lakehouse secret, and a lakehouse whose server
runs against them (``SPARK_MASTER=spark://127.0.0.1:PORT``); it runs the pipeline there on a small real workload
(one real export file and 2,000 tracks of the Kaggle sample). Meanwhile a second lakehouse builds the same input on
``local[2]`` (load and dbt build). Every Gold table of the two builds holds the same rows, compared row for row;
only the columns that record when a build ran differ. A worker without the secret cannot join the cluster.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    NO_CREDENTIALS,
    REPO,
    SMALL_CATALOG_TRACKS,
    SMALL_EXPORT_PLAYS,
    Lakehouse,
    free_port,
    small_workload,
)

from spotify_analytics.pipeline.run import BUILT_TABLES
from spotify_analytics.server.cluster import WORKER_CLASS
from spotify_analytics.server.command import spark_env, spark_home

DBT = str(Path(sys.executable).parent / "dbt")
DAEMON_START_SECONDS = 180.0
BUILD_SECONDS = 1200.0  # a build of the small workload: about 3 min on an idle 2-core machine, 10 min on a busy one
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


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lakehouse, Cluster]]:
    """The small workload's lakehouse, whose server runs against a master and one worker (2 cores, 1 GB) of its
    own; all stopped at the end of the module."""
    root = tmp_path_factory.mktemp("cluster")
    port, webui_port, worker_webui_port = free_port(), free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    house = small_workload(root, SPARK_MASTER=master_url, SPARK_DRIVER_HOST="127.0.0.1", **NO_CREDENTIALS)
    cluster = Cluster(master_url, f"http://127.0.0.1:{webui_port}", [])
    try:
        master = start_daemon(house, ["master", "--port", str(port), "--webui-port", str(webui_port)], root / "master")
        cluster.daemons.append(master)
        wait_for("the master", lambda: master_answers(cluster), master, root / "master")
        worker_args = ["worker", master_url, "--cores", "2", "--memory", "1g", "--webui-port", str(worker_webui_port)]
        worker = start_daemon(house, worker_args, root / "worker")
        cluster.daemons.append(worker)
        wait_for("the worker", lambda: cluster.state()["aliveworkers"] == 1, worker, root / "worker")
        yield house, cluster
    finally:
        house.stop()
        for daemon in reversed(cluster.daemons):
            stop_daemon(daemon)


def local_build(house: Lakehouse) -> list[subprocess.CompletedProcess[str]]:
    """The small workload built on ``local[2]``: its server started, Bronze loaded, dbt's models built (the
    pipeline's models, without its checks), each step with a deadline."""
    done = []
    for step in (
        lambda: house.cli("server", "start"),
        lambda: house.cli("load", "all", timeout=BUILD_SECONDS),
        lambda: house.run(DBT, "build", "--exclude-resource-type", "test", "unit_test", timeout=BUILD_SECONDS),
    ):
        done.append(step())
        if done[-1].returncode != 0:
            break
    return done


@pytest.fixture(scope="module")
def builds(
    clustered: tuple[Lakehouse, Cluster], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Lakehouse, Lakehouse]]:
    """The pipeline run on the cluster and, at the same time, the same input built on ``local[2]`` by a lakehouse
    of its own (stopped at the end of the module)."""
    on_cluster, _ = clustered
    reference = small_workload(tmp_path_factory.mktemp("local"), **NO_CREDENTIALS)
    try:
        with ThreadPoolExecutor(max_workers=1) as background:
            reference_build = background.submit(local_build, reference)
            pipeline = on_cluster.cli("pipeline", timeout=BUILD_SECONDS)
            steps = reference_build.result(timeout=2 * BUILD_SECONDS)
        assert pipeline.returncode == 0, (pipeline.stdout + pipeline.stderr)[-3000:]
        assert [step.returncode for step in steps] == [0, 0, 0], (steps[-1].stdout + steps[-1].stderr)[-3000:]
        yield on_cluster, reference
    finally:
        reference.stop()


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


def test_every_gold_table_built_on_the_cluster_equals_the_local_build(builds: tuple[Lakehouse, Lakehouse]) -> None:
    on_cluster, reference = builds
    clustered, local = gold_rows(on_cluster), gold_rows(reference)

    assert set(clustered) == set(local) == GOLD_TABLES
    for table in sorted(GOLD_TABLES):
        assert local[table], f"gold.{table} is empty: nothing to compare"
        only_cluster = [row for row in clustered[table] if row not in local[table]][:5]
        only_local = [row for row in local[table] if row not in clustered[table]][:5]
        assert clustered[table] == local[table], (table, only_cluster, only_local)


def test_the_build_ran_on_the_clusters_executors_with_the_whole_input(
    builds: tuple[Lakehouse, Lakehouse], clustered: tuple[Lakehouse, Cluster]
) -> None:
    on_cluster, cluster = clustered
    [application] = cluster.state()["activeapps"]
    session = on_cluster.new_session()
    try:
        master = session.conf.get("spark.master")
        plays = session.sql("select count(*) from bronze.listening_history_bronze").first()[0]
        catalog = session.sql("select count(*) from bronze.kaggle_tracks_bronze").first()[0]
    finally:
        session.stop()

    assert master == cluster.master_url
    assert application["name"] == "spotify-lakehouse" and application["cores"] == 2  # the worker's cores
    work_dir = on_cluster.settings.server_dir / "workers" / "127.0.0.1" / application["id"]
    assert list(work_dir.glob("*/stderr")), f"no executor ran in {work_dir}"
    assert (plays, catalog) == (SMALL_EXPORT_PLAYS, SMALL_CATALOG_TRACKS)  # the file's records, the slice's lines


def test_a_worker_without_the_secret_cannot_join(clustered: tuple[Lakehouse, Cluster], tmp_path: Path) -> None:
    """Spark's own worker, started without the lakehouse's properties (no spark.authenticate, no secret): the
    master requires SASL authentication of every connection, so it never registers."""
    house, cluster = clustered
    log = tmp_path / "worker.log"
    command = [
        str(spark_home() / "bin" / "spark-class"),
        WORKER_CLASS,
        "--host",
        "127.0.0.1",
        "--webui-port",
        str(free_port()),
        "--work-dir",
        str(tmp_path / "work"),
        cluster.master_url,
    ]
    with log.open("wb") as sink:
        rogue = subprocess.Popen(
            command, env=spark_env(house.settings), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for("the refusal", lambda: "Failed to connect to master" in log.read_text(errors="replace"), rogue, log)
        state = cluster.state()
    finally:
        stop_daemon(rogue)

    assert "Expected SaslMessage" in log.read_text(errors="replace")  # the master's answer: authenticate first
    assert state["aliveworkers"] == 1 and [worker["host"] for worker in state["workers"]] == ["127.0.0.1"]
