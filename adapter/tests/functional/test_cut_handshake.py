"""A Thrift server that closes a connection during its handshake (``TSocket read 0 bytes``, or a reset: seen once in a
test session, the server having read a malformed handshake) costs a pause and a second attempt, not the dbt node: the
profile's port leads through a loopback proxy that closes the connections it is told to cut as they open and
forwards the others to the server under test."""

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from dbt.adapters.contracts.connection import Connection, ConnectionState
from dbt.adapters.exceptions.connection import FailedToConnectError
from dbt.adapters.spark_lakehouse.connections import (
    CUT_HANDSHAKE,
    CUT_HANDSHAKE_PAUSES,
    SparkLakehouseConnectionManager,
    SparkLakehouseCredentials,
)
from dbt.tests.util import relation_from_name, run_dbt


class CuttingProxy:
    """Forwards loopback connections to ``target``; the next ``cut`` connections are closed once their client has
    sent its first bytes, as the server closes a handshake it cannot read."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut = 0
        self.cut_so_far = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            if self.cut > 0:
                self.cut -= 1
                self.cut_so_far += 1
                client.recv(1024)
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):  # either end closed
        while data := source.recv(65536):
            sink.sendall(data)
    for end in (source, sink):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


class TestACutHandshakeIsConnectedAgain:
    @pytest.fixture(scope="class")
    def proxy(self, spark_lakehouse_profile: dict[str, Any]) -> Iterator[CuttingProxy]:
        proxy = CuttingProxy((spark_lakehouse_profile["host"], int(spark_lakehouse_profile["port"])))
        yield proxy
        proxy.close()

    @pytest.fixture(scope="class")
    def dbt_profile_target(self, dbt_profile_target: dict[str, Any], proxy: CuttingProxy) -> dict[str, Any]:
        return {**dbt_profile_target, "host": "127.0.0.1", "port": proxy.port}

    @pytest.fixture(scope="class")
    def models(self) -> dict[str, str]:
        return {"after_a_cut.sql": "select 1 as id"}

    def test_the_model_builds_after_one_cut_handshake(
        self, project: Any, proxy: CuttingProxy, caplog: pytest.LogCaptureFixture
    ) -> None:
        proxy.cut = 1
        with caplog.at_level(logging.WARNING, logger="dbt.adapters.spark_lakehouse.connections"):
            results = run_dbt(["run"])

        assert [result.status for result in results] == ["success"]
        assert proxy.cut_so_far == 1
        relation = relation_from_name(project.adapter, "after_a_cut")
        assert project.run_sql(f"select id from {relation}", fetch="all") == [(1,)]
        [warning] = [record.getMessage() for record in caplog.records if "during its handshake" in record.getMessage()]
        assert f"The Thrift server at 127.0.0.1:{proxy.port} closed the connection during its handshake" in warning
        assert f"(attempt 2 of {len(CUT_HANDSHAKE_PAUSES) + 1})" in warning


def test_a_server_that_cuts_every_attempt_is_named_after_the_last(spark_lakehouse_profile: dict[str, Any]) -> None:
    proxy = CuttingProxy((spark_lakehouse_profile["host"], int(spark_lakehouse_profile["port"])))
    credentials = SparkLakehouseCredentials.from_dict(
        {"method": "thrift", "host": "127.0.0.1", "port": proxy.port, "schema": "analytics", "database": None,
         "connect_retries": 3, "connect_timeout": 10, "secret_file": spark_lakehouse_profile.get("secret_file")}
    )  # fmt: skip
    connection = Connection(
        type="spark_lakehouse", name="cut", credentials=credentials, state=ConnectionState.INIT, handle=None
    )
    proxy.cut = len(CUT_HANDSHAKE_PAUSES) + 1

    try:
        with pytest.raises(FailedToConnectError) as failed:
            SparkLakehouseConnectionManager.open(connection)
    finally:
        proxy.close()
    assert any(sign in str(failed.value) for sign in CUT_HANDSHAKE), failed.value
    assert (proxy.cut, proxy.cut_so_far) == (0, len(CUT_HANDSHAKE_PAUSES) + 1)  # every attempt made, none more
