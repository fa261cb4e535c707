"""One lakehouse per server: every client refuses a server that serves another data directory.

Two lakehouses on one machine: the session's (A) and one this module starts (B), each with its own data
directory, ports and secret. A client of A pointed at B's ports, as a second checkout on the default ports would be,
is refused by the CLI's loads, the quality gate, the report, dbt (through the adapter) and the pipeline, and a
client of B at A's ports likewise; no Delta table of either lakehouse changes, and B gets no table at all. Each
server refuses the other's secret; the CLI still names the other data directory (the server's command line, read
from /proc: both run under this account), dbt names the secret it sent.
"""

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Lakehouse, lakehouse_env
from dbt.adapters.spark_lakehouse.server_check import ServerMismatch, check_server_paths

from ingest.lakehouse.identity import LakehouseIdentity, identity_problem, read_lakehouse_id
from ingest.lakehouse.secret import secret_file

DBT = str(Path(sys.executable).parent / "dbt")


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lakehouse]:
    """Lakehouse B: its own data directory, ports and server, stopped at the end of the module."""
    house = Lakehouse(lakehouse_env(tmp_path_factory.mktemp("other_checkout") / "data"))
    started = house.cli("server", "start")
    assert started.returncode == 0, started.stderr[-3000:]
    yield house
    house.stop()


def ports_of(server: Lakehouse) -> dict[str, str]:
    """What a checkout without ports of its own uses: the other lakehouse's ports."""
    return {"THRIFT_PORT": server.env["THRIFT_PORT"], "CONNECT_PORT": server.env["CONNECT_PORT"]}


def delta_commits(data_dir: Path) -> set[Path]:
    """Every Delta commit of every table of a lakehouse: a write anywhere adds one."""
    return set(data_dir.rglob("_delta_log/*.json"))


def assert_refused(done, client: Lakehouse, server: Lakehouse) -> str:
    """Refused with a message naming both data directories and both ways out."""
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert str(server.settings.data_path) in output and str(client.settings.data_path) in output, output[-3000:]
    assert "python -m spotify_analytics server stop" in output
    assert "THRIFT_PORT" in output and "CONNECT_PORT" in output
    return output


def test_neither_lakehouse_can_write_into_the_other(lakehouse: Lakehouse, other: Lakehouse, tmp_path: Path) -> None:
    mine, theirs = lakehouse.settings.data_path, other.settings.data_path
    before = {mine: delta_commits(mine), theirs: delta_commits(theirs)}
    their_id = read_lakehouse_id(other.settings)
    assert their_id and their_id != read_lakehouse_id(lakehouse.settings)
    foreign = f"serves another data directory: {theirs} (lakehouse id {their_id}), not this checkout's {mine}"

    for command in (("load", "catalog"), ("validate", "bronze"), ("report", "--out", str(tmp_path / "report"))):
        output = assert_refused(lakehouse.cli(*command, env=ports_of(other)), lakehouse, other)
        assert foreign in output, command
    assert not (tmp_path / "report").exists()
    # B refuses A's secret before dbt can ask it anything: dbt names A's secret and the ways out, not B's directory.
    dbt = lakehouse.run(DBT, "run", "--select", "stg_kaggle__tracks", env=ports_of(other))
    output = dbt.stdout + dbt.stderr
    assert dbt.returncode != 0, output[-3000:]
    sent = secret_file(lakehouse.settings)
    refused = f"refused this profile's login (Error validating the login): it sent the secret in {sent}, which is not"
    assert f"{refused} this server's. Nothing was run there." in output, output[-3000:]
    assert "python -m spotify_analytics server stop" in output and "THRIFT_PORT and CONNECT_PORT" in output
    pipeline = lakehouse.cli("pipeline", env={**ports_of(other), "CLIENT_ID": "", "CLIENT_SECRET": ""})
    assert pipeline.returncode == 1 and foreign in pipeline.stderr, pipeline.stderr[-3000:]
    backwards = assert_refused(other.cli("load", "catalog", env=ports_of(lakehouse)), other, lakehouse)
    assert f"serves another data directory: {mine}" in backwards

    assert delta_commits(mine) == before[mine]
    assert delta_commits(theirs) == before[theirs] == set()  # B has no table at all
    assert not [name for name in ("bronze", "staging", "ops", "quality") if (theirs / name).exists()]


def test_server_start_and_status_name_the_other_lakehouse(other: Lakehouse, tmp_path: Path) -> None:
    """A new checkout whose ports are the other lakehouse's: its server does not run, the other one answers."""
    their_id = read_lakehouse_id(other.settings)
    fresh = Lakehouse(lakehouse_env(tmp_path / "fresh_checkout" / "data", **ports_of(other)))

    status = other.cli("server", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"serving {other.settings.data_path} (lakehouse id {their_id})" in status.stdout

    start = fresh.cli("server", "start")
    assert "already running" not in start.stdout
    assert_refused(start, fresh, other)
    fresh_status = fresh.cli("server", "status")
    assert fresh_status.returncode == 3
    assert f"not running for {fresh.settings.data_path}" in fresh_status.stdout
    taken = f"taken by the lakehouse server of {other.settings.data_path} (lakehouse id {their_id})"
    assert taken in fresh_status.stdout


def test_the_same_path_holding_another_lakehouse_is_refused(lakehouse: Lakehouse) -> None:
    """Containers mount ./data at /app/data: the path alone cannot tell two lakehouses apart, their ids can."""
    settings = lakehouse.settings
    own_id = read_lakehouse_id(settings)
    same = LakehouseIdentity(str(settings.data_path), own_id)
    assert identity_problem(settings, same, "here") is None
    another = identity_problem(settings, LakehouseIdentity(str(settings.data_path), "0" * 32), "here")
    assert another and "at the same path but another lakehouse" in another and own_id in another
    older = identity_problem(settings, LakehouseIdentity(str(settings.data_path), None), "here")
    assert older and "python -m spotify_analytics server stop && python -m spotify_analytics server start" in older
    unknown = identity_problem(settings, LakehouseIdentity(None, None), "here")
    assert unknown and "not a lakehouse server of this project" in unknown


def test_the_adapter_compares_real_paths_relative_to_where_dbt_runs(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "project" / "data").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    served = {"spark.lakehouse.dataDir": str(tmp_path / "link" / "data")}

    check_server_paths({"spark.lakehouse.dataDir": "data"}, served.get, "server-a:1")  # the same folder
    expected = tmp_path / "project" / "elsewhere"
    with pytest.raises(ServerMismatch, match=re.escape(f"expects {expected} (expected_server_paths)")):
        check_server_paths({"spark.lakehouse.dataDir": "elsewhere"}, served.get, "server-b:1", "Stop it here.")
    with pytest.raises(ServerMismatch, match=r"serves spark.other = \(not set\)"):
        check_server_paths({"spark.other": "data"}, served.get, "server-c:1")
