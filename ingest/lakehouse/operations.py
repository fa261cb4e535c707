"""Stop what a dead client left running on the server.

Spark Connect runs each request of a client as an operation of the client's session. When the client dies, the
server goes on running its operation (it keeps a detached operation for minutes, for the client to reattach),
so a MERGE of a killed load can commit while the next load runs. A client that knows the dead one's session id
attaches to that session, interrupts its operations and waits until each has ended (interrupting returns at
once; the operation's thread ends a moment later, after any commit it was making).
"""

import logging
import time
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.lakehouse.client import ServerError, connect

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

ENDED_WITHIN_SECONDS = 120.0  # an interrupted operation ends within seconds; longer means the server is stuck


def stop_operations_of(settings: Settings, session_id: str) -> list[str]:
    """Interrupt every operation still running in the server's session ``session_id`` and wait until each has
    ended; the ids of the operations interrupted (none when the session is gone, say after a server restart)."""
    from pyspark.errors import PySparkException

    session = connect(settings, session_id=session_id)
    try:
        interrupted = session.interruptAll()
        deadline = time.monotonic() + ENDED_WITHIN_SECONDS
        for operation_id in interrupted:
            _wait_until_ended(session, operation_id, deadline)
        return interrupted
    except PySparkException as exc:
        if "SESSION_CLOSED" in str(exc):  # released by its client or the server: nothing of it runs
            return []
        raise
    finally:
        session.stop()  # releases the session on the server


def _wait_until_ended(session: "SparkSession", operation_id: str, deadline: float) -> None:
    """Reattach to the operation and read its responses until it ends: it completes, fails or is gone.

    pyspark has no public call for this; the ReattachExecute request is Spark Connect's protocol."""
    import grpc
    from pyspark.sql.connect.proto import base_pb2

    client = session.client  # type: ignore[attr-defined]
    request = base_pb2.ReattachExecuteRequest(
        session_id=client._session_id,
        user_context=base_pb2.UserContext(user_id=client._user_id),
        operation_id=operation_id,
    )
    while time.monotonic() < deadline:
        try:
            for response in client._stub.ReattachExecute(request, metadata=client._builder.metadata()):
                if response.HasField("result_complete"):
                    return
        except grpc.RpcError as exc:  # interrupted, failed, or no longer known to the server: it has ended
            log.debug("Operation %s ended: %s", operation_id, exc)
            return
        # the server ends a reattached stream after a while without the operation ending: attach again
    raise ServerError(
        f"An operation a killed client left running on the lakehouse server ({operation_id}) was interrupted but "
        f"had not ended after {ENDED_WITHIN_SECONDS:.0f} s. Restart the server: "
        "python -m spotify_analytics server stop && python -m spotify_analytics server start"
    )
