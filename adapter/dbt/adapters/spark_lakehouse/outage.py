"""One retry budget per dbt process for a Spark Connect server that went away, not one per call.

pyspark retries every call of an unreachable server (its default policy: 10 minutes; ours: about 36 s), and a
dbt build makes many calls (each Python model opens a session, reads, writes), so a build whose server died
could wait for minutes. ``OutagePolicy`` keeps pyspark's retries for a server that answers again, but all calls
to one address share the outage: once its port has refused connections for ``BUDGET_SECONDS`` in a row, no call
to it retries any more, and the next calls fail at once.
"""

import atexit
import socket
import threading
import time
from typing import Any
from urllib.parse import urlparse

from pyspark.sql.connect.client.retries import DefaultPolicy, RetryPolicyState

BUDGET_SECONDS = 30.0
# 0.25 s doubling to 10 s, eight times (about 36 s): the budget above ends an outage before this does
RETRIES = {"max_retries": 8, "initial_backoff": 250, "backoff_multiplier": 2.0, "max_backoff": 10_000}

_down_since: dict[tuple[str, int], float] = {}
_lock = threading.Lock()


def address_of(url: str) -> tuple[str, int]:
    """(host, port) of an ``sc://host:port/;…`` URL."""
    parsed = urlparse(url.split(";", 1)[0].replace("sc://", "http://", 1))
    return parsed.hostname or "localhost", parsed.port or 15002


def refuses(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1.0):
            return False
    except OSError:
        return True


def spent(address: tuple[str, int]) -> bool:
    """Whether the server at ``address`` has refused connections for the whole budget (it answers: the outage ends)."""
    now = time.monotonic()
    down = refuses(address)
    with _lock:
        if not down:
            _down_since.pop(address, None)
            return False
        since = _down_since.setdefault(address, now)
    return now - since >= BUDGET_SECONDS


class _OutageState(RetryPolicyState):
    def next_attempt(self, exception: BaseException | None = None) -> int | None:
        policy: OutagePolicy = self.policy  # type: ignore[assignment]
        if spent(policy.address):
            return None
        return super().next_attempt(exception)


class OutagePolicy(DefaultPolicy):
    """pyspark's default policy with our shorter backoff, within the process's budget for the server's outage."""

    def __init__(self, url: str) -> None:
        super().__init__(**RETRIES)
        self.address = address_of(url)

    def to_state(self) -> Any:
        return _OutageState(self)


# Every session the project opens, held until the process ends (kept_for_the_process).
_kept: list[Any] = []
# How long a process's end may wait for the server to release its sessions: a hung server must not hold it.
RELEASE_SECONDS = 5.0


def kept_for_the_process(session: Any) -> Any:
    """Keep ``session`` until the process ends, without pyspark's exit hook, and return it; at the end, the server
    releases it (``release_kept_sessions``).

    pyspark's session finaliser (``__del__``) closes the one thread pool all sessions share to release finished
    operations. Run by the garbage collector while that pool is submitting work (a query of another session
    releasing its results), it waits for a lock its own thread holds: the process hangs for good (seen in the
    test suite: a Bronze writer's stopped session collected during the next query). Kept sessions are never
    collected while the process works. The exit hook asks the server to clear its machine-learning cache (the
    project keeps nothing there) through the session's retries: after the server died, each process that had a
    session would wait out the whole retry budget as it exits, after its work has failed."""
    atexit.unregister(session.client._cleanup_ml_cache)
    _kept.append(session)
    return session


def release_kept_sessions() -> None:
    """Release on the server every kept session still open (run at the process's end). Without it the server holds
    a session for its idle timeout (``spark.connect.session.manager.defaultSessionTimeout``, 60 minutes), with what
    its queries left there: a load's uploaded rows (about 35 MB per 100,000 plays), the analysed plans of its
    queries (about 200 MB for the compiled SQL of the 15 SQL models). One attempt each, no retries (a dead server
    refuses at once), and ``RELEASE_SECONDS`` in all (a hung server does not hold the process); a session not
    released is dropped by the server at its idle timeout."""
    still_open = [session for session in _kept if not session.is_stopped and not session.client.is_closed]

    def release() -> None:
        for session in still_open:
            try:
                session.client.set_retry_policies([])
                session.client.release_session()
            except Exception:  # best effort, at exit: the server drops the session at its idle timeout
                continue

    if still_open:
        releaser = threading.Thread(target=release, name="release-sessions", daemon=True)
        releaser.start()
        releaser.join(RELEASE_SECONDS)


atexit.register(release_kept_sessions)
