"""A dead server or a killed run never hangs a client nor leaves a step running (issue 22).

One lakehouse of its own (the session's server must live), in order: its server is killed with SIGKILL while the
pipeline's dbt builds Silver; the next pipeline (which starts the server again) is killed with SIGKILL while it
loads Bronze; a plain rerun recovers with exact counts.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, Lakehouse, lakehouse_env

from spotify_analytics.server import process as server

DEAD_SERVER_NOTICED_WITHIN = 60.0  # seconds from the server's death to the pipeline's exit


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lakehouse]:
    """A fresh lakehouse whose pipeline starts its own server; stopped at the end of the module."""
    house = Lakehouse(lakehouse_env(tmp_path_factory.mktemp("dying_server") / "data"))
    yield house
    house.stop()


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


def processes_of(house: Lakehouse, *, besides: int) -> list[str]:
    """Command lines of this lakehouse's processes other than its server (found by DATA_DIR in their environment)."""
    marker = f"DATA_DIR={house.env['DATA_DIR']}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (besides, os.getpid()):
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


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
    assert any("load all" in command for command in processes_of(own, besides=server.read_pid(own.settings) or -1))

    pipeline.kill()
    pipeline.wait()
    deadline = time.monotonic() + 30
    while (left := processes_of(own, besides=server.read_pid(own.settings) or -1)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == [], f"still running after the pipeline was killed: {left}"


def test_a_plain_rerun_after_both_kills_recovers_with_exact_counts(own: Lakehouse) -> None:
    rerun = own.cli("pipeline")
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]

    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(own.settings.connect_url).create()  # not this process's session's server
    try:
        bronze_plays = session.sql("select count(*) from bronze.listening_history_bronze").first()[0]
        silver = session.sql("select count(*), count(distinct play_id) from silver.listening_with_features").first()
        weekly = "select sum(plays) from gold.wellbeing_indicators where period_type = 'week'"
        gold_plays = session.sql(weekly).first()[0]
    finally:
        session.stop()
    assert bronze_plays > 0
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
