"""Kill -9 trials (issues 22 and 29): a ``load all`` killed at a random moment, or its server, is finished or undone by
one plain rerun, which leaves Bronze exactly as if nothing had been killed; a load whose server is killed ends within
60 s of the death with one line naming the server, what the load was doing and the commands that recover.

One lakehouse of its own; its catalog is the first 2,000 lines of the real Kaggle sample, its plays a real classic
export's music file (10,000 records) cut into 9 parts, landed one part per load as one listener's exports. The
first two parts are loaded without interruption (every Bronze table is created by the first). Each trial lands the
next part, starts ``load all``, kills the client or the server with SIGKILL at a random moment of the load (where the
server was killed, the load must end within 60 s with exit code 1 and the one line, no traceback), starts the server
again where it was the one killed (as a user, cron's next run or compose would), and runs one plain ``load all``,
which must exit 0 and leave:

- the listener's plays: one row per landed record of every part so far, no key twice (the parts together hold the
  10,000 records, the README's count of the file; the last parts are landed only by made-up server kills);
- the catalog, the other Bronze tables: as the first load left them, rows, keys and a checksum of the keys.

Some trials first empty Bronze (tables, folders, the loads' state: a fresh lakehouse, whose load creates every
table and reads every landed part again). The trials' table (what was killed, when, what the load was doing, how
the rerun went) is printed with any failure and written to ``$KILL_TRIALS_REPORT`` when set; ``KILL_TRIALS_SEED``
replays a series.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from conftest import EXPORTS, KAGGLE_SAMPLE, NO_CREDENTIALS, REPO, Lakehouse, lakehouse_env

from ingest.bronze.schemas import BRONZE_TABLES, LISTENING_HISTORY
from spotify_analytics.server import process as server

MUSIC_FILE = EXPORTS / "hobbies-w-erin__Spotify-Account-Data" / "StreamingHistory_music_0.json"
MUSIC_RECORDS = 10_000  # the exports' README: every record a play, no duplicate
CATALOG_ROWS = 2_000


@dataclass(frozen=True)
class Plan:
    killed: Literal["client", "server"]
    from_empty_bronze: bool = False


# 5 trials: 1 kills the load, 4 its server (each then loads on a cold server: 30 s more); the first two on an empty
# Bronze (a first load: every table being created; the client's killed load leaves its operations running on the
# server for the rerun to stop). The client kill must find the load still running, and SERVER_KILLS_DURING_A_LOAD
# server kills must: a server kill whose random moment fell after a fast load's end is made up for by one more (at
# most EXTRA_SERVER_KILLS more). The seed's moments (fractions of a load's time: 0.58, then 0.11, 0.33, 0.34, 0.19)
# fall in its first half to three quarters; the made-up kills' at 0.31 and 0.33.
TRIALS = (
    Plan("client", from_empty_bronze=True),
    Plan("server", from_empty_bronze=True),
    Plan("server"),
    Plan("server"),
    Plan("server"),
)
SERVER_KILLS_DURING_A_LOAD = 4
EXTRA_SERVER_KILLS = 2
PARTS = len(TRIALS) + EXTRA_SERVER_KILLS + 2  # two loaded without interruption (the reference), then one per trial
SEED = int(os.environ.get("KILL_TRIALS_SEED", "181"))
CLIENT_GONE_WITHIN = 60.0  # seconds from the server's death to its client's exit (issues 22 and 29)
LOAD_DEADLINE = 240.0  # seconds any one load of a trial may take (an uninterrupted one takes 10-40 s)
RECOVERY_SIGNS = ("Stopped ", "registered ", "moved ", "merging again", "Repartition")


@dataclass
class Trial:
    number: int
    plan: Plan
    at: float  # seconds after the load started
    doing: str  # the killed load's last log line
    client_exit: str  # the killed load's end: "SIGKILL", or its exit code and seconds after the server's death
    said: str = ""  # a load whose server was killed: its last line
    rerun_exit: int = -1
    rerun_seconds: float = 0.0
    rerun_said: str = ""  # what the rerun reported recovering
    exact: bool = False

    def row(self) -> str:
        killed = self.plan.killed + (", empty Bronze" if self.plan.from_empty_bronze else "")
        cells = (
            self.number, killed, f"{self.at:.1f} s", self.doing, self.client_exit, self.said[:160] or "-",
            self.rerun_exit, f"{self.rerun_seconds:.0f} s", self.rerun_said or "-", "yes" if self.exact else "NO",
        )  # fmt: skip
        return "| " + " | ".join(str(cell).replace("|", "/") for cell in cells) + " |"


HEADER = (
    "| # | killed | at | the load was doing | killed load | its last line | rerun exit | rerun | rerun recovered "
    "| exact |\n|---|---|---|---|---|---|---|---|---|---|"
)


@dataclass(frozen=True)
class Reference:
    """Loads never interrupted: what the first part's left in Bronze, and how long a warm server takes to load
    into an empty Bronze and to load one more part (the random moments of the trials fall within them)."""

    rows: dict[str, tuple[int, int, int]]
    empty_seconds: float
    part_seconds: float

    def load_seconds(self, plan: Plan) -> float:
        return self.empty_seconds if plan.from_empty_bronze else self.part_seconds


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lakehouse]:
    work = tmp_path_factory.mktemp("kill_trials")
    catalog = work / "catalog.csv"
    with KAGGLE_SAMPLE.open() as sample:
        catalog.write_text("".join(line for _, line in zip(range(CATALOG_ROWS + 1), sample, strict=False)))
    house = Lakehouse(lakehouse_env(work / "data", KAGGLE_CSV=str(catalog), **NO_CREDENTIALS))
    started = house.cli("server", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    yield house
    house.stop()


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The music file cut into PARTS files an import takes as classic exports (their content tells them apart)."""
    records = json.loads(MUSIC_FILE.read_text())
    assert len(records) == MUSIC_RECORDS
    folder = tmp_path_factory.mktemp("parts")
    size = -(-len(records) // PARTS)
    paths = []
    for number in range(PARTS):
        path = folder / f"StreamingHistory_music_{number}.json"
        path.write_text(json.dumps(records[number * size : (number + 1) * size]))
        paths.append(path)
    return paths


@contextmanager
def session_of(house: Lakehouse) -> Iterator[Any]:
    """A Spark Connect session of this lakehouse's own (its server is restarted between uses)."""
    session = house.new_session()
    try:
        yield session
    finally:
        session.stop()


def bronze_rows(house: Lakehouse) -> dict[str, tuple[int, int, int]]:
    """Per Bronze table: rows, distinct keys and a checksum of the keys (zeros for a table that is missing)."""
    with session_of(house) as session:
        present = {name for name, table in BRONZE_TABLES.items() if session.catalog.tableExists(table.qualified)}
        counts = " union all ".join(
            f"select '{name}', count(*), count(distinct {', '.join(table.key)}), "
            f"coalesce(bit_xor(xxhash64({', '.join(table.key)})), 0) from {table.qualified}"
            for name, table in BRONZE_TABLES.items()
            if name in present
        )
        found = {row[0]: tuple(row[1:]) for row in session.sql(counts).collect()} if counts else {}
    return {name: found.get(name, (0, 0, 0)) for name in BRONZE_TABLES}


def empty_bronze(house: Lakehouse) -> None:
    """Bronze as a fresh lakehouse has it: no table, no folder, no record of loaded files."""
    with session_of(house) as session:
        session.sql("drop database if exists bronze cascade")
    subprocess.run(["rm", "-rf", str(house.settings.data_path / "bronze")], check=True)
    for state in ("bronze_loaded_files.json", "catalog_loaded.json"):
        (house.settings.ingest_state_path / state).unlink(missing_ok=True)


def land(house: Lakehouse, part: Path) -> None:
    """Import one part as the listener's export (what ``import-history`` does, without starting a process)."""
    from ingest.export.importer import import_history

    imported = import_history([part], house.settings, "erin")
    assert [outcome.status for outcome in imported.files] == ["imported"], imported


def timed_load(house: Lakehouse) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    load = house.cli("load", "all", timeout=LOAD_DEADLINE)
    return load, time.monotonic() - started


def start_load(house: Lakehouse, output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "spotify_analytics", "load", "all"],
            cwd=REPO,
            env={**os.environ, **house.env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def last_line(output: Path) -> str:
    lines = [line for line in output.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][9:110].strip() if lines else "starting"  # without its time stamp


def kill_during_load(house: Lakehouse, number: int, plan: Plan, at: float, work: Path) -> Trial:
    output = work / f"trial{number}.out"
    load = start_load(house, output)
    time.sleep(at)
    doing = last_line(output) if load.poll() is None else "had ended"
    if plan.killed == "client":
        load.kill()
        load.wait()
        return Trial(number, plan, at, doing, "SIGKILL")
    os.kill(server.read_pid(house.settings) or -1, signal.SIGKILL)
    died = time.monotonic()
    try:
        code = load.wait(timeout=CLIENT_GONE_WITHIN)
    except subprocess.TimeoutExpired:
        load.kill()
        load.wait()
        code = None
    gone_after = time.monotonic() - died
    restarted = house.cli("server", "start", timeout=LOAD_DEADLINE)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    printed = output.read_text(errors="replace")
    said = printed.strip().splitlines()[-1] if printed.strip() else ""
    ended = f"exit {code}, {gone_after:.0f} s after the server's death" if code is not None else "still running: KILLED"
    return Trial(number, plan, at, doing, ended, said=said if "Traceback" not in printed else "TRACEBACK: " + said)


def plays_so_far(parts: list[Path], landed: int) -> int:
    return sum(len(json.loads(part.read_text())) for part in parts[:landed])


def test_a_load_never_interrupted_creates_every_table(house: Lakehouse, parts: list[Path]) -> None:
    land(house, parts[0])
    load, _ = timed_load(house)
    assert load.returncode == 0, load.stdout + load.stderr[-3000:]
    rows = bronze_rows(house)
    assert rows[LISTENING_HISTORY.name][:2] == (plays_so_far(parts, 1),) * 2
    assert rows["kaggle_tracks_bronze"][:2] == (CATALOG_ROWS, CATALOG_ROWS)


@pytest.fixture(scope="module")
def reference(house: Lakehouse, parts: list[Path]) -> Reference:
    rows = bronze_rows(house)
    empty_bronze(house)
    again, empty_seconds = timed_load(house)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert bronze_rows(house) == rows  # two loads of the same landing files agree
    land(house, parts[1])
    more, part_seconds = timed_load(house)
    assert more.returncode == 0, more.stdout + more.stderr[-3000:]
    return Reference(rows, empty_seconds, part_seconds)


def test_every_kill_is_recovered_exactly_by_one_plain_rerun(
    house: Lakehouse, parts: list[Path], reference: Reference, tmp_path: Path
) -> None:
    moments = random.Random(SEED)
    trials: list[Trial] = []
    for number, plan in enumerate(planned_then_made_up(trials), start=1):
        land(house, parts[number + 1])
        if plan.from_empty_bronze:
            empty_bronze(house)
        at = moments.uniform(1.0, 0.8 * reference.load_seconds(plan))  # from about when it reaches the server
        trial = kill_during_load(house, number, plan, at, tmp_path)
        rerun, trial.rerun_seconds = timed_load(house)
        (tmp_path / f"trial{number}.rerun").write_text(rerun.stdout + rerun.stderr)
        trial.rerun_exit = rerun.returncode
        trial.rerun_said = "; ".join(
            line[9:140] for line in rerun.stderr.splitlines() if any(sign in line for sign in RECOVERY_SIGNS)
        )
        assert server.answers(house.settings), lost_server(house, trials, trial, rerun)
        rows = bronze_rows(house)
        plays = plays_so_far(parts, number + 2)
        trial.exact = rerun.returncode == 0 and rows == {
            **reference.rows,
            LISTENING_HISTORY.name: (plays, plays, rows[LISTENING_HISTORY.name][2]),
        }
        trials.append(trial)
    table = "\n".join(
        [
            f"seed {SEED}; uninterrupted loads: into an empty Bronze {reference.empty_seconds:.0f} s, of one more "
            f"part {reference.part_seconds:.0f} s",
            HEADER,
            *(trial.row() for trial in trials),
        ]
    )
    if os.environ.get("KILL_TRIALS_REPORT"):
        Path(os.environ["KILL_TRIALS_REPORT"]).write_text(table + "\n")

    assert [trial.number for trial in trials if not trial.exact] == [], table
    assert [trial for trial in trials if trial.plan.killed == "client" and trial.doing != "had ended"], table
    during_a_load = server_kills_during_a_load(trials)
    assert len(during_a_load) >= SERVER_KILLS_DURING_A_LOAD, table
    assert [trial.number for trial in during_a_load if not server_death_said(trial, house)] == [], table
    assert plays_so_far(parts, PARTS) == MUSIC_RECORDS


def lost_server(house: Lakehouse, trials: list[Trial], trial: Trial, rerun: subprocess.CompletedProcess[str]) -> str:
    """What a failure needs when the server no longer answers after a trial's rerun: the trials so far, the rerun's
    output and the server's pid and log."""
    log = server.log_file(house.settings)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:]) if log.is_file() else "(no log)"
    return (
        f"The server stopped answering after trial {trial.number}'s rerun (its process: "
        f"{server.read_pid(house.settings) or 'not running'})\n{HEADER}\n"
        + "\n".join(each.row() for each in [*trials, trial])
        + f"\nThe rerun:\n{(rerun.stdout + rerun.stderr)[-3000:]}\nThe end of {log}:\n{tail}"
    )


def server_kills_during_a_load(trials: list[Trial]) -> list[Trial]:
    return [trial for trial in trials if trial.plan.killed == "server" and trial.doing != "had ended"]


def planned_then_made_up(trials: list[Trial]) -> Iterator[Plan]:
    """TRIALS, then one more server kill for each that fell after its load's end (``trials``: those run so far),
    EXTRA_SERVER_KILLS at most."""
    yield from TRIALS
    for _ in range(EXTRA_SERVER_KILLS):
        if len(server_kills_during_a_load(trials)) >= SERVER_KILLS_DURING_A_LOAD:
            return
        yield Plan("server")


def server_death_said(trial: Trial, house: Lakehouse) -> bool:
    """The load ended within CLIENT_GONE_WITHIN of its server's death, with exit code 1 and the one line (or, killed
    before the load had reached the server, the line that no server answers)."""
    url = house.settings.connect_url
    died_under_it = trial.said.startswith(
        (
            f"error: The lakehouse server at {url} stopped answering while `load all` was ",
            f"error: The lakehouse server at {url} stopped answering during `load all` (",  # before it said what
        )
    ) and trial.said.endswith(
        "start the server again and rerun: python -m spotify_analytics server start && python -m spotify_analytics "
        "load all"
    )
    never_reached = trial.said == (
        f"error: No lakehouse server answers at {url}. Start it with: python -m spotify_analytics server start (then "
        "run this command again)"
    )
    return trial.client_exit.startswith("exit 1,") and (died_under_it or never_reached)
