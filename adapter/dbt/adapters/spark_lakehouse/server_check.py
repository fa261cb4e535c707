"""The profile's ``expected_server_paths``: refuse a server that serves other directories than this project's.

Two projects on one machine reach whichever server listens on the ports their profiles name; the server,
not the client, decides where tables are written. A profile can name server confs that hold paths and the
paths it expects them to hold, e.g. ``{spark.lakehouse.dataDir: data}``; relative paths are resolved against
the directory dbt runs in, and both sides are compared as real paths (so ``/app/data`` in every container of
a compose project matches). The check runs once per server and process, when the first Thrift connection
opens and when the first Spark Connect session of a Python model does; ``expected_server_hint`` is added to
the error (how to get out of the mismatch in this project).
"""

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from dbt_common.exceptions import DbtRuntimeError

UNDEFINED = "<undefined>"  # what Spark's SET answers for a key it does not have

_checked: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
_lock = threading.Lock()


class ServerMismatch(DbtRuntimeError):
    """The server serves other paths than the profile expects."""


def real_path(path: str, base: str | None = None) -> str:
    """``path`` as a real path, a relative one taken from ``base`` (default: the directory dbt runs in)."""
    expanded = os.path.expanduser(path)
    return os.path.realpath(os.path.join(base or os.getcwd(), expanded))


def check_server_paths(
    expected: Mapping[str, str], read_conf: Callable[[str], str | None], server: str, hint: str | None = None
) -> None:
    """Raise ServerMismatch naming both paths when a conf of the server at ``server`` holds another path than
    ``expected`` says (or none); check each server once per process."""
    key = (server, tuple(sorted(expected.items())))
    with _lock:
        if not expected or key in _checked:
            return
    for conf, path in sorted(expected.items()):
        served = read_conf(conf)
        if served in (None, "", UNDEFINED) or real_path(served, "/") != real_path(path):
            raise ServerMismatch(
                f"The server at {server} serves {conf} = {served or '(not set)'}, but this profile expects "
                f"{real_path(path)} (expected_server_paths); nothing was run there. "
                + (hint or "Stop that server, or point this profile at the server of this project.")
            )
    with _lock:
        _checked.add(key)


def check_thrift_connection(connection: Any) -> None:
    """The check on a dbt connection that dbt-spark has just opened over Thrift (``SET <conf>`` per path)."""
    credentials = connection.credentials
    expected = getattr(credentials, "expected_server_paths", None) or {}
    if not expected:
        return

    def read_conf(conf: str) -> str | None:
        cursor = connection.handle.cursor()
        cursor.execute(f"SET {conf}")
        rows = cursor.fetchall()
        return str(rows[0][1]) if rows else None

    server = f"{credentials.host}:{credentials.port}"
    check_server_paths(expected, read_conf, server, credentials.expected_server_hint)


def check_connect_session(session: Any, credentials: Any) -> None:
    """The check on a Spark Connect session before a Python model runs on it."""
    expected = getattr(credentials, "expected_server_paths", None) or {}

    def read_conf(conf: str) -> str | None:
        return session.conf.get(conf, None)

    check_server_paths(expected, read_conf, credentials.spark_connect_url, credentials.expected_server_hint)
