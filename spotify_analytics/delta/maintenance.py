"""Work on the lakehouse's tables that no pipeline run and no Bronze writer may overlap (a withdrawal, a restore).

``maintenance_session`` takes the pipeline's run lock without waiting (``PipelineBusy`` names the run that holds
it: the work is refused, nothing is changed) and holds it for the whole block, so no scheduled run starts
meanwhile (it exits 75 and runs next time); then it waits for the Bronze writer's lock (a ``load`` started by hand
ends first) and yields that writer's session.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ingest.bronze.writer import bronze_writer
from ingest.config import Settings
from spotify_analytics.pipeline.lock import PipelineBusy, pipeline_lock
from spotify_analytics.pipeline.run import EXIT_BUSY, lock_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["EXIT_BUSY", "PipelineBusy", "maintenance_session"]


@contextmanager
def maintenance_session(settings: Settings, what: str) -> Iterator["SparkSession"]:
    """The Bronze writer's session, with the pipeline's run lock (taken without waiting) and the writer's lock
    held for the block; ``what`` names the holder in the lock file (``participants withdraw``)."""
    with pipeline_lock(lock_path(settings), what), bronze_writer(settings) as spark:
        yield spark
