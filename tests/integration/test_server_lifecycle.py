"""The lakehouse server command: start, no-op restart, status, stale pid file, taken port, clean stop."""

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Lakehouse, lakehouse_env, settings_for

from bench.measure import proc_files
from ingest.lakehouse.secret import read_secret
from spotify_analytics.server import process as server
from spotify_analytics.server.command import server_command


def java_processes_using(data_dir: Path) -> list[int]:
    return [pid for pid, cmdline in proc_files("cmdline") if b"java" in cmdline and str(data_dir).encode() in cmdline]


@pytest.fixture
def own_lakehouse(tmp_path: Path) -> Lakehouse:
    """A lakehouse of this test alone (its own JVM), for lifecycle checks the session server can't do."""
    return Lakehouse(lakehouse_env(tmp_path / "data"))


def test_start_is_idempotent_and_stop_leaves_no_jvm(own_lakehouse: Lakehouse) -> None:
    data_dir = own_lakehouse.settings.data_path

    first = own_lakehouse.cli("server", "start")
    assert first.returncode == 0, first.stderr
    assert "Lakehouse server started" in first.stdout
    pid = int((data_dir / "lakehouse" / "server.pid").read_text())
    assert java_processes_using(data_dir) == [pid]

    second = own_lakehouse.cli("server", "start")
    assert second.returncode == 0
    assert f"already running (pid {pid})" in second.stdout
    assert java_processes_using(data_dir) == [pid]

    status = own_lakehouse.cli("server", "status")
    assert status.returncode == 0
    assert "Thrift" in status.stdout and "open" in status.stdout

    stopped = own_lakehouse.cli("server", "stop")
    assert stopped.returncode == 0
    assert f"(pid {pid}) stopped" in stopped.stdout
    assert java_processes_using(data_dir) == []
    assert not (data_dir / "lakehouse" / "server.pid").exists()
    assert not server.port_open("127.0.0.1", own_lakehouse.settings.thrift_port)

    after = own_lakehouse.cli("server", "status")
    assert after.returncode == 3
    assert "not running" in after.stdout


def test_stale_pid_file_is_removed(own_lakehouse: Lakehouse) -> None:
    pid_file = own_lakehouse.settings.data_path / "lakehouse" / "server.pid"
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text("999999\n")  # above the default pid_max: no such process

    result = own_lakehouse.cli("server", "status")

    assert result.returncode == 3
    assert "not running" in result.stdout
    assert not pid_file.exists()


def test_taken_port_gives_a_clear_error(own_lakehouse: Lakehouse) -> None:
    port = own_lakehouse.settings.thrift_port
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = own_lakehouse.cli("server", "start")

    assert result.returncode == 1
    assert f"Port {port} (Thrift) on 127.0.0.1 is already in use by another process" in result.stderr
    assert "THRIFT_PORT" in result.stderr
    assert java_processes_using(own_lakehouse.settings.data_path) == []


def test_a_port_a_connection_holds_is_named(own_lakehouse: Lakehouse) -> None:
    """No process listens on the Spark Connect port, but a connection holds it as its local port (as an outgoing
    connection may take a port of the ephemeral range while a server is down): the check before the start finds it
    free, the server cannot listen on it, and the start says which port and which setting."""
    port = own_lakehouse.settings.connect_port
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.connect(listener.getsockname())
        result = own_lakehouse.cli("server", "start")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"could not listen on port {port} (Spark Connect) on 127.0.0.1" in result.stderr, result.stderr
    assert "choose another port with CONNECT_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert java_processes_using(own_lakehouse.settings.data_path) == []
    assert not server.pid_file(own_lakehouse.settings).exists()


def test_invalid_setting_is_named(own_lakehouse: Lakehouse) -> None:
    result = own_lakehouse.cli("server", "status", env={"THRIFT_PORT": "not-a-port"})

    assert result.returncode == 2
    assert "THRIFT_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_delta_jars_are_explained(own_lakehouse: Lakehouse, tmp_path: Path) -> None:
    result = own_lakehouse.cli("server", "start", env={"IVY_DIR": str(tmp_path / "empty-ivy")})

    assert result.returncode == 1
    assert "Jars the server needs are not in" in result.stderr
    assert "io.delta_delta-spark, org.apache.hive_hive-llap-common" in result.stderr
    assert "fetch-jars" in result.stderr
    assert not os.path.exists(own_lakehouse.settings.data_path / "lakehouse" / "server.pid")


@pytest.mark.parametrize(
    ("master", "driver_host", "advertised"),
    [
        ("local[2]", "", "127.0.0.1"),
        ("spark://spark-master:7077", "", socket.gethostname()),
        ("spark://spark-master:7077", "lakehouse.internal", "lakehouse.internal"),
    ],
)
def test_driver_advertises_an_address_executors_can_reach(
    own_lakehouse: Lakehouse, master: str, driver_host: str, advertised: str
) -> None:
    env = {
        **own_lakehouse.env,
        "SPARK_MASTER": master,
        "SPARK_DRIVER_HOST": driver_host,
        "LAKEHOUSE_BIND_HOST": "0.0.0.0",
    }
    command = server_command(settings_for(env))

    assert command[command.index("--master") + 1] == master
    assert f"spark.driver.host={advertised}" in command
    assert "spark.driver.bindAddress=0.0.0.0" in command


def statement_threads(pid: int) -> int:
    """The server's HiveServer2 statement threads (Linux keeps a thread's name in its first 15 characters)."""
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except FileNotFoundError:  # the thread ended while we listed them
            continue
    return sum(name.startswith("HiveServer2-Bac") for name in names)


def thrift_connection(lakehouse: Lakehouse) -> Any:
    """A pyhive connection to the lakehouse's Thrift port, as dbt-spark opens one (the caller closes it)."""
    from pyhive import hive

    settings = lakehouse.settings
    return hive.connect(
        host=settings.lakehouse_host,
        port=settings.thrift_port,
        username="test",
        auth="CUSTOM",
        password=read_secret(settings),
    )


def test_thrift_statements_reuse_a_small_pool_of_threads(lakehouse: Lakehouse) -> None:
    """HiveServer2 used to start a thread per statement, and the metastore built a new HiveConf and object
    store for each; the pool now keeps at most THRIFT_STATEMENT_THREADS threads and reuses them."""
    from TCLIService.ttypes import TOperationState

    running = (TOperationState.INITIALIZED_STATE, TOperationState.PENDING_STATE, TOperationState.RUNNING_STATE)
    settings = lakehouse.settings
    pid = server.read_pid(settings)
    assert pid is not None
    # As dbt-spark runs statements: a connection per node, each statement submitted to the pool and polled.
    for number in range(3 * settings.thrift_statement_threads):
        connection = thrift_connection(lakehouse)
        try:
            cursor = connection.cursor()
            cursor.execute(f"select {number} as n", async_=True)
            while cursor.poll().operationState in running:
                time.sleep(0.02)
            assert cursor.fetchall() == [(number,)]
        finally:
            connection.close()

    assert 1 <= statement_threads(pid) <= settings.thrift_statement_threads


def test_status_tells_a_server_that_requires_the_secret_from_an_earlier_ones(own_lakehouse: Lakehouse) -> None:
    command = server_command(own_lakehouse.settings)
    earlier = [arg for arg in command if not arg.startswith("hive.server2.authentication")]

    assert server.requires_secret(command)
    assert not server.requires_secret(earlier)


def test_hive_function_registry_loads_on_the_server(lakehouse: Lakehouse) -> None:
    """Closing a Thrift session can initialise Hive's function registry, which needs hive-llap-common (pyspark 4 no
    longer ships it): without the jar the registry fails with NoClassDefFoundError LlapSigner$Signable, and so did
    a session close in a fresh clone's run. Through the Thrift port, the registry's list of Hive's built-in
    functions (2,779 names in Hive 2.3.10, counted with the jar in a plain local Spark; it failed there without it)."""
    connection = thrift_connection(lakehouse)
    try:
        cursor = connection.cursor()
        cursor.execute("select reflect('org.apache.hadoop.hive.ql.exec.FunctionRegistry', 'getFunctionNames') as names")
        (names,) = cursor.fetchone()
    finally:
        connection.close()

    assert "get_splits" in names and "upper" in names  # get_splits: the function whose class needs the jar
