"""Which lakehouse a server serves, so that no client writes into another checkout's ``data/``.

A lakehouse is its data directory plus an id made once for it (``<data>/lakehouse/lakehouse_id``, a random
hex string written when its server first starts). The server is started with both as Spark confs; every
client reads them back when it connects and refuses a server whose data directory (compared as real paths)
or id is not its own (:func:`identity_problem`, the one check). The ports decide which server a client
reaches, so two checkouts on one machine need their own ports.
"""

import json
import logging
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import Settings

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

    def describe(self) -> str:
        lakehouse = f"lakehouse id {self.lakehouse_id}" if self.lakehouse_id else "no lakehouse id yet"
        return f"{self.data_dir or '(no data directory)'} ({lakehouse})"


def id_file(settings: Settings) -> Path:
    return settings.server_dir / ID_FILE


def read_lakehouse_id(settings: Settings) -> str | None:
    try:
        return id_file(settings).read_text().strip() or None
    except OSError:
        return None


def ensure_lakehouse_id(settings: Settings) -> str:
    """The data directory's lakehouse id, made now if it has none (two starts racing agree on one)."""
    existing = read_lakehouse_id(settings)
    if existing:
        return existing
    path = id_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return read_lakehouse_id(settings) or ""
    with os.fdopen(fd, "w") as handle:
        handle.write(uuid.uuid4().hex + "\n")
    made = read_lakehouse_id(settings) or ""
    log.info("New lakehouse %s: id %s in %s", settings.data_path, made, path)
    return made


def own_identity(settings: Settings) -> LakehouseIdentity:
    return LakehouseIdentity(str(settings.data_path), read_lakehouse_id(settings))


def served_identity(spark: "SparkSession") -> LakehouseIdentity:
    """What the server behind a Spark Connect session says it serves (None where it does not say)."""
    return LakehouseIdentity(spark.conf.get(DATA_DIR_CONF, None), spark.conf.get(ID_CONF, None))


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def identity_problem(settings: Settings, served: LakehouseIdentity, address: str) -> str | None:
    """Why this checkout must not use the server at ``address`` that serves ``served``; None when it is its own."""
    own = own_identity(settings)
    ports = (
        "or give this checkout its own ports: set THRIFT_PORT and CONNECT_PORT (environment or .env) to free ports "
        "and start its server with: python -m spotify_analytics server start"
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
    return None


# Run in a child process: against a port that accepts connections but does not answer, the Spark Connect client
# retries for minutes, and the session's exit hook would keep even a finished process from exiting.
PROBE_SCRIPT = (
    "import dataclasses, json, sys\n"
    "from pyspark.sql import SparkSession\n"
    "from ingest.lakehouse.identity import served_identity\n"
    "session = SparkSession.builder.remote(sys.argv[1]).getOrCreate()\n"
    "print(json.dumps(dataclasses.asdict(served_identity(session))), flush=True)\n"
)


def probe(settings: Settings, timeout: float = PROBE_SECONDS) -> LakehouseIdentity | None:
    """The identity of whatever answers on the Spark Connect port, or None when no Spark Connect server answers
    within ``timeout``."""
    command = [sys.executable, "-c", PROBE_SCRIPT, settings.connect_url]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        return LakehouseIdentity(**json.loads(done.stdout.splitlines()[-1]))
    except (subprocess.TimeoutExpired, IndexError, ValueError, TypeError) as exc:
        log.debug("No Spark Connect server identified at %s: %s", settings.connect_url, exc)
        return None
