"""Spark Connect sessions that send a token to a server without TLS.

A Spark Connect server started with ``spark.connect.authenticate.token`` (or ``SPARK_CONNECT_AUTHENTICATE_TOKEN``)
refuses every call that does not carry ``authorization: Bearer <token>``. pyspark 4.1 sends a token (``;token=`` in
the URL, or that environment variable) only over TLS, or over gRPC's local credentials when the host is spelt
``localhost``: to ``sc://127.0.0.1:15002/;token=…`` or ``sc://spark:15002/;token=…`` it speaks TLS, which Spark's
own Connect server (it has no TLS) answers with a failed handshake. ``TokenChannelBuilder`` sends the token as that
header on a plain channel instead, and leaves TLS (``;use_ssl=true``) to pyspark. On a plain channel the token
travels unencrypted: keep it to loopback or a private network, and put TLS in front of a server on another machine.

This module imports nothing of dbt, so programs other than dbt can use it cheaply.
"""

import os
from typing import Any

from pyspark.sql.connect.client import ChannelBuilder, DefaultChannelBuilder

BEARER_HEADER = "authorization"
# What Spark's Connect server (PreSharedKeyAuthenticationInterceptor) answers a call without the token, or with another
REFUSALS = ("No authentication token provided", "Invalid authentication token")


class TokenChannelBuilder(DefaultChannelBuilder):
    """pyspark's channel builder for ``url``, with ``token`` (when the URL has none) sent as the bearer header
    on a plain channel; with ``use_ssl=true``, pyspark's TLS channel carries it."""

    def __init__(self, url: str, token: str | None = None) -> None:
        super().__init__(url)
        if token and ChannelBuilder.PARAM_TOKEN not in self._params:
            self.set(ChannelBuilder.PARAM_TOKEN, token)

    @property
    def secure(self) -> bool:
        return self.use_ssl

    def metadata(self) -> list[tuple[str, str]]:
        bearer = [(BEARER_HEADER, f"Bearer {self.token}")] if self.token and not self.use_ssl else []
        return [*super().metadata(), *bearer]


def session_builder(url: str, token: str | None = None) -> Any:
    """A Spark Connect session builder for ``url`` whose channel sends ``token`` (``create()`` a new session, or
    ``getOrCreate()`` the process's default one)."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    # pyspark routes calls that take no session (pandas-on-Spark, SparkSession.getActiveSession) to Spark Connect
    # only when this is set, else it starts a local JVM; its own builder sets it for a remote session.
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    return ConnectSession.builder.channelBuilder(TokenChannelBuilder(url, token))


def refused_token(error: BaseException) -> str | None:
    """The server's reason when ``error`` (from any Spark Connect call, or raised while handling one) is its
    refusal of the token (gRPC status UNAUTHENTICATED), else None."""
    for cause in _chain(error):
        status = getattr(cause, "getGrpcStatusCode", None)
        if status is not None and getattr(status(), "name", None) == "UNAUTHENTICATED":  # a grpc.StatusCode
            return next((reason for reason in REFUSALS if reason in str(cause)), "UNAUTHENTICATED")
    return None


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
