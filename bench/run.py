"""``make bench``: run the workloads on a lakehouse of the bench's own and print one table.

    python -m bench.run [--with-10m] [--runs 3] [--only W1,W2,W4] [--keep-server]

The bench uses ``bench/work/`` (data dir, generated inputs, logs, dbt target) and free ports, never the
user's lakehouse; it starts the server once (and stops it at the end unless --keep-server). Results are
printed and written to ``bench/results/bench-<UTC time>.json`` with the machine's cores, memory and load.
"""

import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "work"
RESULTS = REPO / "bench" / "results"
SHARED_SAMPLE = REPO.parent / "shared" / "data" / "kaggle_spotify_tracks" / "dataset_sample_10k.csv"
GiB = 2**30

TARGETS = {
    "W0": ("wall", 30.0, "<= 30 s"),
    "W1": ("wall", 20.0, "<= 20 s"),
    "W2": ("wall", 60.0, "<= 60 s"),
    "W3": ("w3", 6.0, "<= 6 x W2"),
    "W4": ("rate", 20000.0, ">= 20,000 plays/s"),
    "W5": ("w5", 1.1, "<= 1.1 x W1"),
}
SERVER_RSS_TARGET = {"W2": 2.5 * GiB, "W3": 4 * 10**9}  # peak server RSS over the workload (issue 31)
DESCRIPTIONS = {
    "W0": "the whole pipeline on 400 new plays of one listener, warm server (steps from ops.pipeline_runs)",
    "W1": "incremental refresh: 50 new plays, import-history + the pipeline's load, Silver and Gold steps (one worker)",
    "W2": "full build, 1M plays (10 x 100K): load all (features) + the pipeline's dbt build --full-refresh",
    "W3": "full build, 10M plays (100 x 100K): load all (features) + the pipeline's dbt build --full-refresh",
    "W4": "import 100K-play extended export + load into Bronze",
    "W5": "W1 on the lakehouse aged by a year of 6-hourly refreshes (1,460 small commits per table a refresh writes)",
}

log = logging.getLogger("bench")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_environment(fresh: bool) -> None:
    """Point every setting at the bench's own lakehouse before anything reads the settings."""
    data = WORK / "data"
    if fresh and data.exists():
        shutil.rmtree(data)
    kaggle = REPO / "data" / "kaggle" / "dataset.csv"
    os.environ.update(
        PROJECT_DIR=str(REPO),
        DATA_DIR=str(data),
        THRIFT_PORT=os.environ.get("BENCH_THRIFT_PORT", str(free_port())),
        CONNECT_PORT=os.environ.get("BENCH_CONNECT_PORT", str(free_port())),
        KAGGLE_CSV=str(kaggle if kaggle.is_file() else SHARED_SAMPLE if SHARED_SAMPLE.is_file() else kaggle),
        DBT_TARGET_PATH=str(WORK / "dbt_target"),
        DBT_LOG_PATH=str(WORK / "dbt_logs"),
    )


@dataclass
class Result:
    workload: str
    status: str = "ok"
    runs: int = 0
    wall: float | None = None
    walls: list[float] = field(default_factory=list)  # each run's, in order
    plays_per_second: float | None = None
    server_peak: int = 0
    client_peak: int = 0
    steps: dict[str, float] = field(default_factory=dict)
    models: dict[str, float] = field(default_factory=dict)
    met: bool | None = None
    notes: list[str] = field(default_factory=list)


def summarise(workload: str, runs: list, timed_steps: list[str] | None = None) -> Result:
    from bench.measure import median_of

    walls = [run.wall for run in runs]
    return Result(
        workload=workload,
        runs=len(runs),
        wall=statistics.median(walls),
        walls=walls,
        server_peak=max(run.server_peak for run in runs),
        client_peak=max(run.client_peak for run in runs),
        steps=median_of(runs, "steps"),
        models=median_of(runs, "models"),
    )


def judge(result: Result, results: dict[str, Result]) -> None:
    kind, target, _ = TARGETS[result.workload]
    if result.wall is None:
        return
    if kind == "wall":
        result.met = result.wall <= target
    elif kind == "rate":
        result.met = (result.plays_per_second or 0) >= target
    elif kind == "w5" and "W1" in results and results["W1"].wall:
        result.met = result.wall <= target * results["W1"].wall
    elif "W2" in results and results["W2"].wall:
        result.met = result.wall <= target * results["W2"].wall
    if result.server_peak > SERVER_RSS_TARGET.get(result.workload, float("inf")):
        result.met = False


def run_workloads(args: argparse.Namespace, save: Callable[[dict[str, "Result"]], object]) -> dict[str, Result]:
    """Run the chosen workloads in order; ``save`` records the results so far after each one (a run
    stopped half-way still leaves its figures)."""
    from bench.workloads import (
        Bench,
        NotAvailable,
        WorkloadFailed,
        after_one_untimed,
        aged_refresh,
        full_build,
        import_throughput,
        incremental_refresh,
        prepare_lakehouse,
        whole_pipeline,
    )  # fmt: skip
    from ingest.config import Settings
    from ingest.lakehouse.client import connect
    from spotify_analytics.server import process as server

    settings = Settings()
    log.info("Starting the bench lakehouse in %s (Thrift :%d, Connect :%d)", settings.data_path,
             settings.thrift_port, settings.connect_port)  # fmt: skip
    started = time.monotonic()
    server.start(settings)
    log.info("Server ready in %.0f s", time.monotonic() - started)
    results: dict[str, Result] = {}
    spark = None
    try:
        spark = connect(settings)
        bench = Bench(settings, spark, WORK, args.seed, args.plays_per_user, args.exclude_models)
        prepare_lakehouse(bench)
        plan = [
            ("W2", lambda: [full_build(bench, 10)]),
            ("W1", lambda: after_one_untimed(lambda n: incremental_refresh(bench, n), args.runs)),
            ("W0", lambda: after_one_untimed(lambda n: whole_pipeline(bench, n), args.runs)),
            ("W4", lambda: [import_throughput(bench, n) for n in range(args.runs)]),
            ("W5", lambda: aged_refresh(bench, args.runs, args.refreshes)),
            ("W3", lambda: [full_build(bench, 100)]),
        ]
        for name, body in plan:
            if name not in args.only or (name == "W3" and not args.with_10m):
                continue
            log.info("Running %s: %s", name, DESCRIPTIONS[name])
            try:
                outcome = body()
            except NotAvailable as exc:
                results[name] = Result(name, status=f"not available: {exc}")
                continue
            except WorkloadFailed as exc:
                results[name] = Result(name, status=f"failed: {exc}")
                log.error("%s failed: %s", name, exc)
                continue
            if name in ("W0", "W1", "W5"):
                runs, notes = outcome
                result = summarise(name, runs)
                result.notes = notes
            elif name == "W4":
                result = summarise(name, [run for run, _ in outcome])
                plays = statistics.median(plays for _, plays in outcome)
                result.plays_per_second = plays / result.wall if result.wall else None
            else:
                result = summarise(name, outcome)
            judge(result, results)
            results[name] = result
            save(results)
    finally:
        if spark is not None:
            spark.stop()  # else the client keeps retrying against the stopped server and never exits
        if not args.keep_server:
            server.stop(settings)
    return results


def _gib(value: int) -> str:
    return f"{value / GiB:.2f} GiB" if value else "-"


def format_table(results: dict[str, Result], load_before: str, load_after: str) -> str:
    header = (
        f"{'workload':<9}{'runs':>5}{'wall (median)':>15}{'plays/s':>10}{'server RSS':>12}{'client RSS':>12}  target"
    )
    lines = [header, "-" * len(header)]
    for name in ("W0", "W1", "W2", "W3", "W4", "W5"):
        result = results.get(name)
        if result is None:
            continue
        target = TARGETS[name][2]
        if result.status != "ok":
            lines.append(f"{name:<9}  {result.status.splitlines()[0][:110]}")
            continue
        verdict = "met" if result.met else "MISSED" if result.met is False else "?"
        rate = f"{result.plays_per_second:,.0f}" if result.plays_per_second else "-"
        lines.append(
            f"{name:<9}{result.runs:>5}{result.wall:>13.1f} s{rate:>10}{_gib(result.server_peak):>12}"
            f"{_gib(result.client_peak):>12}  {target} {verdict}"
        )
        if result.runs > 1:
            lines.append(f"{'':<9}runs: " + ", ".join(f"{wall:.1f} s" for wall in result.walls))
        steps = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in result.steps.items())
        lines.append(f"{'':<9}steps: {steps}")
        top = sorted(result.models.items(), key=lambda item: -item[1])[:6]
        if top:
            lines.append(f"{'':<9}dbt nodes: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in top))
        lines += [f"{'':<9}{note}" for note in result.notes]
    lines.append(f"{DESCRIPTIONS_LINE}")
    lines.append(f"machine load (uptime) before: {load_before}; after: {load_after}")
    return "\n".join(lines)


DESCRIPTIONS_LINE = "; ".join(f"{k}: {v}" for k, v in DESCRIPTIONS.items())


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def write_json(
    path: Path, results: dict[str, Result], args: argparse.Namespace, load_before: str, load_after: str
) -> Path:
    from bench.measure import machine
    from ingest.config import Settings

    settings = Settings()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    payload = {
        "finished_at": datetime.now(UTC).isoformat(),
        "commit": commit.stdout.strip(),
        "machine": machine(),
        "uptime_before": load_before,
        "uptime_after": load_after,
        "server": {
            "master": settings.spark_master,
            "driver_memory": settings.spark_driver_memory,
            "shuffle_partitions": settings.spark_shuffle_partitions,
        },
        "catalog": os.environ["KAGGLE_CSV"],
        "arguments": vars(args),
        "targets": {k: v[2] for k, v in TARGETS.items()} | {"server_rss": "W2 <= 2.5 GiB, W3 <= 4 GB"},
        "workloads": {name: vars(result) for name, result in results.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with-10m", action="store_true", help="Also run W3 (10M plays; long).")
    parser.add_argument("--runs", type=int, default=3, help="Runs of the short workloads (W1, W4); median shown.")
    parser.add_argument("--only", default="W0,W1,W2,W3,W4,W5", help="Comma-separated workloads to run.")
    parser.add_argument("--refreshes", type=int, default=1460, help="W5's aging: refreshes made (a year: 1,460).")
    parser.add_argument(
        "--plays-per-user", type=int, default=100_000, help="Scale (W2 = 10 listeners, W3 = 100); for smoke runs."
    )
    parser.add_argument("--seed", type=int, default=20261125, help="Workload seed.")
    parser.add_argument("--keep-data", action="store_true", help="Reuse bench/work/data instead of starting fresh.")
    parser.add_argument("--keep-server", action="store_true", help="Leave the bench server running.")
    parser.add_argument(
        "--exclude-models",
        default="",
        help="Comma-separated dbt models W2 and W3 leave out of their build, to measure what they add "
        "(issue 33: listening_rhythms,listening_rhythms_diurnal,listening_rhythm_changes,year_in_review).",
    )
    args = parser.parse_args()
    args.only = {name.strip().upper() for name in args.only.split(",")}
    args.exclude_models = [name.strip() for name in args.exclude_models.split(",") if name.strip()]
    return args


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    for noisy in ("py4j", "urllib3", "grpc", "pyspark"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parse_args()
    bench_environment(fresh=not args.keep_data)
    load_before = uptime()
    path = RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    results = run_workloads(args, lambda partial: write_json(path, partial, args, load_before, uptime()))
    load_after = uptime()
    table = format_table(results, load_before, load_after)
    write_json(path, results, args, load_before, load_after)
    print("\n" + table + f"\nResults: {path}")


if __name__ == "__main__":
    main()
