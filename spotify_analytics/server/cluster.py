"""A Spark standalone cluster for the lakehouse server: its master and workers, run from pyspark's own jars.

pyspark ships Spark's deploy classes, so a cluster needs no other download: ``spark-class`` runs the master
(``org.apache.spark.deploy.master.Master``) and each worker (``…deploy.worker.Worker``); the lakehouse server then
drives it with ``SPARK_MASTER=spark://HOST:PORT``. Every daemon reads ``spark.authenticate`` and the lakehouse
secret from the private properties file (``ingest.lakehouse.secret``), so only processes that hold the secret can
register with the master, run executors or talk to them; the worker hands the secret to its executors in their
environment. Master, workers and server must therefore see the same data directory (a shared file system or the
same mount in every container), which the executors need anyway: they read and write the tables there.
"""

from dataclasses import dataclass
from pathlib import Path

from ingest.config import Settings
from ingest.lakehouse.secret import write_spark_properties
from spotify_analytics.server.command import spark_home

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
# Spark's own defaults
MASTER_PORT = 7077
MASTER_WEBUI_PORT = 8080
WORKER_WEBUI_PORT = 8081


@dataclass(frozen=True)
class Worker:
    master_url: str
    host: str
    cores: int
    memory: str
    webui_port: int
    work_dir: Path


def _spark_class(main_class: str) -> list[str]:
    return [str(spark_home() / "bin" / "spark-class"), main_class]


def master_command(settings: Settings, host: str, port: int, webui_port: int) -> list[str]:
    return [
        *_spark_class(MASTER_CLASS),
        "--host",
        host,
        "--port",
        str(port),
        "--webui-port",
        str(webui_port),
        "--properties-file",
        str(write_spark_properties(settings)),
    ]


def worker_command(settings: Settings, worker: Worker) -> list[str]:
    return [
        *_spark_class(WORKER_CLASS),
        "--host",
        worker.host,
        "--cores",
        str(worker.cores),
        "--memory",
        worker.memory,
        "--webui-port",
        str(worker.webui_port),
        "--work-dir",
        str(worker.work_dir),
        "--properties-file",
        str(write_spark_properties(settings)),
        worker.master_url,
    ]


def default_work_dir(settings: Settings, host: str) -> Path:
    """Where a worker keeps its executors' folders and logs: under the data directory, closed to other accounts."""
    return settings.server_dir / "workers" / host
