"""A Thrift session the server fails to close (Hive's clean-up on Spark's Thrift server can throw
``NoClassDefFoundError … LlapSigner``, seen failing a whole `make test`) does not fail the dbt node whose query had
finished: the adapter's handle logs it and goes on; everything else reaches dbt-spark's handle unchanged."""

from dbt.adapters.spark_lakehouse.connections import SessionCloseTolerantHandle
from pyhive.exc import OperationalError

# what pyhive raises when HiveServer2 answers CloseSession with an error status
CLOSE_FAILED = "TCloseSessionResp(status=TStatus(statusCode=3, errorMessage='NoClassDefFoundError: LlapSigner'))"


class FakeThriftHandle:
    def __init__(self, close_error: Exception | None) -> None:
        self.close_error = close_error
        self.closed = 0

    def cursor(self) -> str:
        return "the cursor"

    def close(self) -> None:
        self.closed += 1
        if self.close_error is not None:
            raise self.close_error


def test_a_session_the_server_fails_to_close_does_not_raise() -> None:
    inner = FakeThriftHandle(OperationalError(CLOSE_FAILED))
    handle = SessionCloseTolerantHandle(inner)

    handle.close()  # raises nothing: the node's query had finished

    assert inner.closed == 1
    assert handle.cursor() == "the cursor"


def test_a_session_closed_cleanly_is_closed_once() -> None:
    inner = FakeThriftHandle(None)

    SessionCloseTolerantHandle(inner).close()

    assert inner.closed == 1
