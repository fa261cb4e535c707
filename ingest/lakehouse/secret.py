"""The lakehouse secret: no client reads or writes a table without it.

One random secret per lakehouse, made at the first start of its server (or of a cluster daemon, see
``spotify_analytics.server.cluster``) in ``<data>/lakehouse/secret``, mode 0600, and read from there by every client
this project starts. The server requires it on both ports:

- Spark Connect: Spark's pre-shared token (``spark.connect.authenticate.token``), given to the server in the
  environment variable below (an environment is readable by its own user only; a command line by everyone); a
  client sends it as the gRPC bearer token (``ChannelBuilder`` in the adapter plugin).
- Thrift: HiveServer2's ``CUSTOM`` authentication with ``SecretAuthenticator.java``, which compares a client's
  password with the same variable.
- Spark's own RPC (driver, cluster master, workers, executors): ``spark.authenticate`` with this secret
  (:func:`write_spark_properties`).
"""

import logging
import os
import secrets
import stat
from pathlib import Path

from ingest.config import Settings
from ingest.lakehouse.made_once import ensure_value, read_value

log = logging.getLogger(__name__)

SECRET_FILE = "secret"
SPARK_PROPERTIES_FILE = "spark-auth.properties"
# Spark's Connect server reads its token from this variable (a client's pyspark too); the Thrift authenticator
# reads the same one, so one variable carries the one secret into the server.
SECRET_VARIABLE = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
SECRET_BYTES = 32
PRIVATE = 0o600


def secret_file(settings: Settings) -> Path:
    return settings.server_dir / SECRET_FILE


def read_secret(settings: Settings) -> str | None:
    """This lakehouse's secret, or None when it has none yet (its server never started) or it cannot be read."""
    return read_value(secret_file(settings))


def ensure_secret(settings: Settings) -> str:
    """The lakehouse's secret, made now if it has none (``made_once``: concurrent starts agree on one); a file that
    others may read is made private again, with a warning (the secret may have been read: remove the file to make
    a new one)."""
    path = secret_file(settings)
    secret, made = ensure_value(path, lambda: secrets.token_hex(SECRET_BYTES), PRIVATE)
    if made:
        log.info("New lakehouse secret in %s (mode 0600)", path)
    else:
        _keep_private(path)
    return secret


def _keep_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(PRIVATE)
        log.warning(
            "The lakehouse secret %s was readable by others (mode %o); it is private again (0600). If someone may "
            "have read it, make a new one: stop the server, remove the file, start the server.",
            path,
            mode,
        )


# Every daemon of a lakehouse (server, master, workers) reads the same file, so concurrent starts may rewrite it.
SPARK_PROPERTIES = {
    "spark.authenticate": "true",
    # A master's web UI could otherwise stop the lakehouse server's application for any local account.
    "spark.ui.killEnabled": "false",
}


def write_spark_properties(settings: Settings) -> Path:
    """A Spark properties file (mode 0600, rewritten on every start) that turns on Spark's RPC authentication
    with the lakehouse secret, for ``--properties-file`` of the server, a cluster's master and its workers: a
    secret given as ``--conf`` would be on the command line, which every local account can read."""
    properties = {**SPARK_PROPERTIES, "spark.authenticate.secret": ensure_secret(settings)}
    path = settings.server_dir / SPARK_PROPERTIES_FILE
    draft = path.with_name(f".{SPARK_PROPERTIES_FILE}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{key} {value}\n" for key, value in properties.items())
    draft.replace(path)
    return path


def close_to_others(settings: Settings) -> None:
    """Take every permission of other accounts off the data directory (the group's stay): the secret guards the
    server's ports, and tables and the secret on disk need the directory closed. Said in the log when changed."""
    path = settings.data_path
    path.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o007:
        return
    try:
        path.chmod(mode & ~0o007)
    except OSError as exc:
        log.warning("Other accounts may read the data directory %s (mode %o); closing it failed: %s", path, mode, exc)
        return
    log.warning("Closed the data directory %s to other accounts (mode %o, was %o)", path, mode & ~0o007, mode)
