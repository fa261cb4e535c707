"""What a killed load leaves behind is finished by the next one (issue 22): a table folder whose creation was
interrupted, and a MERGE that another writer (a killed client's MERGE the server finished) committed before."""

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from conftest import REPO, Lakehouse
from grpc_proxy import SparkConnectProxy

from ingest.bronze.delta import (
    INCOMING_VIEW_PREFIX,
    INTERRUPTED_FOLDER,
    database_folder,
    ensure_bronze_database,
    ensure_table,
    merge_new_rows,
    merge_snapshot,
)
from ingest.bronze.schemas import SYNTHETIC_FEATURES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture
def table_name(lakehouse: Lakehouse) -> str:
    ensure_bronze_database(lakehouse.session)
    name = f"interrupted_{uuid.uuid4().hex[:8]}"
    yield name
    lakehouse.sql(f"drop table if exists bronze.{name}")
    shutil.rmtree(database_folder(lakehouse.session) / name, ignore_errors=True)  # a registered table is external


def synthetic_rows(track_ids: list[str]) -> pd.DataFrame:
    rows = pd.DataFrame({column: [None] * len(track_ids) for column in SYNTHETIC_FEATURES.column_names})
    rows["track_id"] = track_ids
    rows["source"] = "synthetic"
    rows["row_hash"] = [f"hash-{track_id}" for track_id in track_ids]
    return rows


def test_a_folder_with_commits_but_no_table_is_registered_with_its_rows(lakehouse: Lakehouse, table_name: str) -> None:
    folder = database_folder(lakehouse.session) / table_name
    lakehouse.session.createDataFrame(synthetic_rows(["t1", "t2", "t3"]), schema=SYNTHETIC_FEATURES.ddl).write.format(
        "delta"
    ).save(str(folder))  # the first commit is written, the metastore entry is not: CREATE TABLE was killed
    assert not lakehouse.session.catalog.tableExists(f"bronze.{table_name}")

    ensure_table(lakehouse.session, SYNTHETIC_FEATURES, name=table_name)

    assert lakehouse.sql(f"select count(*) from bronze.{table_name}")[0][0] == 3
    columns = lakehouse.session.table(f"bronze.{table_name}").columns
    assert columns == [*SYNTHETIC_FEATURES.column_names, "loaded_at"]  # the stamp column added as for older tables


def test_a_folder_without_any_commit_is_moved_aside_and_the_table_created(
    lakehouse: Lakehouse, table_name: str
) -> None:
    folder = database_folder(lakehouse.session) / table_name
    (folder / "_delta_log").mkdir(parents=True)
    (folder / "part-00000-half-written.snappy.parquet").write_bytes(b"PAR1")

    ensure_table(lakehouse.session, SYNTHETIC_FEATURES, name=table_name)

    assert lakehouse.sql(f"select count(*) from bronze.{table_name}")[0][0] == 0
    aside = [path.name for path in (folder.parent / INTERRUPTED_FOLDER).glob(f"{table_name}-*")]
    assert len(aside) == 1
    assert (folder.parent / INTERRUPTED_FOLDER / aside[0] / "part-00000-half-written.snappy.parquet").is_file()


def test_a_merge_leaves_no_view_of_its_rows_in_the_session(lakehouse: Lakehouse, table_name: str) -> None:
    """The server holds a temporary view's rows for its session's life: a long-lived session (a notebook's, the
    bench's) that kept one per load ran the server out of heap. Counts by hand: two new rows inserted, then a
    snapshot of one of them deletes the other."""
    table = dataclasses.replace(SYNTHETIC_FEATURES, name=table_name)
    ensure_table(lakehouse.session, table)
    session = lakehouse.new_session()
    try:
        inserted = merge_new_rows(session, table, synthetic_rows(["v-1", "v-2"])).inserted
        deleted = merge_snapshot(session, table, synthetic_rows(["v-1"])).deleted
        views = [view.name for view in session.catalog.listTables() if view.isTemporary]
    finally:
        session.stop()

    assert (inserted, deleted) == (2, 1)
    assert [view for view in views if view.startswith(INCOMING_VIEW_PREFIX)] == []


A_COMMAND = """
from ingest.config import Settings
from ingest.lakehouse.client import connect

spark = connect(Settings())
spark.range(3).createOrReplaceTempView("left_by_a_command")
print(spark.session_id, flush=True)
"""  # ends without stopping its session, as every command does


def test_a_command_releases_its_server_session_when_it_ends(lakehouse: Lakehouse) -> None:
    """The server would otherwise hold a command's session, and what its queries left (a load's uploaded rows, the
    plans of its queries), for its idle timeout of 60 minutes: a pipeline run's commands added up in its heap."""
    from ingest.lakehouse.client import connect
    from ingest.lakehouse.operations import GONE

    command = subprocess.run(
        [sys.executable, "-c", A_COMMAND],
        cwd=REPO, env={**os.environ, **lakehouse.env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert command.returncode == 0, command.stderr
    session_id = command.stdout.split()[-1]

    with pytest.raises(Exception, match="|".join(GONE)):  # before: the session, and its view of 3 rows, were there
        connect(lakehouse.settings, session_id=session_id).table("left_by_a_command").count()


def test_concurrent_merges_of_one_table_all_land_exactly_once(lakehouse: Lakehouse, table_name: str) -> None:
    table = dataclasses.replace(SYNTHETIC_FEATURES, name=table_name)
    ensure_table(lakehouse.session, table)
    # a killed client's MERGE and the next load's, with 10 rows in common: each is inserted by one of them only
    batches = [[f"w-{i}" for i in range(first, first + 20)] for first in (0, 10)]
    errors: list[BaseException] = []
    inserted: list[int] = []

    def write(session: "SparkSession", track_ids: list[str]) -> None:
        try:
            for start in range(0, len(track_ids), 5):  # several commits each, so the writers overlap
                inserted.append(merge_new_rows(session, table, synthetic_rows(track_ids[start : start + 5])).inserted)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            session.stop()

    clients = [lakehouse.new_session() for _ in batches]
    assert len({client.session_id for client in clients}) == len(batches)  # one server session each
    threads = [threading.Thread(target=write, args=args) for args in zip(clients, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rerun = merge_new_rows(lakehouse.session, table, synthetic_rows(batches[0]))

    assert errors == []
    assert (sum(inserted), rerun.inserted) == (30, 0)  # no writer counts the other's rows as its own
    present = {row[0] for row in lakehouse.sql(f"select track_id from bronze.{table_name}")}
    missing = sorted({track_id for batch in batches for track_id in batch} - present)
    assert missing == []
    assert tuple(lakehouse.sql(f"select count(*), count(distinct track_id) from bronze.{table_name}")[0]) == (30, 30)


KILLED_WRITER = """
import sys
from ingest.bronze.writer import bronze_writer
from ingest.config import Settings

with bronze_writer(Settings()) as spark:
    print("writing", flush=True)
    spark.sql(sys.argv[1])  # a write that would run for many minutes
"""
LONG_WRITE_SECONDS = 600  # at least: 10^12 rows counted on two cores


def start_killed_writer(lakehouse: Lakehouse, statement: str) -> subprocess.Popen[str]:
    """A Bronze writer that starts ``statement`` and is killed with SIGKILL 3 s later, while it runs."""
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, statement],
        cwd=REPO, env={**os.environ, **lakehouse.env}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    time.sleep(3)  # its INSERT has reached the server
    writer.kill()
    writer.wait(timeout=30)
    return writer


def test_what_a_killed_writer_left_running_is_stopped_before_the_next_writes(
    lakehouse: Lakehouse, table_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    from ingest.bronze.writer import bronze_writer, record_path

    lakehouse.sql(f"create table bronze.{table_name} (total bigint) using delta")
    statement = f"insert into bronze.{table_name} select count(*) from range(0, 1000000000000) where id % 7 = 3"
    start_killed_writer(lakehouse, statement)
    assert record_path(lakehouse.settings).is_file()  # the killed writer could not say it ended

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="ingest.bronze.writer"), bronze_writer(lakehouse.settings) as spark:
        stopped_after = time.monotonic() - started
        rows = spark.sql(f"select count(*) from bronze.{table_name}").first()[0]
        spark.stop()

    assert "Stopped 1 operation(s) on the lakehouse server that a killed Bronze writer" in caplog.text
    assert stopped_after < 60 < LONG_WRITE_SECONDS
    assert rows == 0  # the INSERT ended without committing
    assert not record_path(lakehouse.settings).exists()  # this writer ended well


def test_a_server_that_never_confirms_the_end_stops_the_writer_within_its_deadline(
    lakehouse: Lakehouse, table_name: str
) -> None:
    """A killed writer left a long INSERT running; the next writer reaches the server through a proxy that accepts
    the ReattachExecute stream (which tells when an operation has ended) and never answers. The writer gives up
    after WRITER_STOP_TIMEOUT, writing nothing, with one line saying what to do, and keeps the dead writer's record;
    the next writer that reaches the server directly stops the INSERT."""
    from ingest.bronze.writer import bronze_writer, record_path

    lakehouse.sql(f"create table bronze.{table_name} (total bigint) using delta")
    statement = f"insert into bronze.{table_name} select count(*) from range(0, 1000000000000) where id % 7 = 3"
    writer = start_killed_writer(lakehouse, statement)
    stop_timeout = 10

    with SparkConnectProxy(lakehouse.settings.connect_url.removeprefix("sc://"), hang={"ReattachExecute"}) as proxy:
        started = time.monotonic()
        done = lakehouse.cli(
            "load",
            "plays",
            env={"CONNECT_PORT": str(proxy.port), "WRITER_STOP_TIMEOUT": str(stop_timeout)},
            timeout=120,
        )
        seconds = time.monotonic() - started

    assert done.returncode == 1, done.stdout + done.stderr
    assert proxy.hung_calls >= 1  # the writer did wait on the stream
    assert seconds < stop_timeout + 30  # the deadline, plus starting Python and connecting
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"error: Could not confirm that the 1 operation(s) a killed Bronze writer (pid {writer.pid}, started "
    ), done.stderr
    assert (
        f"have ended: the server did not say so within {stop_timeout} s (WRITER_STOP_TIMEOUT). Nothing was written."
        in last
    )
    assert last.endswith(
        "Restart the server, which ends them (python -m spotify_analytics server stop && python -m spotify_analytics "
        "server start), or run python -m spotify_analytics doctor --repair; then run this command again."
    )
    assert "Traceback" not in done.stderr
    assert record_path(lakehouse.settings).is_file()  # the next writer must still stop what it left

    with bronze_writer(lakehouse.settings) as spark:
        rows = spark.sql(f"select count(*) from bronze.{table_name}").first()[0]
        spark.stop()
    assert rows == 0
    assert not record_path(lakehouse.settings).exists()
