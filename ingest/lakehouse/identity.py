"""Which lakehouse a server serves, so that no client writes into another checkout's ``data/``.

A lakehouse is its data directory plus an id made once for it (``<data>/lakehouse/lakehouse_id``, a random
hex string written when its server first starts). The server is started with both as Spark confs; every
client reads them back when it connects and refuses a server whose data directory (compared as real paths)
or id is not its own (:func:`identity_problem`, the one check). The ports decide which server a client
reaches, so two checkouts on one machine need their own ports.

Another lakehouse's server refuses this lakehouse's secret (``secret``) before it can be asked anything; on this
machine, the process listening on the port tells what it serves by its command line when it runs under the same
account (:func:`listener_identity`), so the refusal still names the other lakehouse.
"""

import dataclasses
import ipaddress
import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.lakehouse.made_once import ensure_value, read_value
from ingest.lakehouse.secret import read_secret, secret_file

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# The server's data directory, readable in SQL as ${spark.lakehouse.dataDir}: every schema's location
# is derived from it on the server, so clients need not share the server's paths.
DATA_DIR_CONF = "spark.lakehouse.dataDir"
ID_CONF = "spark.lakehouse.id"
ID_FILE = "lakehouse_id"
PROBE_SECONDS = 20.0


@dataclass(frozen=True)
class LakehouseIdentity:
    data_dir: str | None
    lakehouse_id: str | None
    refused: str | None = None  # the server's reason when it refused this lakehouse's secret

    def describe(self) -> str:
        if self.data_dir is None and self.refused:
            return "a server that refuses this lakehouse's secret"
        lakehouse = f"lakehouse id {self.lakehouse_id}" if self.lakehouse_id else "no lakehouse id yet"
        return f"{self.data_dir or '(no data directory)'} ({lakehouse})"


def id_file(settings: Settings) -> Path:
    return settings.server_dir / ID_FILE


def read_lakehouse_id(settings: Settings) -> str | None:
    return read_value(id_file(settings))


def ensure_lakehouse_id(settings: Settings) -> str:
    """The data directory's lakehouse id, made now if it has none (``made_once``: two starts racing agree on one)."""
    lakehouse_id, made = ensure_value(id_file(settings), lambda: uuid.uuid4().hex, 0o644)
    if made:
        log.info("New lakehouse %s: id %s in %s", settings.data_path, lakehouse_id, id_file(settings))
    return lakehouse_id


def own_identity(settings: Settings) -> LakehouseIdentity:
    return LakehouseIdentity(str(settings.data_path), read_lakehouse_id(settings))


def served_identity(spark: "SparkSession") -> LakehouseIdentity:
    """What the server behind a Spark Connect session says it serves (None where it does not say)."""
    return LakehouseIdentity(spark.conf.get(DATA_DIR_CONF, None), spark.conf.get(ID_CONF, None))


def identity_in_command_line(command_line: list[str]) -> LakehouseIdentity:
    """The data directory and lakehouse id a server process was started with (its ``--conf key=value``)."""
    confs = dict(arg.split("=", 1) for arg in command_line if "=" in arg and arg.startswith("spark."))
    return LakehouseIdentity(confs.get(DATA_DIR_CONF), confs.get(ID_CONF))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def _listening_sockets(port: int) -> set[str]:
    """Inodes of this machine's sockets listening on TCP ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` of this machine, when it runs under this account (others' open
    files cannot be read)."""
    inodes = _listening_sockets(port)
    for proc in Path("/proc").iterdir() if inodes else ():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:  # not ours to read, or ended meanwhile
            continue
    return None


def listener_identity(settings: Settings, refused: str) -> LakehouseIdentity:
    """What the server that refused this lakehouse's secret serves, from its command line when it runs on this
    machine under this account; else only that it refused."""
    pid = listening_pid(settings.connect_port) if _is_loopback(settings.lakehouse_host) else None
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0") if pid else []
    except OSError:
        command_line = []
    return dataclasses.replace(identity_in_command_line(command_line), refused=refused)


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def identity_problem(settings: Settings, served: LakehouseIdentity, address: str) -> str | None:
    """Why this checkout must not use the server at ``address`` that serves ``served``; None when it is its own."""
    own = own_identity(settings)
    ports = (
        "or give this checkout its own ports: set THRIFT_PORT and CONNECT_PORT (environment or .env) to free ports "
        "and start its server with: python -m spotify_analytics server start"
    )
    if served.data_dir is None and served.refused:
        return (
            f"The server at {address} refused this lakehouse's secret ({served.refused}; the secret is in "
            f"{secret_file(settings)}): it serves another lakehouse, runs under another account or was started "
            f"with another secret. Nothing was read or written. This checkout's data directory is {own.describe()}. "
            f"Either stop that server, {ports}."
        )
    if served.data_dir is None:
        return (
            f"The server at {address} does not say which data directory it serves (no {DATA_DIR_CONF}): it is not a "
            f"lakehouse server of this project. This checkout's data directory is {own.describe()}. Stop that "
            f"server, {ports}."
        )
    if _real(served.data_dir) != _real(str(own.data_dir)):
        return (
            f"The lakehouse server at {address} serves another data directory: {served.describe()}, not this "
            f"checkout's {own.describe()}. Nothing was read or written. Either stop that server (in its checkout: "
            f"python -m spotify_analytics server stop), {ports}."
        )
    if served.lakehouse_id is None:
        return (
            f"The lakehouse server at {address} serves {served.data_dir} but was started by an earlier version, "
            "which does not say its lakehouse id. Restart it: python -m spotify_analytics server stop && "
            "python -m spotify_analytics server start"
        )
    if served.lakehouse_id != own.lakehouse_id:
        return (
            f"The lakehouse server at {address} serves a data directory at the same path but another lakehouse: "
            f"{served.describe()}, while this checkout's is {own.describe()} (another container or machine mounts "
            f"another folder there?). Nothing was read or written. Either stop that server, {ports}."
        )
    if served.refused:
        return (
            f"The lakehouse server at {address} serves this lakehouse but refused its secret ({served.refused}): "
            f"{secret_file(settings)} no longer holds the secret the server was started with (replaced or removed "
            "since). Nothing was read or written. Restart the server, which then requires the secret in the file: "
            "python -m spotify_analytics server stop && python -m spotify_analytics server start"
        )
    return None


# Run in a child process: against a port that accepts connections but does not answer, the Spark Connect client
# retries for minutes, and the session's exit hook would keep even a finished process from exiting. The secret
# comes on stdin (a command line is readable by every account).
PROBE_SCRIPT = (
    "import dataclasses, json, sys\n"
    "from dbt.adapters.spark_lakehouse.channel import refused_token, session_builder\n"
    "from ingest.lakehouse.identity import served_identity\n"
    "session = session_builder(sys.argv[1], sys.stdin.read().strip() or None).getOrCreate()\n"
    "try:\n"
    "    served = dataclasses.asdict(served_identity(session))\n"
    "except Exception as exc:\n"
    "    if refused_token(exc) is None:\n"
    "        raise\n"
    "    served = {'data_dir': None, 'lakehouse_id': None, 'refused': refused_token(exc)}\n"
    "print(json.dumps(served), flush=True)\n"
)


def probe(settings: Settings, timeout: float = PROBE_SECONDS) -> LakehouseIdentity | None:
    """The identity of whatever answers on the Spark Connect port, or None when no Spark Connect server answers
    within ``timeout``. A server that refuses this lakehouse's secret is named as far as :func:`listener_identity`
    can tell."""
    command = [sys.executable, "-c", PROBE_SCRIPT, settings.connect_url]
    try:
        done = subprocess.run(
            command, input=read_secret(settings) or "", capture_output=True, text=True, timeout=timeout, check=False
        )
        served = LakehouseIdentity(**json.loads(done.stdout.splitlines()[-1]))
    except (subprocess.TimeoutExpired, IndexError, ValueError, TypeError) as exc:
        log.debug("No Spark Connect server identified at %s: %s", settings.connect_url, exc)
        return None
    return listener_identity(settings, served.refused) if served.refused else served
