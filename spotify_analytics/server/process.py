"""Start, stop and inspect the lakehouse server: one Spark driver serving Thrift and Spark Connect.

State lives in ``<data>/lakehouse/``: ``server.pid`` (the JVM's pid: spark-class execs java),
``server.log`` (the server's quiet log) and ``lakehouse_id`` (see ``identity``). Readiness is both TCP ports
accepting connections on sockets of the server's own process (``process_listens``). A server on this checkout's
ports that serves another data directory is named, never taken for this checkout's own.
"""

import logging
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ingest.config import Settings
from ingest.lakehouse.client import ForeignServer, ServerError, port_open
from ingest.lakehouse.identity import LakehouseIdentity, identity_in_command_line, identity_problem, probe
from ingest.lakehouse.secret import close_to_others
from spotify_analytics.server import authenticator
from spotify_analytics.server.command import (
    THRIFT_SERVER_CLASS,
    jar_fetch_command,
    jar_packages,
    server_command,
    server_env,
    spark_env,
    spark_home,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    thrift_open: bool
    connect_open: bool
    rss_bytes: int | None
    served: LakehouseIdentity | None = None  # what the running server serves, from its command line
    requires_secret: bool = True  # started with the secret on both ports (an earlier version's server is not)

    @property
    def ready(self) -> bool:
        return self.running and self.thrift_open and self.connect_open


def pid_file(settings: Settings) -> Path:
    return settings.server_dir / "server.pid"


def log_file(settings: Settings) -> Path:
    return settings.server_dir / "server.log"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    # A zombie (exited, not yet reaped) is not alive.
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _is_our_server(pid: int, settings: Settings) -> bool:
    """A lakehouse server of this data directory (a pid file's pid may have been reused by another process,
    another checkout's server among them)."""
    command_line = _command_line(pid)
    served = identity_in_command_line(command_line).data_dir
    return (
        THRIFT_SERVER_CLASS in command_line
        and served is not None
        and os.path.realpath(served) == os.path.realpath(settings.data_path)
    )


def read_pid(settings: Settings) -> int | None:
    """The pid of a live server from the pid file; a stale pid file is removed."""
    path = pid_file(settings)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if _process_alive(pid) and _is_our_server(pid, settings):
        return pid
    log.info("Removing stale pid file %s (pid %s is not a running lakehouse server)", path, pid)
    path.unlink(missing_ok=True)
    return None


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def status(settings: Settings) -> ServerStatus:
    pid = read_pid(settings)
    host = settings.lakehouse_host
    return ServerStatus(
        running=pid is not None,
        pid=pid,
        thrift_open=port_open(host, settings.thrift_port),
        connect_open=port_open(host, settings.connect_port),
        rss_bytes=rss_bytes(pid) if pid else None,
        served=identity_in_command_line(_command_line(pid)) if pid else None,
        requires_secret=requires_secret(_command_line(pid)) if pid else True,
    )


def requires_secret(command_line: list[str]) -> bool:
    """Whether a server was started requiring the lakehouse secret (its Thrift authentication says it)."""
    return any(arg.startswith("hive.server2.authentication=CUSTOM") for arg in command_line)


def port_owner(settings: Settings) -> str | None:
    """When this data directory's server is not running but a port of this checkout answers: what answers."""
    host = settings.lakehouse_host
    if not port_open(host, settings.connect_port):
        return f"another process on port {settings.thrift_port}" if port_open(host, settings.thrift_port) else None
    served = probe(settings)
    if served is None:
        return f"a process that does not speak Spark Connect on port {settings.connect_port}"
    if served.data_dir is None and served.refused:
        return "a Spark Connect server that refuses this lakehouse's secret (another lakehouse's or another account's)"
    return f"the lakehouse server of {served.describe()}"


def _log_tail(settings: Settings, lines: int = 25) -> str:
    try:
        return "\n".join(log_file(settings).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


OUT_OF_MEMORY = "java.lang.OutOfMemoryError"


def answers(settings: Settings) -> bool:
    """Both of the server's ports accept connections."""
    host = settings.lakehouse_host
    return port_open(host, settings.thrift_port) and port_open(host, settings.connect_port)


def why_it_stopped(settings: Settings) -> str:
    """What a user needs when the server stopped answering: why, as far as its log says, and what to do."""
    rerun = "Rerun python -m spotify_analytics pipeline: it starts the server again and carries on where this stopped."
    return f"The lakehouse server stopped answering ({stop_reason(settings)}). {rerun}"


def stop_reason(settings: Settings) -> str:
    """Why the server stopped, as far as its log says, as a clause: it ran out of memory (and how to give it more),
    or the log's last line."""
    path = log_file(settings)
    if OUT_OF_MEMORY in _log_tail(settings, lines=200):
        return (
            f"it ran out of memory ({OUT_OF_MEMORY} in {path}); give it more: set SPARK_DRIVER_MEMORY (now "
            f"{settings.spark_driver_memory}) higher in .env, e.g. SPARK_DRIVER_MEMORY=4g"
        )
    last_line = _log_tail(settings, lines=1).strip() or "(empty)"
    return f"its log {path} ends: {last_line[:300]}"


def _ports(settings: Settings) -> tuple[tuple[str, int, str], ...]:
    """The server's ports: what each serves, its number and the setting that chooses it."""
    return (
        ("Thrift", settings.thrift_port, "THRIFT_PORT"),
        ("Spark Connect", settings.connect_port, "CONNECT_PORT"),
    )


def _check_ports_free(settings: Settings) -> None:
    taken = [
        (name, port, setting) for name, port, setting in _ports(settings) if port_open(settings.lakehouse_host, port)
    ]
    if not taken:
        return
    served = probe(settings) if port_open(settings.lakehouse_host, settings.connect_port) else None
    if served is not None:
        problem = identity_problem(settings, served, settings.connect_url)
        raise ForeignServer(
            problem
            or f"A server of this lakehouse ({served.describe()}) already answers at {settings.connect_url}, but "
            f"{pid_file(settings)} names no server running here: it runs in another container or its pid file "
            "was removed. Stop it where it runs before starting it here."
        )
    name, port, setting = taken[0]
    raise ServerError(
        f"Port {port} ({name}) on {settings.lakehouse_host} is already in use by another process. "
        f"Stop that process or choose another port with {setting}."
    )


def _prepared_command(settings: Settings) -> list[str]:
    """The server's command line, once the ports are known to be free and the folders exist."""
    _check_ports_free(settings)
    close_to_others(settings)
    try:
        command = server_command(settings)
    except FileNotFoundError as exc:
        raise ServerError(str(exc)) from None
    settings.server_dir.mkdir(parents=True, exist_ok=True)
    return command


def start(settings: Settings) -> tuple[int, bool]:
    """Start the server unless it runs; return (pid, started_now). Blocks until both ports accept."""
    pid = read_pid(settings)
    if pid is not None:
        return pid, False
    command = _prepared_command(settings)
    with log_file(settings).open("ab") as server_log:
        logged_before = server_log.tell()
        process = subprocess.Popen(
            command,
            cwd=settings.project_dir,
            env=server_env(settings),
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file(settings).write_text(f"{process.pid}\n")
    _wait_until_ready(settings, process, logged_before)
    return process.pid, True


def run_foreground(settings: Settings) -> NoReturn:
    """Become the server: exec spark-submit in this process (its pid, so the pid file stays right),
    logging to stdout/stderr. For containers, where the server is the main process."""
    pid = read_pid(settings)
    if pid is not None:
        raise ServerError(f"A lakehouse server already runs (pid {pid}) on {settings.data_path}.")
    command = _prepared_command(settings)
    pid_file(settings).write_text(f"{os.getpid()}\n")
    os.execve(command[0], command, server_env(settings))


def _wait_until_ready(settings: Settings, process: subprocess.Popen[bytes], logged_before: int) -> None:
    """Until the server listens on both ports itself (another process that took a port meanwhile is not it)."""
    deadline = time.monotonic() + settings.server_start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pid_file(settings).unlink(missing_ok=True)
            raise ServerError(
                _port_not_bound(settings, logged_before)
                or f"The lakehouse server exited with code {process.returncode} while starting. "
                f"Last lines of {log_file(settings)}:\n{_log_tail(settings)}"
            )
        if all(process_listens(process.pid, settings.lakehouse_host, port) for _, port, _ in _ports(settings)):
            return
        time.sleep(0.5)
    _terminate(process.pid)
    pid_file(settings).unlink(missing_ok=True)
    raise ServerError(
        f"The lakehouse server did not open ports {settings.thrift_port} and {settings.connect_port} "
        f"within {settings.server_start_timeout:.0f} s. Last lines of {log_file(settings)}:\n"
        f"{_log_tail(settings)}"
    )


# How Spark Connect and Thrift say they could not listen on their port.
BIND_FAILURE = re.compile(r"(?:Failed to bind to address|Could not create ServerSocket on address) \S*:(\d+)")


def _port_not_bound(settings: Settings, logged_before: int) -> str | None:
    """Where the server could not listen on one of its ports (its log since this start says so): which, and what to
    do."""
    try:
        with log_file(settings).open("rb") as server_log:
            server_log.seek(logged_before)
            logged = server_log.read().decode(errors="replace")
    except OSError:
        return None
    found = BIND_FAILURE.search(logged)
    for name, port, setting in _ports(settings):
        if found and int(found[1]) == port:
            return (
                f"The lakehouse server could not listen on port {port} ({name}) on {settings.lakehouse_host}: "
                "another process took it while the server started (a connection of its own may hold it as its "
                f"local port). Start the server again, or choose another port with {setting}. The server's log: "
                f"{log_file(settings)}"
            )
    return None


def process_listens(pid: int, host: str, port: int) -> bool:
    """Process ``pid`` listens on ``port``. Where /proc tells which process holds a listening socket (Linux), a port
    that another process took while the server started does not count; elsewhere an open port does."""
    if not port_open(host, port):
        return False
    inodes = _listening_sockets(port)
    if inodes is None:
        return True
    return not inodes.isdisjoint(_sockets_of(pid))


def _sockets_of(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds (none once it has ended)."""
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return set()
    sockets = set()
    for descriptor in descriptors:
        try:
            target = os.readlink(descriptor)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            sockets.add(target.removeprefix("socket:[").removesuffix("]"))
    return sockets


LISTEN = "0A"  # a socket's state in /proc/net/tcp


def _listening_sockets(port: int) -> set[str] | None:
    """The inodes of the sockets listening on ``port`` (IPv4 and IPv6), or None without /proc/net/tcp."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].is_file():
        return None
    inodes = set()
    for table in tables:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _terminate(pid: int, grace_seconds: float = 30.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _process_alive(pid):
            return
        time.sleep(0.2)
    log.warning("Server pid %s did not stop within %.0f s; killing it", pid, grace_seconds)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def stop(settings: Settings) -> int | None:
    """Stop the server if it runs; return the pid that was stopped, or None."""
    pid = read_pid(settings)
    if pid is None:
        return None
    _terminate(pid)
    pid_file(settings).unlink(missing_ok=True)
    return pid


NOOP_SCRIPT = "print('Delta and hive-llap-common jars resolved')\n"


def fetch_jars(settings: Settings) -> Path:
    """Resolve the Delta jars and hive-llap-common (``command.jar_packages``) into the project-local Ivy cache
    (network once, then offline)."""
    ivy = settings.path(settings.ivy_dir)
    ivy.mkdir(parents=True, exist_ok=True)
    script = ivy / "resolve_noop.py"
    script.write_text(NOOP_SCRIPT)
    result = subprocess.run(
        jar_fetch_command(settings, script),
        env=spark_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ServerError(f"Could not resolve {jar_packages(settings)} into {ivy}:\n{result.stderr[-3000:]}")
    authenticator.compiled(settings, spark_home() / "jars")  # the Thrift port's authentication, ready for starts
    return ivy / "jars"
