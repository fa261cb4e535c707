"""Stop what a dead client left running on the server, within a deadline.

Spark Connect runs each request of a client as an operation of the client's session. When the client dies, the
server goes on running its operation (it keeps a detached operation for minutes, for the client to reattach),
so a MERGE of a killed load can commit while the next load runs. A client that knows the dead one's session id
attaches to that session, interrupts its operations and waits until each has ended (interrupting returns at
once; the operation's thread ends a moment later, after any commit it was making).

Every call here carries a gRPC deadline (pyspark's own calls have none): the interrupt, and each read of the
``ReattachExecute`` stream that tells when an operation has ended. A server that does not confirm the end within
``WRITER_STOP_TIMEOUT`` seconds raises ``OperationsNotStopped``, whose message says what to do.
"""

import logging
import time
from typing import TYPE_CHECKING, Any

from ingest.config import Settings
from ingest.lakehouse.client import ServerError, connect

if TYPE_CHECKING:
    import grpc

log = logging.getLogger(__name__)

RESTART = "python -m spotify_analytics server stop && python -m spotify_analytics server start"
REPAIR = "python -m spotify_analytics doctor --repair"
GONE = ("SESSION_CLOSED", "SESSION_NOT_FOUND")  # released by its client or the server: nothing of it runs


class OperationsNotStopped(ServerError):
    """The server did not confirm within the deadline that a dead client's operations have ended."""


def stop_operations_of(settings: Settings, session_id: str, whose: str = "a killed client") -> list[str]:
    """Interrupt every operation still running in the server's session ``session_id`` and wait until each has
    ended; the ids of the operations interrupted (none when the session is gone, say after a server restart).
    OperationsNotStopped when the server does not confirm it within ``settings.writer_stop_timeout``."""
    from pyspark.errors import PySparkException

    deadline = time.monotonic() + settings.writer_stop_timeout
    try:
        session = connect(settings, session_id=session_id)
    except PySparkException as exc:
        if any(sign in str(exc) for sign in GONE):
            return []
        raise
    client = session.client  # type: ignore[attr-defined]
    interrupted: list[str] = []
    try:
        interrupted = _interrupt_all(client, deadline)
        for operation_id in interrupted:
            _wait_until_ended(client, operation_id, deadline)
    except _DeadlinePassed:
        client.close()  # the session stays on the server, for the next attempt to stop what it runs
        raise OperationsNotStopped(
            f"Could not confirm that the {len(interrupted) or 'running'} operation(s) {whose} left on the lakehouse "
            f"server at {settings.connect_url} have ended: the server did not say so within "
            f"{settings.writer_stop_timeout:.0f} s (WRITER_STOP_TIMEOUT). Nothing was written. Restart the server, "
            f"which ends them ({RESTART}), or run {REPAIR}; then run this command again."
        ) from None
    except BaseException:
        client.close()
        raise
    session.stop()  # every operation has ended: the session is released on the server
    return interrupted


class _DeadlinePassed(Exception):
    pass


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _DeadlinePassed
    return left


def _interrupt_all(client: Any, deadline: float) -> list[str]:
    """The Interrupt request of ``SparkSession.interruptAll``, with a deadline."""
    import grpc

    try:
        response = client._stub.Interrupt(
            client._interrupt_request("all"), metadata=client._builder.metadata(), timeout=_remaining(deadline)
        )
    except grpc.RpcError as exc:
        if _deadline_exceeded(exc):
            raise _DeadlinePassed from None
        if any(sign in str(exc) for sign in GONE):
            return []
        raise ServerError(f"Interrupting a dead client's operations failed: {_details(exc)}") from None
    return list(response.interrupted_ids)


def _wait_until_ended(client: Any, operation_id: str, deadline: float) -> None:
    """Reattach to the operation and read its responses until it ends: it completes, fails or is gone.

    pyspark has no public call for this; the ReattachExecute request is Spark Connect's protocol. The stream gets
    the time left as its deadline: a server that accepts it and never answers cannot hold the caller."""
    import grpc
    from pyspark.sql.connect.proto import base_pb2

    request = base_pb2.ReattachExecuteRequest(
        session_id=client._session_id,
        user_context=base_pb2.UserContext(user_id=client._user_id),
        operation_id=operation_id,
    )
    while True:
        stream = client._stub.ReattachExecute(
            request, metadata=client._builder.metadata(), timeout=_remaining(deadline)
        )
        try:
            for response in stream:
                if response.HasField("result_complete"):
                    return
        except grpc.RpcError as exc:
            if _deadline_exceeded(exc):
                raise _DeadlinePassed from None
            log.debug("Operation %s ended: %s", operation_id, _details(exc))  # interrupted, failed or gone
            return
        # the server ends a reattached stream after a while without the operation ending: attach again


def _deadline_exceeded(exc: "grpc.RpcError") -> bool:
    import grpc

    return exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]


def _details(exc: "grpc.RpcError") -> str:
    details = getattr(exc, "details", None)
    return str(details() if callable(details) else exc)[:300]
