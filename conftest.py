"""Test session fixtures: one real lakehouse server for the session, on free ports and a fresh data dir, shared
by the project's tests (tests/integration) and the adapter plugin's (adapter/tests).

The server, the CLI and dbt run exactly as a user runs them (``python -m spotify_analytics …``, ``dbt …``); only
ports and the data directory differ, so a test run never touches a developer's own lakehouse.
"""

import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Settings
from spotify_analytics.pipeline.steps import STEPS
from spotify_analytics.server import process as server

REPO = Path(__file__).resolve().parent
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
KAGGLE_SAMPLE = SHARED_DATA / "kaggle_spotify_tracks" / "dataset_sample_10k.csv"
EXPORTS = Path(os.environ.get("SPOTIFY_EXPORTS_DIR", SHARED_DATA / "spotify_exports"))
# A small real workload for modules that build a lakehouse of their own: one real export file and the first tracks
# of the Kaggle sample (small_workload).
SMALL_EXPORT = EXPORTS / "hobbies-w-erin__Spotify-Account-Data" / "StreamingHistory_music_1.json"
SMALL_EXPORT_PLAYS = 5850  # its records (the exports' README), every one a play
SMALL_CATALOG_TRACKS = 2000
NO_CREDENTIALS = {"CLIENT_ID": "", "CLIENT_SECRET": ""}  # poll says "skipped", as on a fresh install
EXIT_POLL_FAILED = 69  # the documented exit code for "built, but some polls failed" (docs/operations.md)
COMMAND_TIMEOUT = 600.0  # seconds any one command of a test may take (a pipeline run on the real exports: ~3 min)
# Seconds a test's setup, call or teardown may take: more than any command it runs (docs/testing.md).
STEP_NAMES = ["server", *(step.name for step in STEPS)]  # the rows of a run in ops.pipeline_runs
PHASE_TIMEOUT = int(os.environ.get("PHASE_TIMEOUT", "1500"))


TEST_PORTS_PER_SESSION = 12_000  # ports below the kernel's ephemeral range the test servers take theirs from


def _ports_of_this_worker() -> Iterator[int]:
    """Ports for this test process's servers, in a slice of the ports below the kernel's ephemeral range that is this
    xdist worker's alone, from a random start, never the same twice. A port from ``bind(("127.0.0.1", 0))`` lies in
    the ephemeral range: while a test's server is down between a kill and its restart, an outgoing connection may
    take it as its source port, and another worker may be handed it for a server of its own, which then answers on
    the restarted server's port. Below the range and in a worker's own slice neither can happen."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    size = TEST_PORTS_PER_SESSION // workers
    first = low - TEST_PORTS_PER_SESSION + worker * size
    offset = random.randrange(size)
    for step in range(size):
        yield first + (offset + step) % size


_PORTS = _ports_of_this_worker()


def free_port() -> int:
    """A loopback port of this worker's (see ``_ports_of_this_worker``) that nothing holds now."""
    for port in _PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # held by a process of another session
                continue
            return port
    raise RuntimeError("This test process ran out of ports below the ephemeral range")


def lakehouse_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a lakehouse on its own ports and data directory."""
    return {
        "PROJECT_DIR": str(REPO),
        "DATA_DIR": str(data_dir),
        "THRIFT_PORT": str(free_port()),
        "CONNECT_PORT": str(free_port()),
        "KAGGLE_CSV": str(KAGGLE_SAMPLE),
        "DBT_TARGET_PATH": str(data_dir.parent / "dbt_target"),
        "DBT_LOG_PATH": str(data_dir.parent / "dbt_logs"),
        **extra,
    }


class Lakehouse:
    """A running test lakehouse: its settings, and the commands a user would type against it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.settings = settings_for(env)
        self._session: Any = None

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return run_command([*args], {**self.env, **(env or {})}, timeout)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "spotify_analytics", *args, env=env, timeout=timeout)

    def workload(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The benchmarks' workload generator (``python -m bench.workload``) against this lakehouse's settings."""
        return self.run(sys.executable, "-m", "bench.workload", *args)

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(Path(sys.executable).parent / "dbt"), *args)

    @property
    def session(self) -> Any:
        """This process's one Spark Connect session; tests share it and never stop it (the fixture does)."""
        from ingest.lakehouse.client import connect

        if self._session is None:
            self._session = connect(self.settings)
        return self._session

    def new_session(self) -> Any:
        """A new Spark Connect session on this lakehouse's server, sending its secret as every client of the project
        does; the caller stops it."""
        from dbt.adapters.spark_lakehouse.channel import session_builder
        from dbt.adapters.spark_lakehouse.outage import kept_for_the_process

        from ingest.lakehouse.secret import read_secret

        return kept_for_the_process(session_builder(self.settings.connect_url, read_secret(self.settings)).create())

    def sql(self, query: str) -> list:
        return self.session.sql(query).collect()

    def stop(self) -> None:
        """Close this process's Spark Connect session (else it retries against a stopped server), then
        stop the server."""
        if self._session is not None:
            self._session.stop()
            self._session = None
        self.cli("server", "stop")
        server.stop(self.settings)


def small_workload(root: Path, **extra: str) -> Lakehouse:
    """A lakehouse in ``root/data`` (not started) whose catalog is the Kaggle sample's first SMALL_CATALOG_TRACKS
    tracks and which has SMALL_EXPORT imported as listener ``erin``."""
    catalog = root / "catalog.csv"
    with KAGGLE_SAMPLE.open() as sample:
        catalog.write_text("".join(line for _, line in zip(range(SMALL_CATALOG_TRACKS + 1), sample, strict=False)))
    house = Lakehouse(lakehouse_env(root / "data", KAGGLE_CSV=str(catalog), **extra))
    imported = house.cli("import-history", "--user", "erin", str(SMALL_EXPORT))
    assert imported.returncode == 0 and f"({SMALL_EXPORT_PLAYS:,} records)" in imported.stdout, imported.stdout
    return house


def settings_for(env: dict[str, str]) -> Settings:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return Settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_command(
    command: list[str], env: dict[str, str], timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end, or fail the test with what it printed once ``timeout`` has passed."""
    try:
        return subprocess.run(
            command, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        printed = b"\n".join(output[-3000:] for output in (exc.stdout, exc.stderr) if output)
        pytest.fail(
            f"{shlex.join(command)} did not end within {timeout:.0f} s; it printed:\n{printed.decode(errors='replace')}"
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """A session stopped with SIGTERM (``timeout``, a CI runner) is interrupted as by Ctrl-C, so its fixtures stop
    the lakehouse servers they started (each in a session of its own, which SIGTERM to pytest does not reach)."""
    signal.signal(signal.SIGTERM, _interrupted)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class PhaseTimeout(Exception):
    """A test phase outlived PHASE_TIMEOUT: it fails with where it waited, and the session goes on."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with phase_deadline(item, "setup"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with phase_deadline(item, "call"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with phase_deadline(item, "teardown"):
        return (yield)


@contextmanager
def phase_deadline(item: pytest.Item, phase: str) -> Iterator[None]:
    """SIGALRM after PHASE_TIMEOUT raises PhaseTimeout in the main thread, wherever it waits (a lock, a socket):
    a hang fails that test with its traceback instead of holding the session until CI's limit."""

    def expired(signum: int, frame: object) -> None:
        raise PhaseTimeout(f"{item.nodeid}: {phase} did not end within {PHASE_TIMEOUT} s (PHASE_TIMEOUT)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(PHASE_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# `make test` runs two pytest-xdist workers (`-n 2`), each with a session lakehouse of its own, and gives each worker
# whole groups (``test_group``) in this order: the modules on the session's lakehouse make two groups, one per worker
# (LAKEHOUSE_A: the real exports' run and what reads it; every other module on it: the modules that set up tables of
# their own); then each module that starts a lakehouse of its own (OWN_LAKEHOUSE, in its order); then the adapter's
# suite, a module a group (ADAPTER_SUITE, each on the session lakehouse of the worker that takes it, in schemas of its
# own); then the modules on no lakehouse (NO_LAKEHOUSE), a module a group. A module runs whole in one worker, in file
# order. The order came from simulating the two workers on a fresh clone's durations (a worker takes the next group
# when its current one has two tests left, so the worker that takes the kill trials, two tests, takes the next group
# with them: the server deaths go first); the adapter's modules and the small ones at the end even out the two
# workers' ends (docs/testing.md).
LAKEHOUSE_A = (
    "tests/integration/test_first_run.py",
    "tests/integration/test_real_exports",
    "tests/integration/test_scheduled_runs.py",
    "tests/integration/test_shared_study.py",
    "tests/integration/test_superset.py",
)
OWN_LAKEHOUSE = (
    "tests/integration/test_server_death.py",
    "tests/integration/test_kill_trials.py",
)
ADAPTER_SUITE = "adapter/tests/"
NO_LAKEHOUSE = (
    "tests/unit/",
    "tests/integration/test_catalog_file.py",
    "tests/integration/test_docker_static.py",
    "tests/integration/test_docs_commands.py",
    "tests/integration/test_ingest_import.py",
    "tests/integration/test_ingest_spotify.py",
    "tests/integration/test_ingest_synthetic.py",
    "tests/integration/test_locks.py",
    "tests/integration/test_silver_gold_contract.py",
)


ADAPTER_GROUP = "lakehouse-adapter:"  # then the module


def test_group(nodeid: str) -> str:
    """The group a test runs in: ``lakehouse-a``, ``lakehouse-b``, ``lakehouse-adapter:<module>`` (on a worker's
    session lakehouse) or its module (on no session lakehouse, or on one of its own)."""
    module = nodeid.split("::", 1)[0]
    if module.startswith(LAKEHOUSE_A):
        return "lakehouse-a"
    if module.startswith(ADAPTER_SUITE):
        return ADAPTER_GROUP + module
    if module in OWN_LAKEHOUSE or module.startswith(NO_LAKEHOUSE):
        return module
    return "lakehouse-b"


def group_rank(group: str) -> int:
    """The group's place in the order above (the adapter's modules in file order, then every module on no
    lakehouse)."""
    order = ("lakehouse-a", "lakehouse-b", *OWN_LAKEHOUSE)
    if group in order:
        return order.index(group)
    return len(order) if group.startswith(ADAPTER_GROUP) else len(order) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The groups in the order above; within the first, modules marked ``runs_first`` run before all others: they
    need the session's lakehouse as a fresh clone has it (no plays yet). The order is otherwise unchanged."""
    on_session = {item.nodeid.split("::")[0] for item in items if "lakehouse" in item.fixturenames}
    outside = sorted(module for module in on_session if not test_group(module).startswith("lakehouse-"))
    if outside:
        raise pytest.UsageError(
            f"{', '.join(outside)} use the session lakehouse: take them out of OWN_LAKEHOUSE and NO_LAKEHOUSE"
        )
    items.sort(key=lambda item: (group_rank(test_group(item.nodeid)), item.get_closest_marker("runs_first") is None))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole groups (``test_group``) to each worker, in the collection's order. (pytest-xdist's ``--dist loadgroup``
    would group by ``xdist_group`` marks, but it names a test's group by rewriting ``item._nodeid``, which pytest 9.2
    no longer reads: its groups are ignored.)"""
    from xdist.scheduler import LoadScopeScheduling

    class LakehouseGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return test_group(nodeid)

    config.option.loadscopereorder = False  # keep the order above, not the largest group first
    return LakehouseGroups(config, log)


@pytest.fixture(scope="session")
def kaggle_sample() -> Path:
    if not KAGGLE_SAMPLE.is_file():
        pytest.fail(f"The real Kaggle sample is missing: {KAGGLE_SAMPLE} (set SHARED_DATA_DIR)")
    return KAGGLE_SAMPLE


@pytest.fixture(scope="session")
def lakehouse(tmp_path_factory: pytest.TempPathFactory, kaggle_sample: Path) -> Iterator[Lakehouse]:
    """The session's lakehouse server, started once and stopped at the end."""
    house = Lakehouse(lakehouse_env(tmp_path_factory.mktemp("session") / "data"))
    started = house.cli("server", "start")
    assert started.returncode == 0, started.stderr + started.stdout
    yield house
    house.stop()


@pytest.fixture(scope="session")
def spark_lakehouse_server(lakehouse: Lakehouse) -> dict[str, Any]:
    """The adapter plugin's tests (adapter/tests) run against the session's lakehouse: its profile keys."""
    from ingest.lakehouse.secret import secret_file

    settings = lakehouse.settings
    return {
        "host": settings.lakehouse_host,
        "port": settings.thrift_port,
        "connect_port": settings.connect_port,
        "secret_file": str(secret_file(settings)),
    }


@dataclass
class ScheduledRun:
    """The real exports imported, then two pipeline runs started as cron would overlap them, while the Spotify API
    is unreachable for the listeners authorised to poll it."""

    folders: list[Path]
    users: dict[str, str]  # export folder name -> the listener's user_id
    polled: list[str]  # the user_ids of the listeners authorised with auth, whose polls fail
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]  # started once the first held the lock
    first_was_running: bool  # when the second had already exited
    runs_added: int  # runs recorded in ops.pipeline_runs
    authorised: list[str]  # every listener with stored tokens when the runs started: `polled` and any a module before
    # authorised (each of whose polls fails too)


def pipeline_run_count(house: Lakehouse) -> int:
    if not house.sql("show databases like 'ops'") or not house.sql("show tables in ops like 'pipeline_runs'"):
        return 0
    return house.sql("select count(distinct run_id) as n from ops.pipeline_runs")[0].n


def run_id_of(stdout: str) -> str:
    """The run id a pipeline run prints first."""
    match = re.search(r"^Pipeline run (\S+) ", stdout, re.M)
    assert match, stdout[-3000:]
    return match[1]


def summary_rows(house: Lakehouse, run_id: str) -> list:
    """The run's rows of ops.pipeline_runs, a step each, in order."""
    return house.sql(
        "select step_number, step, status, exit_code, duration_seconds, run_status, message "
        f"from ops.pipeline_runs where run_id = '{run_id}' order by step_number"
    )


def gold_versions(house: Lakehouse) -> dict[str, int]:
    """Each Gold table's latest Delta version."""
    tables = [row.tableName for row in house.sql("show tables in gold") if not row.isTemporary]
    return {t: house.sql(f"describe history gold.{t} limit 1")[0].version for t in tables}


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


def authorised(settings: Settings, user_id: str) -> None:
    """Spotify tokens stored for the listener as ``auth`` stores them (an access token valid for an hour)."""
    from ingest.spotify.client import SCOPES
    from ingest.spotify.tokens import TokenFile
    from ingest.spotify.users import token_file

    token = {"access_token": f"AT-{user_id}", "token_type": "Bearer", "expires_in": 3600, "scope": SCOPES}
    TokenFile(token_file(settings, user_id)).save_token_to_cache(
        token | {"refresh_token": f"RT-{user_id}", "expires_at": int(time.time()) + 3600}
    )


@pytest.fixture(scope="session")
def real_exports_run(lakehouse: Lakehouse, tmp_path_factory: pytest.TempPathFactory) -> ScheduledRun:
    """Every folder of the real exports (``SPOTIFY_EXPORTS_DIR``) imported as the listener named after it, then
    ``python -m spotify_analytics pipeline`` as cron runs it, and a second run started while the first holds the lock.
    Two of the listeners are authorised to poll Spotify, whose API is unreachable (nothing listens at its address):
    the run must build what landed all the same (issue 29).

    One run serves two modules, so the session pays for this pipeline once: test_real_exports checks what it
    built, test_scheduled_runs how the runs excluded each other and what they recorded. Those modules sort
    next to each other (only modules that add their own listeners or tables run between them)."""
    from ingest.spotify.users import pseudonymous_user_id

    folders = sorted(path for path in EXPORTS.iterdir() if path.is_dir()) if EXPORTS.is_dir() else []
    if not folders:
        pytest.fail(f"The real Spotify exports are missing: {EXPORTS} (set SPOTIFY_EXPORTS_DIR or SHARED_DATA_DIR)")
    users = {}
    for folder in folders:
        done = lakehouse.cli("import-history", "--user", folder.name, str(folder))
        assert done.returncode == 0 and "0 refused" in done.stdout, done.stdout + done.stderr[-3000:]
        users[folder.name] = pseudonymous_user_id(lakehouse.settings, folder.name)
    polled = sorted(users.values())[:2]
    for user_id in polled:
        authorised(lakehouse.settings, user_id)
    with_tokens = sorted(
        path.parent.name for path in lakehouse.settings.ingest_state_path.glob("*/spotify_tokens.json")
    )
    unreachable = f"http://127.0.0.1:{closed_port()}"
    spotify_down = {
        "CLIENT_ID": "study-app",
        "CLIENT_SECRET": "study-secret",
        "SPOTIFY_API_BASE_URL": f"{unreachable}/v1/",
        "SPOTIFY_ACCOUNTS_URL": unreachable,
        "SPOTIFY_MAX_RETRIES": "1",
    }
    before = pipeline_run_count(lakehouse)
    logs = tmp_path_factory.mktemp("pipeline_runs")
    lock = lakehouse.settings.data_path / "pipeline.lock"
    lock.unlink(missing_ok=True)  # a lock file left by an earlier run must not pass for the first run's
    env = {**os.environ, **lakehouse.env, **spotify_down}
    with (logs / "out").open("w") as out, (logs / "err").open("w") as err:
        first = subprocess.Popen(
            [sys.executable, "-m", "spotify_analytics", "pipeline"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
            text=True,
        )
        deadline = time.monotonic() + 300
        while not (lock.exists() and lock.read_text().startswith("run ")):
            assert first.poll() is None, (logs / "err").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.2)
        second = lakehouse.cli("pipeline", env=NO_CREDENTIALS)
        first_was_running = first.poll() is None
        first.wait(timeout=COMMAND_TIMEOUT)
    completed = subprocess.CompletedProcess(
        first.args, first.returncode, (logs / "out").read_text(), (logs / "err").read_text()
    )
    runs_added = pipeline_run_count(lakehouse) - before
    return ScheduledRun(folders, users, polled, completed, second, first_was_running, runs_added, with_tokens)
