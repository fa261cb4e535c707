"""One deadline per command on the lakehouse server, whatever the command is doing.

pyspark retries each Spark Connect call of a dead server for up to ~36 s (``client.DEAD_SERVER_RETRIES``), and a
load makes many calls, so a command whose server died could run on for minutes before it failed with a
traceback. A command of the CLI therefore *arms* the watchdog (``arm``, with the command's name and how to word
its end); the first Spark Connect session it opens (``client.connect``) starts a thread that:

- checks every second that the server's Spark Connect port accepts connections: once it has refused them for
  ``DOWN_FOR_SECONDS`` (a killed server, one that ran out of memory), the command is over: its session died with
  the server, so there is nothing to wait for;
- ends the command once it has run for ``LAKEHOUSE_COMMAND_TIMEOUT`` seconds in all (its sessions' operations are
  interrupted first, so none of them commits after it).

Either way the thread prints one line (what the server was doing for the command, why it ended, and the
command that recovers), and ends the process with exit code 1: a thread blocked in a gRPC call cannot be
interrupted otherwise. What the command was doing is what its open ``doing`` blocks say.
Nothing half-written is kept: a Delta commit is all or nothing, and a killed Bronze writer's operations are
stopped by the next writer (``ingest.bronze.writer``).

Only a command the CLI armed is watched: a library caller (a test, the pipeline, which supervises its steps
itself) keeps pyspark's own errors.
"""

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ingest.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 1.0
DOWN_FOR_SECONDS = 2.5  # refused for this long (three checks at least) is dead: a JVM restart takes longer
PORT_CHECK_TIMEOUT = 1.0
INTERRUPT_WITHIN_SECONDS = 10.0  # a timed-out command's interrupt of its operations gets this long
EXIT_CODE = 1


@dataclass(frozen=True)
class Ending:
    """Why the watchdog ends a command, for the command's one line."""

    kind: Literal["server_gone", "timed_out"]
    settings: Settings
    command: str  # the command as typed after the program, e.g. ``load all``
    doing: str  # what the command was doing, e.g. ``writing bronze.listening_history_bronze`` ('' unknown)
    seconds: float  # since the command started


Describe = Callable[[Ending], str]


@dataclass
class _Armed:
    command: str
    describe: Describe
    started: float


_armed: _Armed | None = None
_doing: list[str] = []
_sessions: list["SparkSession"] = []
_lock = threading.Lock()
_thread: threading.Thread | None = None


def arm(command: str, describe: Describe) -> None:
    """Watch this process's lakehouse work from its first session on, as the command ``command`` (a process that
    runs commands one after the other, the pipeline's worker, arms it for each)."""
    global _armed
    _armed = _Armed(command, describe, time.monotonic())


def disarm() -> None:
    """The command has ended: nothing is watched until the next ``arm``."""
    global _armed
    _armed = None
    with _lock:
        _sessions.clear()


@contextmanager
def doing(what: str) -> Iterator[None]:
    """What the command is doing during the block, for the line it ends with when its server dies."""
    with _lock:
        _doing.append(what)
    try:
        yield
    finally:
        with _lock:
            _doing.remove(what)


def elapsed() -> float:
    """Seconds since the command was armed (0 when it was not)."""
    return time.monotonic() - _armed.started if _armed else 0.0


def currently_doing() -> str:
    """What the command is doing, outermost first: ``loading plays: writing bronze.listening_history_bronze``."""
    with _lock:
        return ": ".join(_doing)


def watch(settings: Settings, session: "SparkSession") -> None:
    """Called by ``client.connect`` for each session it opens: the first one of an armed command starts the
    thread; every one is interrupted when the command times out."""
    global _thread
    if _armed is None:
        return
    with _lock:
        _sessions.append(session)
        if _thread is not None:
            return
        _thread = threading.Thread(target=_watch, args=(settings,), name="lakehouse-watchdog", daemon=True)
    _thread.start()


def refused(host: str, port: int) -> bool:
    """Nothing accepts connections on the port (refused, unreachable, or no answer within a second)."""
    try:
        with socket.create_connection((host, port), timeout=PORT_CHECK_TIMEOUT):
            return False
    except OSError:
        return True


def _watch(settings: Settings) -> None:
    down_since: float | None = None
    failed_checks = 0
    while True:
        time.sleep(CHECK_EVERY_SECONDS)
        armed, now = _armed, time.monotonic()
        if armed is None:  # between two commands
            down_since, failed_checks = None, 0
            continue
        if now > armed.started + settings.lakehouse_command_timeout:
            _interrupt_sessions()
            _end(Ending("timed_out", settings, armed.command, currently_doing(), now - armed.started), armed)
        if refused(settings.lakehouse_host, settings.connect_port):
            down_since = down_since or now
            failed_checks += 1
        else:
            down_since, failed_checks = None, 0
        if down_since is not None and failed_checks >= 3 and now - down_since >= DOWN_FOR_SECONDS:
            _end(Ending("server_gone", settings, armed.command, currently_doing(), now - armed.started), armed)


def _interrupt_sessions() -> None:
    """Interrupt what the command's sessions run, within INTERRUPT_WITHIN_SECONDS (a server that does not answer
    keeps it from confirming, not from ending)."""

    def interrupt() -> None:
        for session in list(_sessions):
            try:
                session.interruptAll()
            except Exception as exc:  # the command ends anyway; say what could not be interrupted
                log.warning("Could not interrupt the operations of a lakehouse session: %s", str(exc)[:200])

    worker = threading.Thread(target=interrupt, daemon=True)
    worker.start()
    worker.join(INTERRUPT_WITHIN_SECONDS)


def _end(ending: Ending, armed: _Armed) -> None:
    try:
        message = armed.describe(ending)
    except Exception:  # the line must be printed whatever went wrong in wording it
        log.exception("Could not word the watchdog's message")
        message = f"{ending.command}: the lakehouse server at {ending.settings.connect_url} ({ending.kind})"
    try:
        sys.stdout.flush()
    finally:
        print(f"error: {message}", file=sys.stderr, flush=True)
        os._exit(EXIT_CODE)
