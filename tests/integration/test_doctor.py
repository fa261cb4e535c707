"""``doctor`` finds what a crash leaves in a lakehouse, names it and what to do, and ``--repair`` mends it.

The faults are made for real in a database of their own on the session's lakehouse: a table whose latest Delta
commit was cut short (a disk that filled, a machine that stopped), a table folder no metastore entry owns (a
creation that was killed), and a temporary table of dbt's that a killed build left behind.
"""

import uuid
from collections.abc import Iterator

import pytest
from conftest import Lakehouse

from ingest.bronze.delta import database_folder
from ingest.lakehouse.identity import DATA_DIR_CONF

DATABASE = "doctor_probe"


@pytest.fixture(scope="module")
def broken(lakehouse: Lakehouse) -> Iterator[dict[str, str]]:
    """The three faults; their folders and names."""
    lakehouse.sql(f"create database if not exists {DATABASE} location '${{{DATA_DIR_CONF}}}/{DATABASE}'")
    folder = database_folder(lakehouse.session, DATABASE)
    lakehouse.sql(f"create table {DATABASE}.cut_short (n int) using delta")
    lakehouse.sql(f"insert into {DATABASE}.cut_short values (1), (2), (3)")
    lakehouse.sql(f"insert into {DATABASE}.cut_short values (4)")
    latest = folder / "cut_short" / "_delta_log" / f"{2:020d}.json"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])
    lakehouse.session.range(5).write.format("delta").save(str(folder / "unowned"))
    lakehouse.sql(f"create table {DATABASE}.listening_with_features__dbt_tmp (n int) using delta")
    yield {
        "cut_short": str(folder / "cut_short"),
        "unowned": str(folder / "unowned"),
        "temporary": f"{DATABASE}.listening_with_features__dbt_tmp",
    }
    lakehouse.sql(f"drop database if exists {DATABASE} cascade")


def lines_of(output: str, status: str) -> list[str]:
    """The lines of one status about this module's faults (other tests' leftovers are theirs to clean up)."""
    return [line for line in output.splitlines() if line.startswith(status.upper()) and DATABASE in line]


def test_doctor_names_each_fault_and_what_mends_it(lakehouse: Lakehouse, broken: dict[str, str]) -> None:
    checked = lakehouse.cli("doctor")

    assert checked.returncode == 1, checked.stdout + checked.stderr
    problems = lines_of(checked.stdout, "problem")
    assert any(
        f"{broken['cut_short']}: its latest commit 2 does not parse" in line and "doctor --repair" in line
        for line in problems
    ), problems
    assert any(f"{broken['unowned']}: no table owns this folder" in line for line in problems), problems
    assert any(f"{broken['temporary']}: left by a killed dbt run" in line for line in problems), problems
    assert len(problems) == 3, problems
    with pytest.raises(Exception, match=r"cut_short|00000000000000000002\.json"):  # unreadable until repaired
        lakehouse.sql(f"select count(*) from {DATABASE}.cut_short")


def test_repair_mends_them_keeping_every_committed_row(lakehouse: Lakehouse, broken: dict[str, str]) -> None:
    repaired = lakehouse.cli("doctor", "--repair")

    assert lines_of(repaired.stdout, "problem") == [], repaired.stdout + repaired.stderr
    assert len(lines_of(repaired.stdout, "repaired")) == 3, repaired.stdout
    assert lines_of(repaired.stdout, "problem") == []
    assert lakehouse.sql(f"select count(*) from {DATABASE}.unowned")[0][0] == 5
    assert lakehouse.sql(f"select count(*) from {DATABASE}.cut_short")[0][0] == 3  # as of the last whole commit
    assert not lakehouse.session.catalog.tableExists(broken["temporary"])

    again = lakehouse.cli("doctor")
    assert lines_of(again.stdout, "problem") == [], again.stdout


def test_a_killed_bronze_writers_record_is_named_and_repair_stops_its_work(lakehouse: Lakehouse) -> None:
    from ingest.bronze.writer import record_path
    from ingest.landing.store import write_json

    record = record_path(lakehouse.settings)
    write_json(record, {"session_id": str(uuid.uuid4()), "pid": 4242, "started_at": "2026-12-04T10:00:00+00:00"})

    checked = lakehouse.cli("doctor")
    repaired = lakehouse.cli("doctor", "--repair")

    killed = "a Bronze writer (pid 4242, started 2026-12-04T10:00:00+00:00) did not end well"
    assert f"OK        writer       {record}: {killed}: the next load stops" in checked.stdout, checked.stdout
    assert f"REPAIRED  writer       {record}: {killed}: stopped 0 operation(s)" in repaired.stdout, repaired.stdout
    assert not record.exists()
