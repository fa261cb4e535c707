"""A Spark Connect proxy on a free loopback port that forwards every call to the real server, except the methods it
is told to hang: those it accepts and never answers (a server that takes the call and goes silent).

Requests and responses pass as raw bytes, with the caller's metadata, so clients cannot tell it from the server.
"""

import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc

SERVICE = "/spark.connect.SparkConnectService/"
STREAMING = {"ExecutePlan", "ReattachExecute"}  # unary request, streamed responses
CLIENT_STREAMING = {"AddArtifacts"}


class SparkConnectProxy:
    def __init__(self, upstream: str, hang: set[str]) -> None:
        self.hang = hang
        self.hung_calls = 0
        self._release = threading.Event()
        self._channel = grpc.insecure_channel(upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), handlers=[_Handler(self)])
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> "SparkConnectProxy":
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.stop(grace=0)
        self._channel.close()

    def hang_until_cancelled(self, context: grpc.ServicerContext) -> None:
        self.hung_calls += 1
        while context.is_active() and not self._release.wait(0.2):
            pass

    def forward(self, method: str) -> grpc.RpcMethodHandler:
        name = method.removeprefix(SERVICE)
        path = method

        def metadata(context: grpc.ServicerContext) -> list[tuple[str, Any]]:
            return [(key, value) for key, value in context.invocation_metadata() if not key.startswith("grpc-")]

        if name in STREAMING:
            call = self._channel.unary_stream(path)

            def stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
                if name in self.hang:
                    self.hang_until_cancelled(context)
                    return
                responses = call(request, metadata=metadata(context))
                context.add_callback(responses.cancel)  # a client that goes away ends the upstream call too
                try:
                    yield from responses
                except grpc.RpcError as exc:
                    relay(exc, context)

            return grpc.unary_stream_rpc_method_handler(stream)
        if name in CLIENT_STREAMING:
            client_stream = self._channel.stream_unary(path)

            def upload(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
                try:
                    return client_stream(requests, metadata=metadata(context))
                except grpc.RpcError as exc:
                    relay(exc, context)
                    raise

            return grpc.stream_unary_rpc_method_handler(upload)
        unary = self._channel.unary_unary(path)

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            if name in self.hang:
                self.hang_until_cancelled(context)
                context.abort(grpc.StatusCode.CANCELLED, "released")
            try:
                return unary(request, metadata=metadata(context))
            except grpc.RpcError as exc:
                relay(exc, context)
                raise

        return grpc.unary_unary_rpc_method_handler(answer)


def relay(exc: Any, context: grpc.ServicerContext) -> None:
    """End the call as the server ended it: its status, message and details (Spark's error classes)."""
    context.set_trailing_metadata(tuple(exc.trailing_metadata() or ()))
    context.abort(exc.code(), exc.details())


class _Handler(grpc.GenericRpcHandler):
    def __init__(self, proxy: SparkConnectProxy) -> None:
        self.proxy = proxy

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        return self.proxy.forward(handler_call_details.method)
