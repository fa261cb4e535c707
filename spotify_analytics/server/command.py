"""The spark-submit command line that starts the lakehouse server, built from Settings."""

import os
import re
import socket
import sys
from pathlib import Path

from ingest.config import Settings
from ingest.lakehouse.identity import DATA_DIR_CONF, ID_CONF, ensure_lakehouse_id
from ingest.lakehouse.secret import SECRET_VARIABLE, ensure_secret, write_spark_properties
from spotify_analytics.server import authenticator

CONF_DIR = Path(__file__).parent / "conf"
THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"


def spark_home() -> Path:
    """The pip-installed pyspark package folder, which carries bin/spark-submit and the jars."""
    import pyspark

    return Path(pyspark.__file__).parent


def spark_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_CONF_DIR=str(CONF_DIR),
        SPARK_LOCAL_IP=settings.lakehouse_bind_host,
        PYSPARK_PYTHON=env.get("PYSPARK_PYTHON", sys.executable),
    )
    return env


def server_env(settings: Settings) -> dict[str, str]:
    """The server's environment: Spark's, plus the lakehouse secret that both ports require (``secret``)."""
    return {**spark_env(settings), SECRET_VARIABLE: ensure_secret(settings)}


# Hive's function registry needs hive-llap-common, which pyspark 4 no longer ships (SPARK-51029): the Thrift server
# initialises the registry when it closes a session on a worker thread without a Hive object of its own, and without
# the jar that close fails with NoClassDefFoundError LlapSigner$Signable. Its jar alone, as Spark 3 shipped it: its
# required dependencies are jars pyspark carries (its Hadoop and Tez dependencies are optional).
HIVE_LLAP_COMMON = "org.apache.hive:hive-llap-common"
HIVE_LLAP_COMMON_CARRIED = (
    "org.apache.hive:hive-common",
    "org.apache.hive:hive-serde",
    "org.apache.commons:commons-lang3",
)


def hive_version() -> str:
    """The Hive version pyspark's own Hive jars carry (``hive-common-<version>.jar``)."""
    jars = sorted((spark_home() / "jars").glob("hive-common-*.jar"))
    if not jars:
        raise FileNotFoundError(f"pyspark carries no hive-common jar in {spark_home() / 'jars'}")
    return _version(jars[0].name)


def jar_packages(settings: Settings) -> str:
    """The Maven coordinates fetch-jars resolves: Delta's package and hive-llap-common."""
    return f"{settings.delta_package},{HIVE_LLAP_COMMON}:{hive_version()}"


def resolve_confs(settings: Settings) -> dict[str, str]:
    """Ivy resolution of ``jar_packages`` into the project-local cache (fetch-jars only)."""
    return {
        "spark.jars.packages": jar_packages(settings),
        "spark.jars.excludes": ",".join(HIVE_LLAP_COMMON_CARRIED),
        "spark.jars.ivy": str(settings.path(settings.ivy_dir)),
    }


JAR_NAME = re.compile(r"^(?P<artifact>.*?)-(?P<version>\d[\w.\-]*)\.jar$")


def _artifact(jar_name: str) -> str:
    match = JAR_NAME.match(jar_name)
    return match["artifact"] if match else jar_name


def _version(jar_name: str) -> str:
    match = JAR_NAME.match(jar_name)
    return match["version"] if match else ""


def delta_jars(settings: Settings) -> list[Path]:
    """The resolved jars that pyspark does not ship already (Delta and its own dependencies, hive-llap-common).

    Ivy names them ``<group>_<artifact>-<version>.jar``; a jar whose artifact pyspark carries in
    another version is left out, so Spark's own versions win."""
    ivy_jars = settings.path(settings.ivy_dir) / "jars"
    shipped = {_artifact(jar.name) for jar in (spark_home() / "jars").glob("*.jar")}
    jars = sorted(ivy_jars.glob("*.jar"))
    return [jar for jar in jars if _artifact(jar.name.split("_", 1)[-1]) not in shipped]


def delta_confs(settings: Settings) -> dict[str, str]:
    """Delta Lake: its jars on the driver's class path (the Thrift server's sessions load classes
    from there, not from spark.jars) and for executors, plus the SQL extension and catalog."""
    jars = delta_jars(settings)
    needed = ("io.delta_delta-spark", HIVE_LLAP_COMMON.replace(":", "_"))
    missing = [name for name in needed if not any(jar.name.startswith(name) for jar in jars)]
    if missing:
        raise FileNotFoundError(
            f"Jars the server needs are not in {settings.path(settings.ivy_dir) / 'jars'}: {', '.join(missing)}. "
            "Fetch them once with: python -m spotify_analytics server fetch-jars (make setup does it)"
        )
    return {
        "spark.driver.extraClassPath": os.pathsep.join(str(jar) for jar in jars),
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    }


def driver_host(settings: Settings) -> str:
    """Where executors reach the driver: in-process on a local master; on a cluster, an address of this
    machine that the cluster can resolve (the bind address may be 0.0.0.0, which names no host)."""
    if settings.spark_driver_host:
        return settings.spark_driver_host
    if settings.spark_master.startswith("local"):
        return "127.0.0.1"
    return socket.gethostname()


# The JIT's optimising compiler (C2) takes a method once it has run about 5,000 times (Java's default): Spark's own
# code (the optimizer's rules, Delta's log replay, the SQL functions) gets there within a new server's first minutes,
# and compiling it took half of the server's CPU over a small pipeline run (78 CPU-s in the compiler threads, 5,850
# plays). Ten times those thresholds leave to C2 the code that keeps running and the rest with C1's quicker code:
# the same run took 18 % less of the server's CPU, and a full build of 1M plays (W2) was no slower
# (docs/benchmarks.md). The cluster's executors run with them too.
JIT_OPTIONS = (
    "-XX:Tier4InvocationThreshold=50000 -XX:Tier4MinInvocationThreshold=6000 -XX:Tier4CompileThreshold=60000 "
    "-XX:Tier4BackEdgeThreshold=400000"
)


def server_confs(settings: Settings) -> dict[str, str]:
    data = settings.data_path
    metastore = data / "metastore_db"
    delta = delta_confs(settings)
    auth_classes = authenticator.compiled(settings, spark_home() / "jars")
    return {
        **delta,
        "spark.driver.extraClassPath": os.pathsep.join((delta["spark.driver.extraClassPath"], str(auth_classes))),
        "spark.app.name": "spotify-lakehouse",
        "spark.executor.extraJavaOptions": JIT_OPTIONS,
        DATA_DIR_CONF: str(data),
        ID_CONF: ensure_lakehouse_id(settings),
        "spark.plugins": CONNECT_PLUGIN,
        "spark.connect.grpc.binding.address": settings.lakehouse_bind_host,
        "spark.connect.grpc.binding.port": str(settings.connect_port),
        "spark.sql.warehouse.dir": str(data / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
        # The metastore holds a placeholder schema for Delta tables; its column-type check on every schema
        # change always fails and, in Spark 4 (no hive-llap-common jar), can break Hive's function registry,
        # after which closing a Thrift session fails with NoClassDefFoundError LlapSigner$Signable.
        "spark.hadoop.hive.metastore.disallow.incompatible.col.type.changes": "false",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        # Delta rebuilds a table's file list after each commit in this many tasks (default 50): on a few
        # cores, 50 tasks made the first read after every write take ~4.5 s instead of ~0.6 s.
        "spark.databricks.delta.snapshotPartitions": str(settings.spark_shuffle_partitions),
        # Delta's VACUUM lists a table's files in this many tasks (Spark's default 10,000, meant for partition
        # discovery on a cluster): on 2 cores a VACUUM of a 37-file table took 18-40 s, with 4 tasks 2 s.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.spark_shuffle_partitions),
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.driver.bindAddress": settings.lakehouse_bind_host,
        "spark.driver.host": driver_host(settings),
        "spark.hadoop.hive.server2.thrift.port": str(settings.thrift_port),
        "spark.hadoop.hive.server2.thrift.bind.host": settings.lakehouse_bind_host,
    }


def server_command(settings: Settings) -> list[str]:
    derby_home = settings.data_path
    command = [
        str(spark_home() / "bin" / "spark-submit"),
        "--class",
        THRIFT_SERVER_CLASS,
        "--master",
        settings.spark_master,
        "--driver-memory",
        settings.spark_driver_memory,
        # spark.authenticate and its secret: from a private file, as a command line is readable by every account
        "--properties-file",
        str(write_spark_properties(settings)),
        "--driver-java-options",
        # A JVM out of heap exits at once (its log says so) rather than limp on with dead threads while its
        # clients wait.
        f"-Dderby.system.home={derby_home} -Dderby.stream.error.file={settings.server_dir / 'derby.log'} "
        f"-XX:+ExitOnOutOfMemoryError {JIT_OPTIONS}",
    ]
    for key, value in server_confs(settings).items():
        command += ["--conf", f"{key}={value}"]
    for key, value in thrift_server_hiveconf(settings).items():
        command += ["--hiveconf", f"{key}={value}"]
    return [*command, "spark-internal"]


def thrift_server_hiveconf(settings: Settings) -> dict[str, str]:
    """HiveServer2's own settings. dbt's statements run on its background pool, which starts a new thread
    for each statement while it holds fewer than `async.exec.threads` (100 by default) and ends threads idle
    for the keep-alive (10 s): nearly every statement ran on a new thread, for which the metastore built a
    new HiveConf and object store (6% of the server's CPU in a 6-hourly refresh). A small pool that keeps
    its threads reuses them."""
    return {
        "hive.server2.thrift.port": str(settings.thrift_port),
        "hive.server2.thrift.bind.host": settings.lakehouse_bind_host,
        # A client's password must be the lakehouse secret (auth/SecretAuthenticator.java)
        "hive.server2.authentication": "CUSTOM",
        "hive.server2.custom.authentication.class": authenticator.CLASS_NAME,
        "hive.server2.async.exec.threads": str(settings.thrift_statement_threads),
        "hive.server2.async.exec.keepalive.time": "86400s",
    }


def jar_fetch_command(settings: Settings, script: Path) -> list[str]:
    """spark-submit of a no-op script: resolves the Delta packages into the Ivy cache and exits."""
    command = [str(spark_home() / "bin" / "spark-submit")]
    for key, value in resolve_confs(settings).items():
        command += ["--conf", f"{key}={value}"]
    return [*command, str(script)]
