"""The pipeline's upkeep (``maintain``): a table that gathered many small files is compacted, and VACUUM never removes
a version within the promised retention (TIME_TRAVEL_DAYS, never under Delta's 7 days); with nothing due, nothing is
done. On a table of its own in a database of its own of the session's lakehouse (``maintain TABLE`` keeps to it).
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Lakehouse

from spotify_analytics.maintenance.tables import OPTIMIZE_AFTER_COMMITS, state_path
from spotify_analytics.server.command import DATA_DIR_CONF

DATABASE = "maintenance_test"
TABLE = f"{DATABASE}.small_files"
COMMITS = OPTIMIZE_AFTER_COMMITS + 4  # one file each: a refresh's small MERGE, many times over


@pytest.fixture(scope="module")
def small_files(lakehouse: Lakehouse) -> Lakehouse:
    """A table of COMMITS appends of one row each (version 0 creates it): COMMITS files."""
    lakehouse.sql(f"drop database if exists {DATABASE} cascade")
    lakehouse.sql(f"create database {DATABASE} location '${{{DATA_DIR_CONF}}}/{DATABASE}'")
    lakehouse.sql(f"create table {TABLE} (n int, label string) using delta")
    for n in range(COMMITS):
        lakehouse.sql(f"insert into {TABLE} values ({n}, 'row {n}')")
    yield lakehouse
    lakehouse.sql(f"drop database if exists {DATABASE} cascade")


def files(lakehouse: Lakehouse) -> int:
    return lakehouse.sql(f"describe detail {TABLE}")[0].numFiles


def rows_at(lakehouse: Lakehouse, version: int) -> list[tuple[int, str]]:
    return sorted(tuple(row) for row in lakehouse.sql(f"select n, label from {TABLE} version as of {version}"))


def rows_by_version(lakehouse: Lakehouse, versions: tuple[int, ...]) -> dict[int, list[tuple[int, str]]]:
    """The rows at each of ``versions``, read in one query (a time-travel read per version, united)."""
    each = " union all ".join(f"select {v} as v, n, label from {TABLE} version as of {v}" for v in versions)
    read: dict[int, list[tuple[int, str]]] = {v: [] for v in versions}
    for row in lakehouse.sql(each):
        read[row.v].append((row.n, row.label))
    return {v: sorted(rows) for v, rows in read.items()}


def test_many_small_files_are_compacted_and_a_young_table_is_not_vacuumed(small_files: Lakehouse) -> None:
    before = files(small_files)
    assert before == COMMITS

    done = small_files.cli("maintain", TABLE, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert f"{TABLE}: OPTIMIZE {COMMITS} -> 1 files\n" in done.stdout, (
        done.stdout
    )  # no VACUUM: the table is minutes old
    assert files(small_files) == 1
    latest = small_files.sql(f"describe history {TABLE} limit 1")[0]
    assert latest.operation == "OPTIMIZE"
    assert rows_at(small_files, latest.version) == rows_at(small_files, latest.version - 1)  # the same rows
    recorded = json.loads(state_path(small_files.settings).read_text())[TABLE]
    assert recorded["optimized_at_commit"] == latest.version


def test_vacuum_a_week_on_keeps_every_version_within_the_retention(small_files: Lakehouse) -> None:
    """The upkeep a week and a day from now (its clock; Delta's retention counts the real one): the table is older
    than TIME_TRAVEL_DAYS then, so VACUUM runs, keeping 7 days, and deletes no file: every version since the
    table's creation (minutes ago, so within them) still reads, each with the rows appended up to it (by hand:
    version v holds rows 0 .. v-1). Read: the first, one in the middle and the last before OPTIMIZE (a time-travel
    read of each of the 36 took a minute; a deleted file would break the earliest first)."""
    from ingest.lakehouse.client import connect
    from spotify_analytics.maintenance.tables import maintain_tables

    later = datetime.now(UTC) + timedelta(days=8)

    [upkeep] = maintain_tables(connect(small_files.settings), small_files.settings, now=later, only=[TABLE])

    assert (upkeep.vacuumed, upkeep.kept_days, upkeep.files_deleted) == (True, 7, 0)
    history = {row.operation: row.version for row in small_files.sql(f"describe history {TABLE}")}
    assert history["VACUUM END"] > history["OPTIMIZE"]
    versions = (1, COMMITS // 2, COMMITS)
    assert rows_by_version(small_files, versions) == {v: [(n, f"row {n}") for n in range(v)] for v in versions}
    assert rows_at(small_files, history["OPTIMIZE"]) == rows_at(small_files, COMMITS)


def test_nothing_due_is_said_and_nothing_is_done(small_files: Lakehouse) -> None:
    version = small_files.sql(f"describe history {TABLE} limit 1")[0].version

    again = small_files.cli("maintain", TABLE, timeout=300)

    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert again.stdout.strip().endswith("maintain: nothing due"), again.stdout
    assert small_files.sql(f"describe history {TABLE} limit 1")[0].version == version


def test_a_retention_under_the_time_travel_floor_is_refused(small_files: Lakehouse) -> None:
    refused = small_files.cli("maintain", TABLE, env={"TIME_TRAVEL_DAYS": "1"}, timeout=120)

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "TIME_TRAVEL_DAYS: Input should be greater than or equal to 7" in refused.stderr


def test_an_unknown_table_is_named(small_files: Lakehouse) -> None:
    unknown = small_files.cli("maintain", f"{DATABASE}.no_such_table", timeout=120)

    assert unknown.returncode == 1
    assert f"error: No Delta table {DATABASE}.no_such_table under {small_files.settings.data_path}" in unknown.stderr
