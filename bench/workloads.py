"""The benchmark workloads W0-W4, each against the bench's own lakehouse (own data dir and ports).

W0  the whole pipeline (``python -m spotify_analytics pipeline``) on a few hundred new plays of an existing listener,
    on a warm server, broken down by step (from ``ops.pipeline_runs``).
W1  6-hourly incremental refresh: 50 new plays of an existing listener -> import-history + the pipeline's load,
    Silver build and Gold build, run as the pipeline runs them (one worker); and the compiled SQL of the SQL models
    those builds ran, run directly on the server, to show what dbt adds.
W2  full build at 1M plays (10 listeners x 100K): Bronze from generated parquet (setup, not timed), then
    ``load all`` (track features, synthetic features for the new tracks) and the pipeline's dbt build (its data
    tests, not dbt's unit tests) with --full-refresh.
W3  the same at 10M plays (100 x 100K); only on request.
W4  export import throughput: a generated 100,000-play extended export -> import-history + load into Bronze.
W5  a year of 6-hourly refreshes made on the lakehouse (``bench.aging``), then W1 on it, against W1 before.

A workload whose code has not landed (an import fails) or whose build fails is reported as such, never faked.
"""

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.measure import SUBSTEP, PeakRss, Run, timed_calls
from ingest.config import Settings
from spotify_analytics.pipeline.dbt import dbt_env, dbt_executable, target_path
from spotify_analytics.pipeline.steps import SCHEDULED_BUILD, STEPS, run_step
from spotify_analytics.pipeline.supervisor import Worker
from spotify_analytics.server import process as server

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("bench")

PLAYS_PER_USER = 100_000
W0_NEW_PLAYS = 400
W1_NEW_PLAYS = 50
# Functions of ingest.bronze.listening_history timed inside W4's load (where the load's time goes).
LOAD_PARTS = (
    "pending_landing_files", "normalise_file", "resolve_classic", "_frame", "merge_new_rows", "_replace_quarantine",
)  # fmt: skip
# ... and of ingest.bronze.delta inside merge_new_rows: finding its commit (the rest is the MERGE and the row count).
MERGE_PARTS = ("_metrics_of_commit",)
W1_LISTENER = "listener_000"  # the generator's first listener
W0_LISTENERS = 9  # W0's run n takes listener 1 + n % 9 (listener_001 to listener_009 of W2's ten)
# W0's and W1's first new plays: after the generated histories, which end 2026-10-31 (W0's listeners are not W1's).
NEW_PLAYS_FIRST_START = datetime(2026, 11, 2, 6, 0)
W1_SPAN = timedelta(days=2)  # at least the time W1's 50 new plays span (1-2 days)
W0_SPAN = timedelta(days=11)  # ... and W0's 400 (about 10 days)
REFRESH_INTERVAL = timedelta(hours=6)  # from a listener's latest play to the first of a workload's new plays
PIPELINE_DBT_BUILDS = [step for step in STEPS if step.program == "dbt" and step.args[0] == "build"]
W1_STEPS = [step for step in STEPS if step.name in ("load", "dbt_build_silver", "dbt_build_gold")]


class NotAvailable(RuntimeError):
    """A piece the workload needs has not landed; the message says which."""


class WorkloadFailed(RuntimeError):
    """A step of the workload failed; the message says which and where its log is."""


@dataclass
class Bench:
    """What every workload needs: settings, a Spark Connect session, a work folder, the seed."""

    settings: Settings
    spark: "SparkSession"
    work: Path
    seed: int
    plays_per_user: int = PLAYS_PER_USER
    excluded_models: list[str] = field(default_factory=list)  # left out of W2's and W3's build (--exclude-models)
    logs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def server_pid(self) -> int | None:
        return server.read_pid(self.settings)

    def generate(self, out: Path, output_format: str, users: int, plays: int, seed: int, **extra: str) -> None:
        """The workload generator's CLI, in its own process (so its memory is not the client's)."""
        args = [
            sys.executable, "-m", "bench.workload", "generate", "--out", str(out), "--format", output_format,
            "--users", str(users), "--plays-per-user", str(plays), "--seed", str(seed),
        ]  # fmt: skip
        for option, value in extra.items():
            args += [f"--{option.replace('_', '-')}", value]
        self._run_logged(args, f"generate-{out.name}", "workload generate")

    def dbt_build(self, run: Run, label: str, *args: str) -> None:
        with run.step(label):
            self._run_logged([dbt_executable(), "build", *args], label.replace(" ", "_"), f"dbt build {' '.join(args)}")
        for node, seconds in model_times(self.settings).items():  # W1 runs two builds: their tests add up
            run.models[node] = run.models.get(node, 0.0) + seconds

    def _run_logged(self, args: list[str], log_name: str, what: str) -> None:
        path = self.logs / f"{log_name}.log"
        with path.open("w") as out:
            completed = subprocess.run(
                args, cwd=self.settings.project_dir, env=dbt_env(self.settings), stdout=out, stderr=subprocess.STDOUT
            )
        if completed.returncode != 0:
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-15:])
            raise WorkloadFailed(f"{what} exited with {completed.returncode} (log {path}):\n{tail}")


def model_times(settings: Settings) -> dict[str, float]:
    """Seconds per dbt node of the last invocation (target/run_results.json); tests summed as one."""
    try:
        results = json.loads((target_path(settings) / "run_results.json").read_text())["results"]
    except (OSError, KeyError, ValueError):
        return {}
    times: dict[str, float] = {}
    for result in results:
        kind, *_, name = result["unique_id"].split(".")
        key = "(all tests)" if kind == "test" else name
        times[key] = times.get(key, 0.0) + float(result.get("execution_time") or 0.0)
    return times


def measured(bench: Bench, body: Callable[[Run], None]) -> Run:
    run = Run()
    with PeakRss(bench.server_pid()) as peak:
        body(run)
    run.server_peak, run.client_peak = peak.server_peak, peak.client_peak
    return run


def _ingester() -> tuple[Callable, Callable, Callable]:
    """The ingester's entry points: import_history, load_plays, load_all (issue 3)."""
    try:
        from ingest.bronze.listening_history import load_plays
        from ingest.bronze.load_all import load_all
        from ingest.export.importer import import_history
    except ImportError as exc:
        raise NotAvailable(f"the importer/loader (issue 3) is not in the tree ({exc})") from None
    return import_history, load_plays, load_all


def listener_plays(bench: Bench, listener: str) -> tuple[int, datetime | None]:
    """The listener's music plays in Bronze and when the latest was played (UTC); (0, None) before any."""
    from ingest.bronze.schemas import LISTENING_HISTORY
    from ingest.spotify.users import pseudonymous_user_id

    table = f"bronze.{LISTENING_HISTORY.name}"
    if not bench.spark.catalog.tableExists(table):
        return 0, None
    user_id = pseudonymous_user_id(bench.settings, listener)
    row = bench.spark.sql(
        f"select count(*) as plays, max(played_at) as latest from {table} where user_id = '{user_id}'"
    ).first()
    return int(row.plays), row.latest


def landed_exports(bench: Bench, listener: str) -> int:
    """How many export files of ``listener`` the landing zone holds (from earlier sittings on a kept lakehouse)."""
    from ingest.export.importer import export_landing_dir
    from ingest.spotify.users import pseudonymous_user_id

    landing = export_landing_dir(bench.settings, pseudonymous_user_id(bench.settings, listener))
    return sum(1 for _ in landing.glob("*/*"))


def new_plays_seed(bench: Bench, listener: str, offset: int) -> int:
    """The seed of a workload's new plays: the bench's seed and the workload's offset, and a new one for each export
    the listener already landed (on a kept lakehouse whose Bronze W2 has set up again, the same export would be
    "already imported": no new plays)."""
    return bench.seed + offset + 100_000 * landed_exports(bench, listener)


def new_plays_start(listener: str, latest: datetime | None, planned: datetime, span: timedelta) -> datetime:
    """When a workload's new plays of ``listener`` start: as planned, or a refresh's interval after the listener's
    latest play in Bronze (``latest``) when the lakehouse already holds plays from then (a kept lakehouse, or an
    earlier run of the sitting: the same export again would be no new plays); never so late that the plays
    (``span`` long) reach today: they must lie in the past."""
    after_latest = None if latest is None else latest.replace(minute=0, second=0, microsecond=0) + REFRESH_INTERVAL
    start = planned if after_latest is None else max(planned, after_latest)
    if start + span > datetime.now():
        raise WorkloadFailed(
            f"{listener}'s plays in the kept bench lakehouse reach {latest}: new plays would start {start:%Y-%m-%d}, "
            "too close to today. Run the bench without --keep-data for a fresh lakehouse"
        )
    return start


def last_play_in_the_past(workload: str, folder: Path) -> None:
    """A workload's generated plays must all lie in the past (a play in the future is quarantined, and fails the
    Bronze gate): else it fails, saying so, before anything is imported."""
    last = max(record["ts"] for path in folder.glob("*.json") for record in json.loads(path.read_text()))
    if datetime.fromisoformat(last.replace("Z", "+00:00")) > datetime.now(UTC):
        raise WorkloadFailed(
            f"{workload}'s generated plays in {folder} reach {last}, in the future. Run the bench without --keep-data "
            "for a fresh lakehouse"
        )


def check_new_plays(workload: str, bench: Bench, listener: str, before: int, expected: int) -> None:
    """A workload measures new plays only if its load inserted them all: else it fails, naming what it found."""
    after, _ = listener_plays(bench, listener)
    if after - before != expected:
        raise WorkloadFailed(
            f"{workload} expected {expected} new plays of {listener} in Bronze, the run inserted {after - before}"
        )


def prepare_lakehouse(bench: "Bench") -> None:
    """What the pipeline does before its first build: every Bronze table (``load all``) and ops.pipeline_runs."""
    try:
        _, _, load_all = _ingester()
    except NotAvailable as exc:
        log.warning("%s: only the catalog is loaded", exc)
        from ingest.bronze.kaggle_tracks import load_catalog

        load_catalog(bench.spark, bench.settings)
    else:
        load_all(bench.spark, bench.settings)
    try:
        from spotify_analytics.pipeline.run_log import ensure_runs_table
    except ImportError:
        return
    ensure_runs_table(bench.spark)


# W2/W3 build what the pipeline builds (its arguments: data tests, no unit tests, which check the models' logic on
# fixed inputs whatever the lakehouse holds), every model from scratch.
FULL_BUILD_ARGS = (*SCHEDULED_BUILD[1:], "--full-refresh")
FULL_BUILD_STEP = "dbt build --full-refresh"


def full_build(bench: Bench, users: int) -> Run:
    """W2/W3: Bronze from scratch with users x 100K plays, then the pipeline's dbt build with --full-refresh; then
    the SQL models' compiled SQL alone (what the build costs without dbt)."""
    from bench.workload.bronze_load import empty_listening_table, insert_parquet

    parquet = bench.work / f"bronze_{users}x{bench.plays_per_user}"
    if not (parquet / "listening_history_bronze" / "_COMPLETE").exists():
        bench.generate(parquet, "bronze", users, bench.plays_per_user, bench.seed)
        (parquet / "listening_history_bronze" / "_COMPLETE").touch()
    _, _, load_all = _ingester()

    def body(run: Run) -> None:
        with run.step("bronze insert (setup)"):
            empty_listening_table(bench.spark)
            rows = insert_parquet(bench.spark, parquet / "listening_history_bronze")
        log.info("bronze.listening_history_bronze holds %d plays", rows)
        with run.step("load all (features)"):
            load_all(bench.spark, bench.settings, with_catalog=False)
        excluded = ["--exclude", *bench.excluded_models] if bench.excluded_models else []
        bench.dbt_build(run, FULL_BUILD_STEP, *FULL_BUILD_ARGS, *excluded)

    run = measured(bench, body)
    sql_alone(bench, run, FULL_BUILD_STEP)  # after the peak RSS's window, which is the build's
    return run


def after_one_untimed(workload: Callable[[int], Run], runs: int, first_number: int = 0) -> tuple[list[Run], list[str]]:
    """W0 and W1 as a scheduled run has them, after a run like them on a warm server: one run untimed (number
    ``first_number``), then ``runs`` timed. The first after a bulk load or a full rebuild costs more, once: Silver
    compares the plays of the latest load it built (less ``incremental_lookback_minutes``) with those it holds, so
    the refresh after W2's million plays (or a W4 export not built yet) compares all of them; the Silver checks
    after a rebuild check the whole table; and the first on a new server compiles and caches what later ones reuse.
    Returns the timed runs and a note with the untimed run's seconds."""
    first = workload(first_number)
    timed = [workload(first_number + number) for number in range(1, runs + 1)]
    return timed, [
        f"after one run untimed (the first after a bulk load or a rebuild, or on a new server, costs more): "
        f"{first.wall:.1f} s"
    ]


def incremental_refresh(bench: Bench, number: int) -> Run:
    """W1: 50 new plays of listener_000 after everything loaded so far, then the pipeline's load, Silver and Gold
    builds in one worker, as a scheduled run has them; then the SQL models' compiled SQL alone."""
    export = bench.work / f"w1_export_{number}"
    planned = NEW_PLAYS_FIRST_START + timedelta(hours=6 * number)
    before, latest = listener_plays(bench, W1_LISTENER)
    start = new_plays_start(W1_LISTENER, latest, planned, W1_SPAN)
    seed = new_plays_seed(bench, W1_LISTENER, 1000 + number)
    bench.generate(export, "extended", 1, W1_NEW_PLAYS, seed, start=start.isoformat(), first_user="0")
    last_play_in_the_past("W1", export / W1_LISTENER)
    import_history, _, _ = _ingester()

    def body(run: Run) -> None:
        with run.step("import-history"):
            import_history([export / W1_LISTENER], bench.settings, user=W1_LISTENER)
        with Worker(bench.settings) as worker:
            for step in W1_STEPS:
                with run.step(step.name):
                    result = run_step(step, bench.settings, worker, run_id=f"bench-w1-{number}")
                if result.status != "ok":
                    raise WorkloadFailed(f"W1 step {step.name} ended {result.status}: {result.message}")
                if step.program == "dbt":
                    for node, seconds in model_times(bench.settings).items():
                        run.models[node] = run.models.get(node, 0.0) + seconds
                    sql_alone(bench, run, step.name)

    run = measured(bench, body)
    check_new_plays("W1", bench, W1_LISTENER, before, W1_NEW_PLAYS)
    return run


def sql_alone(bench: Bench, run: Run, step: str) -> None:
    """The compiled SQL of every SQL model the build just ran, run directly on the server (its rows computed and
    dropped: ``computed_and_dropped``), as a sub-step: what the build costs without dbt (nor the models' writes)."""
    target = target_path(bench.settings)
    results = json.loads((target / "run_results.json").read_text())["results"]
    compiled = []
    for result in results:
        if result["unique_id"].startswith("model.") and result.get("status") == "success":
            path = result.get("compiled_path") or ""
            sql_file = target / "compiled" / path.split("/compiled/", 1)[-1] if "/compiled/" in path else None
            if sql_file is None:
                package, name = result["unique_id"].split(".")[1:3]
                matches = list((target / "compiled" / package).rglob(f"{name}.sql"))
                sql_file = matches[0] if matches else None
            if sql_file is not None and sql_file.suffix == ".sql" and sql_file.is_file():  # not a Python model's
                compiled.append(sql_file.read_text())
    with run.step(f"{SUBSTEP}{step}: compiled SQL alone ({len(compiled)} SQL models)"):
        for sql in compiled:
            computed_and_dropped(bench.spark, sql)


def computed_and_dropped(spark: "SparkSession", sql: str) -> None:
    """Every row and column of ``sql`` computed, then dropped: one hash of each row, summed on the server. (Spark's
    ``noop`` writer would do, but fails on a Delta table with deletion vectors: "Cannot work with a non-pinned table
    snapshot of the TahoeFileIndex".) A map column, which ``hash`` refuses, is hashed as its JSON."""
    frame = spark.sql(sql)
    columns = [
        f"to_json(`{column.name}`)" if "map<" in column.dataType.simpleString() else f"`{column.name}`"
        for column in frame.schema.fields
    ]
    frame.selectExpr(f"hash({', '.join(columns)}) as row_hash").selectExpr("count(*)", "sum(row_hash)").collect()


def whole_pipeline(bench: Bench, number: int) -> Run:
    """W0: a few hundred new plays of one listener (a listener per run, so that the plays of a sitting's runs lie in
    the past), then ``python -m spotify_analytics pipeline`` on the warm server, each step's seconds from
    ops.pipeline_runs."""
    index = 1 + number % W0_LISTENERS
    listener = f"listener_{index:03d}"
    export = bench.work / f"w0_export_{number}"
    before, latest = listener_plays(bench, listener)
    start = new_plays_start(listener, latest, NEW_PLAYS_FIRST_START, W0_SPAN)
    seed = new_plays_seed(bench, listener, 3000 + number)
    bench.generate(export, "extended", 1, W0_NEW_PLAYS, seed, start=start.isoformat(), first_user=str(index))
    last_play_in_the_past("W0", export / listener)

    def body(run: Run) -> None:
        with run.step("import-history (setup)"):
            bench._run_logged(
                [sys.executable, "-m", "spotify_analytics", "import-history", "--user", listener,
                 str(export / listener)],
                f"w0-import-{number}", "import-history",
            )  # fmt: skip
        started = datetime.now()
        bench._run_logged([sys.executable, "-m", "spotify_analytics", "pipeline"], f"w0-pipeline-{number}", "pipeline")
        rows = bench.spark.sql(
            "select step, duration_seconds from ops.pipeline_runs where run_id = (select max_by(run_id, "
            f"run_started_at) from ops.pipeline_runs where run_started_at >= timestamp '{started:%Y-%m-%d %H:%M:%S}')"
            " order by step_number"
        ).collect()
        for row in rows:
            run.steps[row.step] = float(row.duration_seconds)

    run = measured(bench, body)
    check_new_plays("W0", bench, listener, before, W0_NEW_PLAYS)
    return run


def import_throughput(bench: Bench, number: int) -> tuple[Run, int]:
    """W4: a 100K-play extended export of a new listener -> import-history + load. Returns (run, plays)."""
    listener = 200 + number
    while listener_plays(bench, f"listener_{listener:03d}")[0] or landed_exports(bench, f"listener_{listener:03d}"):
        listener += 100  # a kept lakehouse has this listener's export already
    export = bench.work / f"w4_export_{listener}_{bench.plays_per_user}"
    if not export.exists():
        bench.generate(
            export, "extended", 1, bench.plays_per_user, bench.seed + 2000 + number, first_user=str(listener)
        )
    import_history, load_plays, _ = _ingester()
    from ingest.bronze import delta, listening_history

    folder = export / f"listener_{listener:03d}"
    loaded: dict[str, int] = {}

    def body(run: Run) -> None:
        with run.step("import-history"):
            imported = import_history([folder], bench.settings, user=folder.name)
        with (
            run.step("load"),
            timed_calls(run, listening_history, LOAD_PARTS, "load"),
            timed_calls(run, delta, MERGE_PARTS, "merge"),
        ):
            result = load_plays(bench.spark, bench.settings)
        loaded["records"] = imported.records
        loaded["inserted"] = result.plays.inserted if result.plays else 0

    run = measured(bench, body)
    if loaded["inserted"] != bench.plays_per_user:
        raise WorkloadFailed(
            f"W4 expected {bench.plays_per_user} new plays in Bronze, the load inserted {loaded['inserted']}"
        )
    return run, loaded["inserted"]


def aged_refresh(bench: Bench, runs: int, refreshes: int) -> tuple[list[Run], list[str]]:
    """W5: the lakehouse aged by ``refreshes`` refreshes (``bench.aging``), then W1 ``runs`` times on it. Returns the
    W1 runs and what the aging did (files per table and the data directory's size before and after)."""
    from bench.aging import age

    aging = age(bench, refreshes)
    notes = [
        f"aged by {aging.refreshes} refreshes in {aging.seconds:.0f} s; data directory "
        f"{aging.bytes_before / 2**20:,.0f} MiB -> {aging.bytes_after / 2**20:,.0f} MiB",
        "files per table (before -> after): "
        + ", ".join(
            f"{table} {aging.files_before[table]} -> {aging.files_after[table]}" for table in aging.files_after
        ),
        f"OPTIMIZE runs during the aging: {len(aging.upkeep)}; VACUUM deleted nothing within the sitting (its 7-day "
        "retention counts real time)",
    ]
    timed, untimed = after_one_untimed(lambda number: incremental_refresh(bench, number), runs, first_number=100)
    return timed, notes + untimed
