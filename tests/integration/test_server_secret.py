"""No one reads the lakehouse without its secret (issue 31): the session's server requires it on both ports.

A client without the secret, or with a wrong one, is refused on the Thrift port (HiveServer2's CUSTOM
authentication) and on the Spark Connect port (Spark's pre-shared token) with a message saying so, before it can run
anything; with the secret, a user's own PyHive or pyspark reads as the project's clients do. The secret is made at
the first start, private to its owner, and never on a command line. The project's own clients (the CLI, dbt over
Thrift and for Python models) name the secret's file when the server refuses it.
"""

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import Lakehouse

from ingest.lakehouse.secret import SECRET_VARIABLE, read_secret, secret_file
from spotify_analytics.server import process as server

DBT = str(Path(sys.executable).parent / "dbt")
REFUSED_LOGIN = "Error validating the login"  # what HiveServer2 answers a refused SASL PLAIN login


def secret_of(house: Lakehouse) -> str:
    secret = read_secret(house.settings)
    assert secret is not None
    return secret


def test_the_secret_is_made_private_and_stays_off_command_lines(lakehouse: Lakehouse) -> None:
    path = secret_file(lakehouse.settings)
    secret = secret_of(lakehouse)
    pid = server.read_pid(lakehouse.settings)
    assert pid is not None

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) == 64 and int(secret, 16) >= 0  # 32 random bytes, hex
    assert stat.S_IMODE(lakehouse.settings.data_path.stat().st_mode) & 0o007 == 0  # closed to other accounts
    properties = path.with_name("spark-auth.properties")  # spark.authenticate's secret, for --properties-file
    assert stat.S_IMODE(properties.stat().st_mode) == 0o600 and secret in properties.read_text()
    # What every account can read of the server, and of any process: no secret on a command line.
    assert secret.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert str(properties).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    status = lakehouse.cli("server", "status")
    assert status.returncode == 0 and "does not require the lakehouse secret" not in status.stdout, status.stdout


def thrift_answer(house: Lakehouse, **login: str) -> list:
    """What a PyHive client (dbt-spark's driver) reads over Thrift with this login."""
    from pyhive import hive

    settings = house.settings
    connection = hive.connect(host=settings.lakehouse_host, port=settings.thrift_port, username="reader", **login)
    try:
        cursor = connection.cursor()
        cursor.execute("select count(*) from range(7)")
        rows = cursor.fetchall()
        cursor.execute("set spark.lakehouse.dataDir")
        return [*rows, *cursor.fetchall()]
    finally:
        connection.close()


def test_thrift_refuses_a_client_without_the_secret_or_with_a_wrong_one(lakehouse: Lakehouse) -> None:
    from thrift.transport.TTransport import TTransportException

    log_before = server.log_file(lakehouse.settings).read_text(errors="replace")
    for login in ({}, {"auth": "CUSTOM", "password": "not-the-secret"}):
        with pytest.raises(TTransportException, match=REFUSED_LOGIN):  # refused at login: no statement ran
            thrift_answer(lakehouse, **login)

    answer = thrift_answer(lakehouse, auth="CUSTOM", password=secret_of(lakehouse))

    assert answer == [(7,), ("spark.lakehouse.dataDir", str(lakehouse.settings.data_path))]
    logged = server.log_file(lakehouse.settings).read_text(errors="replace")[len(log_before) :]
    assert "Refused a Thrift client of user reader: wrong secret" in logged  # PyHive sends "x" without one


USER_PYSPARK = """
import sys
from pyspark.sql import SparkSession
from pyspark.sql.connect.client.retries import DefaultPolicy
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
# pyspark retries an unreachable server (a failed TLS handshake is one) for 10 minutes: twice is enough here
spark.client.set_retry_policies([DefaultPolicy(max_retries=2, initial_backoff=100, max_backoff=200)])
try:
    print(spark.sql("select count(*) from range(7)").first()[0], spark.conf.get("spark.lakehouse.dataDir"))
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(3)
"""


def user_pyspark(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A user's own pyspark program (plain pyspark, as documented) connecting to ``url``."""
    clean = {key: value for key, value in os.environ.items() if key != SECRET_VARIABLE}
    return subprocess.run(
        [sys.executable, "-c", USER_PYSPARK, url],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_spark_connect_refuses_a_client_without_the_secret_or_with_a_wrong_one(lakehouse: Lakehouse) -> None:
    port, secret = lakehouse.settings.connect_port, secret_of(lakehouse)
    data_dir = str(lakehouse.settings.data_path)

    without = user_pyspark(f"sc://127.0.0.1:{port}")
    wrong = user_pyspark(f"sc://localhost:{port}/;token=not-the-secret")
    with_token = user_pyspark(f"sc://localhost:{port}/;token={secret}")
    from_environment = user_pyspark(f"sc://localhost:{port}", **{SECRET_VARIABLE: secret})

    assert without.returncode == 3 and "UNAUTHENTICATED" in without.stdout, without.stdout + without.stderr[-2000:]
    assert "No authentication token provided" in without.stdout and data_dir not in without.stdout
    assert wrong.returncode == 3 and "Invalid authentication token" in wrong.stdout, wrong.stdout + wrong.stderr[-2000:]
    assert data_dir not in wrong.stdout
    for done in (with_token, from_environment):
        assert (done.returncode, done.stdout.split()) == (0, ["7", data_dir]), done.stdout + done.stderr[-2000:]


def test_the_project_sends_the_secret_in_a_bearer_header_on_a_plain_channel(lakehouse: Lakehouse) -> None:
    """pyspark alone sends a token to 127.0.0.1 only over TLS, which the server does not speak; the project's
    clients (and the adapter's Python models) send it without TLS."""
    from dbt.adapters.spark_lakehouse.channel import session_builder
    from dbt.adapters.spark_lakehouse.outage import kept_for_the_process

    url = lakehouse.settings.connect_url
    tls_only = user_pyspark(f"{url}/;token={secret_of(lakehouse)}")
    session = kept_for_the_process(session_builder(url, secret_of(lakehouse)).create())
    try:
        answer = session.sql("select count(*) from range(7)").first()[0]
    finally:
        session.stop()

    assert tls_only.returncode == 3 and "Tls handshake failed" in tls_only.stdout, tls_only.stdout
    assert answer == 7


@contextmanager
def replaced_secret(house: Lakehouse) -> Iterator[Path]:
    """The lakehouse's secret file holding another secret until the block ends (the server keeps its own)."""
    path = secret_file(house.settings)
    original = path.read_text()
    path.write_text("0" * 64 + "\n")
    try:
        yield path
    finally:
        path.write_text(original)


def test_the_projects_clients_name_the_secret_the_server_refused(lakehouse: Lakehouse) -> None:
    with replaced_secret(lakehouse) as path:
        load = lakehouse.cli("validate", "bronze")
        dbt = lakehouse.dbt("run", "--select", "stg_kaggle__tracks")

    assert load.returncode == 1, load.stdout + load.stderr[-3000:]
    assert (
        f"serves this lakehouse but refused its secret (Invalid authentication token): {path} no longer holds the "
        "secret the server was started with" in load.stderr
    )
    assert "python -m spotify_analytics server stop && python -m spotify_analytics server start" in load.stderr
    assert "Traceback" not in load.stderr
    settings = lakehouse.settings
    assert dbt.returncode != 0
    assert (
        f"The Thrift server at {settings.lakehouse_host}:{settings.thrift_port} refused this profile's login "
        f"({REFUSED_LOGIN}): it sent the secret in {path}, which is not this server's. Nothing was run there."
        in dbt.stdout
    ), dbt.stdout[-3000:]
