"""A dead server or a killed run never hangs a client nor leaves a step running, and each fault a user meets ends
in one message naming what failed and the command that recovers (issue 22).

One lakehouse of its own (the session's server must live; its Bronze folder is a small tmpfs, so that it can fill
up), with one real export file and a 2,000-track catalog, so each run is short. The faults are chained, each
rerun being the recovery of the fault before it: the disk fills during the first pipeline's load; the Bronze
folder turns read-only during a load; the server is killed with SIGKILL during the pipeline's Bronze checks, then
while its dbt builds Silver; the next pipeline is killed with SIGKILL while it loads Bronze; the machine "reboots"
(every process of the lakehouse killed at once) while dbt builds Silver; a Bronze table's latest Delta commit is cut
short, and ``doctor --repair`` mends it; a plain rerun recovers with exact counts.

Then the lakehouse server drives a real Spark standalone cluster (issue 31): a master and one worker on loopback
(``spark_cluster``), and a second lakehouse of the same input (the same export file and catalog) whose server runs
against them (``SPARK_MASTER=spark://127.0.0.1:PORT``) runs the pipeline. Every Gold table it builds holds the same
rows as the recovered ``local[2]`` lakehouse's, compared row for row (only the columns that record when a build ran
differ): the recovery is checked against a build that met no fault, and the cluster's against a ``local[2]`` one. A
worker without the secret cannot join the cluster.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
from spark_cluster import (
    GOLD_TABLES,
    Cluster,
    cluster_on_loopback,
    gold_rows,
    master_url_on_loopback,
    stop_daemon,
    wait_for,
)

from spotify_analytics.server import process as server
from spotify_analytics.server.cluster import WORKER_CLASS
from spotify_analytics.server.command import spark_env, spark_home

DEAD_SERVER_NOTICED_WITHIN = 60.0  # seconds from the server's death to the pipeline's exit
RERUN = "python -m spotify_analytics pipeline"
NOTHING_HALF_WRITTEN = "Nothing half-written is kept (a Delta commit is all or nothing)"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lakehouse]:
    """A fresh lakehouse whose pipeline starts its own server, its Bronze folder a 32 MB tmpfs; stopped (and
    unmounted) at the end of the module."""
    house = small_workload(tmp_path_factory.mktemp("dying_server"), **NO_CREDENTIALS)
    bronze(house).mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(bronze(house))], check=True)
    try:
        yield house
    finally:
        house.stop()
        subprocess.run(["umount", str(bronze(house))], check=True)


def bronze(house: Lakehouse) -> Path:
    return house.settings.data_path / "bronze"


@contextmanager
def full(folder: Path) -> Iterator[None]:
    """``folder`` (a filesystem of its own) without a byte free, until the block ends."""
    filler = folder / "filler"
    try:
        with filler.open("wb") as sink:
            while True:
                sink.write(b"\0" * (1 << 20))
                sink.flush()
    except OSError:  # No space left on device: full
        pass
    try:
        yield
    finally:
        filler.unlink()


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` mounted read-only over itself until the block ends."""
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def start_pipeline(house: Lakehouse, output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "spotify_analytics", "pipeline"],
            cwd=REPO,
            env={**os.environ, **house.env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def wait_for_step(pipeline: subprocess.Popen[bytes], output: Path, step: str, settle: float = 3.0) -> None:
    """Until the pipeline's step has run for ``settle`` seconds (dbt has connected and runs models, say)."""
    timeout = 600.0
    deadline = time.monotonic() + timeout
    while f"Step {step}:" not in output.read_text(errors="replace"):
        assert pipeline.poll() is None, output.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"step {step} did not start within {timeout:.0f} s"
        time.sleep(0.5)
    time.sleep(settle)


def pids_of(house: Lakehouse, *, besides: int) -> list[int]:
    """This lakehouse's processes other than its server (found by DATA_DIR in their environment)."""
    marker = f"DATA_DIR={house.env['DATA_DIR']}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (besides, os.getpid()):
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def processes_of(house: Lakehouse, *, besides: int) -> list[str]:
    """Command lines of this lakehouse's processes other than its server."""
    found = []
    for pid in pids_of(house, besides=besides):
        try:
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # ended meanwhile
            continue
    return found


def test_a_full_disk_stops_the_load_with_one_message(own: Lakehouse) -> None:
    with full(bronze(own)):
        failed = own.cli("pipeline")

    text = failed.stdout + failed.stderr
    assert failed.returncode == 1, text[-3000:]
    assert "FAILED at step load" in text, text[-3000:]
    assert (
        f"error: Loading bronze.kaggle_tracks_bronze failed: no space left on device under {bronze(own)}. "
        f"{NOTHING_HALF_WRITTEN}; free space, then rerun: {RERUN}\n"
    ) in failed.stderr, text[-3000:]
    assert "Traceback" not in text


def test_a_read_only_folder_stops_the_load_naming_it(own: Lakehouse) -> None:
    with read_only(bronze(own)):
        failed = own.cli("load", "all")

    assert failed.returncode == 1, (failed.stdout + failed.stderr)[-3000:]
    assert f"failed: {bronze(own)} is read-only. {NOTHING_HALF_WRITTEN}; make it writable again" in failed.stderr
    assert failed.stderr.rstrip().endswith(f"then rerun: {RERUN}"), failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr


def test_a_server_killed_during_the_checks_stops_the_pipeline_saying_so(own: Lakehouse, tmp_path: Path) -> None:
    """The rerun after the full disk and the read-only folder loads (the load step passes), then its server dies."""
    output = tmp_path / "pipeline.out"
    pipeline = start_pipeline(own, output)
    wait_for_step(pipeline, output, "validate_bronze")
    pid = server.read_pid(own.settings)
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    exit_code = pipeline.wait(timeout=DEAD_SERVER_NOTICED_WITHIN + 30)

    text = output.read_text(errors="replace")
    assert exit_code == 1, text[-3000:]
    assert "Step load: python -m spotify_analytics load all" in text
    assert "FAILED at step load" not in text
    assert "FAILED at step validate_bronze (The lakehouse server stopped answering" in text, text[-3000:]
    assert "Rerun python -m spotify_analytics pipeline" in text


def test_a_dead_server_stops_the_pipeline_at_once_and_says_why(own: Lakehouse, tmp_path: Path) -> None:
    output = tmp_path / "pipeline.out"
    pipeline = start_pipeline(own, output)
    wait_for_step(pipeline, output, "dbt_build_silver")
    pid = server.read_pid(own.settings)
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    exit_code = pipeline.wait(timeout=DEAD_SERVER_NOTICED_WITHIN + 30)
    noticed_after = time.monotonic() - killed_at

    text = output.read_text(errors="replace")
    assert exit_code == 1, text[-3000:]
    assert noticed_after < DEAD_SERVER_NOTICED_WITHIN, f"the pipeline took {noticed_after:.0f} s\n{text[-3000:]}"
    assert "FAILED at step dbt_build_silver (The lakehouse server stopped answering" in text, text[-3000:]
    assert str(server.log_file(own.settings)) in text
    assert "Rerun python -m spotify_analytics pipeline" in text


def test_a_killed_pipeline_takes_its_running_step_with_it(own: Lakehouse, tmp_path: Path) -> None:
    output = tmp_path / "pipeline.out"
    pipeline = start_pipeline(own, output)
    wait_for_step(pipeline, output, "load", settle=0.5)
    running = processes_of(own, besides=server.read_pid(own.settings) or -1)
    assert any("spotify_analytics.pipeline.worker" in command for command in running), running  # runs the load

    pipeline.kill()
    pipeline.wait()
    deadline = time.monotonic() + 30
    while (left := processes_of(own, besides=server.read_pid(own.settings) or -1)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == [], f"still running after the pipeline was killed: {left}"


def test_a_reboot_during_a_dbt_build_leaves_nothing_in_the_way(own: Lakehouse, tmp_path: Path) -> None:
    """Every process of the lakehouse killed at once (a machine that lost power): what is left (a pid file naming a
    dead server, the pipeline lock's text) stops nothing, and doctor finds nothing that needs a hand."""
    output = tmp_path / "pipeline.out"
    pipeline = start_pipeline(own, output)
    wait_for_step(pipeline, output, "dbt_build_silver", settle=6.0)  # dbt writes models
    pid = server.read_pid(own.settings)
    assert pid is not None

    everything = [pid, *pids_of(own, besides=pid)]
    for each in everything:
        os.kill(each, signal.SIGKILL)
    pipeline.wait()
    assert len(everything) >= 3, everything  # the server, the pipeline and its step (at least)
    assert server.pid_file(own.settings).read_text().strip() == str(pid)
    lock = own.settings.data_path / "pipeline.lock"
    assert lock.read_text().startswith("run ")

    checked = own.cli("doctor")  # starts the server again

    assert checked.returncode == 0, checked.stdout + checked.stderr[-3000:]
    assert f"OK        locks        {lock}: free" in checked.stdout, checked.stdout
    assert "PROBLEM" not in checked.stdout


def test_a_cut_short_commit_is_named_with_the_command_that_repairs_it(own: Lakehouse) -> None:
    log = bronze(own) / "listening_history_bronze" / "_delta_log"
    latest = max(log.glob("*.json"))
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])

    failed = own.cli("pipeline")

    text = failed.stdout + failed.stderr
    assert failed.returncode == 1, text[-3000:]
    assert "FAILED at step load" in text, text[-3000:]
    assert (
        f"error: Reading bronze.listening_history_bronze failed: its Delta commit {latest} does not parse"
        in failed.stderr
    ), text[-3000:]
    assert "Run: python -m spotify_analytics doctor --repair (it sets the table back to its last whole commit" in (
        failed.stderr
    )
    assert failed.stderr.rstrip().endswith(f"then rerun: {RERUN}"), failed.stderr[-3000:]
    assert "Traceback" not in text

    repaired = own.cli("doctor", "--repair")

    assert repaired.returncode == 0, repaired.stdout + repaired.stderr[-3000:]
    assert f"REPAIRED  delta log    {log.parent}: moved the broken latest commit" in repaired.stdout, repaired.stdout


@pytest.fixture(scope="module")
def recovered(own: Lakehouse) -> Lakehouse:
    """The lakehouse after a plain rerun of the pipeline (after every fault above, in this module's order)."""
    rerun = own.cli("pipeline")
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
    return own


def test_a_plain_rerun_after_every_fault_recovers_with_exact_counts(recovered: Lakehouse) -> None:
    session = recovered.new_session()  # not this process's session's server
    try:
        bronze_plays = session.sql("select count(*) from bronze.listening_history_bronze").first()[0]
        silver = session.sql("select count(*), count(distinct play_id) from silver.listening_with_features").first()
        weekly = "select sum(plays) from gold.wellbeing_indicators where period_type = 'week'"
        gold_plays = session.sql(weekly).first()[0]
    finally:
        session.stop()
    assert bronze_plays == SMALL_EXPORT_PLAYS
    assert (*silver, gold_plays) == (bronze_plays, bronze_plays, bronze_plays)


def test_the_message_says_out_of_memory_and_how_to_give_more(own: Lakehouse, tmp_path: Path) -> None:
    settings = own.settings.model_copy(update={"data_dir": tmp_path / "data"})
    log = server.log_file(settings)
    log.parent.mkdir(parents=True)
    log.write_text(
        "26/12/04 15:02:11 INFO DAGScheduler: Job 7 finished\n"
        "Terminating due to java.lang.OutOfMemoryError: Java heap space\n"
    )

    message = server.why_it_stopped(settings)

    assert f"ran out of memory (java.lang.OutOfMemoryError in {log})" in message
    assert f"SPARK_DRIVER_MEMORY (now {settings.spark_driver_memory})" in message
    assert "Rerun python -m spotify_analytics pipeline" in message


# ---------------------------------------------------------------- the same input built on a real Spark cluster

CLUSTER_BUILD_SECONDS = 1200.0  # the small workload's pipeline: about 3 min on an idle 2-core machine


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lakehouse, Cluster]]:
    """A lakehouse of the small workload whose server runs against a master and one worker of its own; all
    stopped at the end of the module."""
    root = tmp_path_factory.mktemp("cluster")
    master_url = master_url_on_loopback()
    house = small_workload(root, SPARK_MASTER=master_url, SPARK_DRIVER_HOST="127.0.0.1", **NO_CREDENTIALS)
    with cluster_on_loopback(house, master_url, root) as cluster:
        try:
            yield house, cluster
        finally:
            house.stop()  # before its cluster


@pytest.fixture(scope="module")
def built_on_cluster(clustered: tuple[Lakehouse, Cluster]) -> Lakehouse:
    on_cluster, _ = clustered
    pipeline = on_cluster.cli("pipeline", timeout=CLUSTER_BUILD_SECONDS)
    assert pipeline.returncode == 0, (pipeline.stdout + pipeline.stderr)[-3000:]
    return on_cluster


def test_every_gold_table_built_on_the_cluster_equals_the_recovered_local_build(
    built_on_cluster: Lakehouse, recovered: Lakehouse
) -> None:
    clustered, local = gold_rows(built_on_cluster), gold_rows(recovered)

    assert set(clustered) == set(local) == GOLD_TABLES
    for table in sorted(GOLD_TABLES):
        assert local[table], f"gold.{table} is empty: nothing to compare"
        only_cluster = [row for row in clustered[table] if row not in local[table]][:5]
        only_local = [row for row in local[table] if row not in clustered[table]][:5]
        assert clustered[table] == local[table], (table, only_cluster, only_local)


def test_the_build_ran_on_the_clusters_executors_with_the_whole_input(
    built_on_cluster: Lakehouse, clustered: tuple[Lakehouse, Cluster]
) -> None:
    _, cluster = clustered
    [application] = cluster.state()["activeapps"]
    session = built_on_cluster.new_session()
    try:
        master = session.conf.get("spark.master")
        plays = session.sql("select count(*) from bronze.listening_history_bronze").first()[0]
        catalog = session.sql("select count(*) from bronze.kaggle_tracks_bronze").first()[0]
    finally:
        session.stop()

    assert master == cluster.master_url
    assert application["name"] == "spotify-lakehouse" and application["cores"] == 2  # the worker's cores
    work_dir = built_on_cluster.settings.server_dir / "workers" / "127.0.0.1" / application["id"]
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
