"""What can be checked about the containers without a Docker engine: docker-compose.yml against the
Compose Specification schema, a rule check of the Dockerfile, every command the containers run is a real
entry point, the crontab's schedules, and the spark service's foreground server."""

import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import yaml
from conftest import REPO, lakehouse_env, run_command, settings_for

from ingest.lakehouse.identity import DATA_DIR_CONF
from spotify_analytics.server import process as server

COMPOSE_SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
SERVICES = {"spark", "scheduler", "docs", "pipeline", "spark-master", "spark-worker", "superset"}
APP_SERVICES = SERVICES - {"superset"}  # run the project's image; superset runs Superset's (test_superset.py checks it)
COMPOSE_DEFAULT = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")  # ${VARIABLE:-default}, as compose reads it without .env


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


CONSOLE_SCRIPT = "spotify-analytics"  # [project.scripts]: what the containers and the crontab run


def cli_help(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``spotify-analytics ARGS --help`` with this environment's console script (the image installs the same)."""
    return run_command([str(Path(sys.executable).parent / CONSOLE_SCRIPT), *args, "--help"], {})


# ---------------------------------------------------------------- docker-compose.yml


def test_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []

    broken = compose()
    broken["services"]["spark"]["port"] = ["10000:10000"]  # a typo the schema must catch
    assert any("port" in e.message for e in validator.iter_errors(broken))


def test_compose_services_share_data_publish_on_loopback_and_take_credentials_from_env() -> None:
    services = compose()["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    for name, service in ((name, services[name]) for name in sorted(APP_SERVICES)):
        assert "./data:/app/data" in service["volumes"], name
        assert {"path": ".env", "required": False} in service["env_file"], name
        env = service["environment"]
        assert env["SPARK_MASTER"] == "${SPARK_MASTER:-local[2]}", name  # the one setting for a cluster
        assert env["LAKEHOUSE_HOST"] == "spark", name
        assert env["DBT_TARGET_PATH"].startswith("/app/data/"), name  # docs serve what the pipeline made
    assert services["spark"]["environment"]["LAKEHOUSE_BIND_HOST"] == "0.0.0.0"
    assert sorted(services["spark"]["ports"]) == ["127.0.0.1:10000:10000", "127.0.0.1:15002:15002"]
    assert services["docs"]["ports"] == ["127.0.0.1:8080:8080"]
    assert services["pipeline"]["profiles"] == ["manual"]  # one-shot: `docker compose run --rm pipeline …`
    assert services["scheduler"]["depends_on"]["spark"]["condition"] == "service_healthy"


def with_defaults(command: list[str]) -> list[str]:
    return [COMPOSE_DEFAULT.sub(r"\1", arg) for arg in command]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_cluster_services_form_one_cluster_under_their_profile() -> None:
    """spark-master and spark-worker start only with `--profile cluster`; the worker registers with the master's
    host and port, both bind beyond loopback inside their containers (the driver and executors connect across
    containers) and publish nothing; the spark service reaches them by SPARK_MASTER."""
    services = compose()["services"]
    master, worker = services["spark-master"], services["spark-worker"]
    master_command, worker_command = with_defaults(master["command"]), with_defaults(worker["command"])

    assert master["profiles"] == worker["profiles"] == ["cluster"]
    assert master_command[:3] == ["spotify-analytics", "cluster", "master"] and worker_command[1:3] == [
        "cluster",
        "worker",
    ]
    assert option(master_command, "--host") == master["hostname"] == "spark-master"
    assert worker_command[3] == f"spark://{master['hostname']}:{option(master_command, '--port')}"
    assert option(worker_command, "--host") == worker["hostname"]
    assert worker["depends_on"] == ["spark-master"]
    for service in (master, worker):
        assert service["environment"]["LAKEHOUSE_BIND_HOST"] == "0.0.0.0"
        assert "ports" not in service
    compose_header = (REPO / "docker-compose.yml").read_text()
    assert f"SPARK_MASTER={worker_command[3]} docker compose --profile cluster up -d" in compose_header


def test_every_container_names_the_data_directory_the_server_serves() -> None:
    """Clients refuse a server that serves another data directory (compared as real paths): every service mounts
    ./data at one path and names that path in DATA_DIR, so the spark service's spark.lakehouse.dataDir, each
    client's data directory and dbt's expected_server_paths (DATA_DIR, run in WORKDIR /app) agree."""
    data_paths = {}
    for name, service in compose()["services"].items():
        if name not in APP_SERVICES:
            continue
        [mount] = [volume.split(":")[1] for volume in service["volumes"] if volume.split(":")[0] == "./data"]
        env = service["environment"]
        settings = settings_for({"PROJECT_DIR": env["PROJECT_DIR"], "DATA_DIR": env["DATA_DIR"]})
        assert str(settings.data_path) == mount, name
        data_paths[name] = mount
    assert set(data_paths.values()) == {"/app/data"}
    instructions = dockerfile_instructions()
    assert ("WORKDIR", "/app") in instructions
    assert any(kind == "ENV" and "DATA_DIR=/app/data" in args.split() for kind, args in instructions)
    profile = yaml.safe_load((REPO / "profiles.yml").read_text())["spotify_analytics"]["outputs"]["lakehouse"]
    assert profile["expected_server_paths"] == {DATA_DIR_CONF: "{{ env_var('DATA_DIR', 'data') }}"}


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_rules() -> None:
    instructions = dockerfile_instructions()
    kinds = [kind for kind, _ in instructions]
    runs = [args for kind, args in instructions if kind == "RUN"]

    [base] = [args for kind, args in instructions if kind == "FROM"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base

    users = [args for kind, args in instructions if kind == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the image must end as a non-root user"

    [healthcheck] = [args for kind, args in instructions if kind == "HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["spotify-analytics", "server", "status"]')

    assert any("openjdk-17-jre-headless" in run for run in runs)
    assert any(kind == "COPY" and "requirements.lock" in args for kind, args in instructions)
    assert any(re.search(r"uv pip install .*-r \S*requirements\.lock", run) for run in runs)
    makefile_uv = re.search(r"^UV_VERSION := (\S+)", (REPO / "Makefile").read_text(), re.M)
    assert makefile_uv and f"ARG UV_VERSION={makefile_uv[1]}" in [f"ARG {a}" for k, a in instructions if k == "ARG"]
    assert any("--no-deps /app /app/adapter" in run for run in runs)

    fetch = runs.index("spotify-analytics server fetch-jars")
    user_at = max(i for i, kind in enumerate(kinds) if kind == "USER")
    run_at = [i for i, kind in enumerate(kinds) if kind == "RUN"][fetch]
    assert user_at < run_at, "fetch the jars as the runtime user so its Ivy cache is readable"


def test_installs_compile_bytecode_so_processes_start_without_recompiling() -> None:
    """With PYTHONDONTWRITEBYTECODE set (the image sets it) nothing writes bytecode on import, so every dbt
    start would recompile dbt's modules: both installers must compile it, and this environment has it."""
    installs = [
        *(line for line in (REPO / "Makefile").read_text().splitlines() if "uv pip install" in line),
        *(run for kind, run in dockerfile_instructions() if kind == "RUN" and "uv pip install" in run),
    ]
    assert len(installs) == 4
    assert [line for line in installs if "--compile-bytecode" not in line] == []

    import dbt.cli.main

    compiled = Path(importlib.util.cache_from_source(dbt.cli.main.__file__))
    assert compiled.is_file(), f"{compiled} is missing: reinstall with `rm {sys.prefix}/.installed; make setup`"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".cache", "data", "target", ".env"} <= ignored


# ---------------------------------------------------------------- commands the containers run


def container_commands() -> list[list[str]]:
    """Every command line a container runs: compose commands, the healthcheck, Dockerfile RUN steps of
    our CLI, the scheduler entrypoint's and the crontab's jobs."""
    services = compose()["services"]
    commands = [
        services["spark"]["command"],
        with_defaults(services["spark-master"]["command"]),
        with_defaults(services["spark-worker"]["command"]),
        services["docs"]["command"],
        services["pipeline"]["entrypoint"] + services["pipeline"]["command"],
        services["spark"]["healthcheck"]["test"][1:],
    ]
    commands += [
        shlex.split(args) for kind, args in dockerfile_instructions() if kind == "RUN" and CONSOLE_SCRIPT in args
    ]
    entrypoint = (REPO / "docker" / "scheduler-entrypoint.sh").read_text()
    commands += [shlex.split(m) for m in re.findall(rf"({CONSOLE_SCRIPT} [a-z -]+)", entrypoint)]
    return commands


def test_every_container_command_is_a_real_entry_point() -> None:
    commands = container_commands()
    assert [CONSOLE_SCRIPT, "server", "start", "--foreground"] in commands
    assert [CONSOLE_SCRIPT, "crontab"] in commands
    assert [CONSOLE_SCRIPT, "server", "fetch-jars"] in commands
    for command in map(list, dict.fromkeys(map(tuple, commands))):  # each distinct command once
        if command[0] == CONSOLE_SCRIPT:
            result = cli_help(command[1:])
        else:
            assert command[0] == "dbt", command
            result = run_command([str(Path(sys.executable).parent / "dbt"), *command[1:3], "--help"], {})
            for option in (arg for arg in command if arg.startswith("--")):
                assert option in result.stdout, f"dbt {command[1:3]} has no {option}"
        assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"


def test_scheduler_scripts_are_executable_shell() -> None:
    for script in ("scheduler-entrypoint.sh", "run-job.sh"):
        path = REPO / "docker" / script
        assert os.access(path, os.X_OK), script
        checked = run_command(["sh", "-n", str(path)], {})
        assert checked.returncode == 0, checked.stderr


# ---------------------------------------------------------------- crontab


def expand(field: str, low: int, high: int) -> set[int]:
    """The values a cron field selects (numbers only), checked independently of spotify_analytics.pipeline.schedule."""
    values: set[int] = set()
    for item in field.split(","):
        spec, _, step = item.partition("/")
        first, last = (low, high) if spec == "*" else (int(spec.split("-")[0]), int(spec.split("-")[-1]))
        assert low <= first <= last <= high, f"{item} outside {low}-{high}"
        values |= set(range(first, last + 1, int(step or 1)))
    return values


RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def crontab_jobs(env: dict[str, str] | None = None) -> list[tuple[list[set[int]], str, list[str]]]:
    result = run_command([sys.executable, "-m", "spotify_analytics", "crontab"], env or {})
    assert result.returncode == 0, result.stderr
    jobs = []
    for line in result.stdout.splitlines():
        if not line.strip() or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split()
        schedule = [expand(f, lo, hi) for f, (lo, hi) in zip(fields[:5], RANGES, strict=True)]
        jobs.append((schedule, fields[5], fields[6:]))
    return jobs


def test_crontab_runs_the_pipeline_every_6_hours_and_poll_every_30_minutes() -> None:
    jobs = crontab_jobs()
    assert len(jobs) == 2
    by_command = {tuple(command[1:]): (schedule, user) for schedule, user, command in jobs}
    pipeline_schedule, user = by_command[("pipeline",)]
    assert user == "app"
    assert pipeline_schedule[:2] == [{0}, {0, 6, 12, 18}]
    poll_schedule, _ = by_command[("poll",)]
    assert poll_schedule[:2] == [{0, 30}, set(range(24))]
    for _, _, command in jobs:
        assert command[0] == "/app/docker/run-job.sh"
        assert (REPO / "docker" / "run-job.sh").is_file()
        assert cli_help(command[1:]).returncode == 0, command  # the job runs `spotify-analytics <args>`
    assert 'spotify-analytics "$@"' in (REPO / "docker" / "run-job.sh").read_text()


def test_crontab_schedules_are_configurable_and_checked() -> None:
    jobs = crontab_jobs({"PIPELINE_SCHEDULE": "15 2,14 * * 1-5", "POLL_SCHEDULE": "*/10 * * * *"})
    schedules = {tuple(command[1:]): schedule for schedule, _, command in jobs}
    assert schedules[("pipeline",)][:2] == [{15}, {2, 14}]
    assert schedules[("pipeline",)][4] == {1, 2, 3, 4, 5}
    assert schedules[("poll",)][0] == {0, 10, 20, 30, 40, 50}

    for bad in ("61 * * * *", "0 */6 * *", "0 24 * * *", "0 5-2 * * *"):
        result = run_command([sys.executable, "-m", "spotify_analytics", "crontab"], {"PIPELINE_SCHEDULE": bad})
        assert result.returncode == 2, bad
        assert "PIPELINE_SCHEDULE" in result.stderr, result.stderr


# ---------------------------------------------------------------- the spark service's command


def test_spark_service_runs_the_server_in_the_foreground(tmp_path: Path) -> None:
    """`server start --foreground` (the spark container's command) becomes the server process itself,
    bound to 0.0.0.0 as in the container; the healthcheck sees it ready; SIGTERM stops it."""
    env = lakehouse_env(tmp_path / "data", LAKEHOUSE_BIND_HOST="0.0.0.0")
    settings_env = {**os.environ, **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "spotify_analytics", "server", "start", "--foreground"],
        cwd=REPO,
        env=settings_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        health = run_command([sys.executable, "-m", "spotify_analytics", "server", "status"], env)
        while health.returncode != 0 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(3)
            health = run_command([sys.executable, "-m", "spotify_analytics", "server", "status"], env)
        assert health.returncode == 0, (health.stdout, process.poll())
        pid_file = tmp_path / "data" / "lakehouse" / "server.pid"
        assert int(pid_file.read_text()) == process.pid  # exec: the container's main process is the JVM
        assert b"HiveThriftServer2" in Path(f"/proc/{process.pid}/cmdline").read_bytes()

        second = run_command([sys.executable, "-m", "spotify_analytics", "server", "start", "--foreground"], env)
        assert second.returncode == 1
        assert f"already runs (pid {process.pid})" in second.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert not server.port_open("127.0.0.1", int(env["THRIFT_PORT"]))
