"""What each step of the pipeline reads, as a fingerprint: a step whose inputs are as they were when it last succeeded
has nothing to do, and the run skips it, saying so, in well under a second.

Inputs are read from disk, never through the server: a Delta table is its latest commit's number (the newest file
of its ``_delta_log``), a folder of landed files the names, sizes and times of its files, the project the same of
its code and dbt files. A step's fingerprint is recorded once it has succeeded (as its inputs are then: a load
changes Bronze, which it reads too), in ``<data>/state/pipeline_steps.json``; a failed step records nothing, so the
next run runs it again.

- ``demo``: what decides whether the demo listener is wanted: the landed files, whether Spotify credentials are
  set, whether it was removed, whether Bronze has a plays table (while the landed files leave it open), the code;
- ``load``: the landed files, the catalog file, Bronze, the code (never skipped while a killed Bronze writer's record
  is left, nor is ``demo``: its work must be stopped);
- ``validate_bronze``: Bronze, the quality config, the code;
- ``dbt_build_silver``: Bronze, the dbt project (and the code its Python models import) and the settings dbt reads
  (``TIMEZONE``, ``ALLOW_SYNTHETIC``), the tables there are;
- ``validate_silver``: Silver, the quality config, the code;
- ``dbt_build_gold``: Bronze, Silver, the dbt project and its settings, the tables there are;
- ``dbt_docs``: the dbt project and the tables there are (not their rows: the catalog is their columns), its output;
- ``report``: Silver, Gold, the listeners' lapsed authorisations and failed polls, the code, its output.

``poll`` always runs: Spotify is its input; so does ``maintain``: the clock is one of its inputs (a weekly VACUUM),
and it says "nothing due" in milliseconds when there is nothing to do.
"""

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ingest.config import Settings
from ingest.lakehouse.delta_log import LOG_FOLDER, content_version, table_folders
from ingest.landing.store import read_json, write_json
from spotify_analytics.pipeline.dbt import target_path
from spotify_analytics.pipeline.dbt_state import DBT_SETTINGS

STATE_FILE = "pipeline_steps.json"
CODE = ("ingest", "spotify_analytics", "pyproject.toml")
DBT_PROJECT = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/generic", "python_models")
ALWAYS_RUN = frozenset({"poll", "maintain"})


def state_path(settings: Settings) -> Path:
    return settings.ingest_state_path / STATE_FILE


def delta_versions(database_folder: Path) -> Iterator[tuple[str, int, int, int]]:
    """(table folder, latest commit that may have changed rows, its commit file's size and time) of every Delta table
    in a database's folder: the upkeep's OPTIMIZE and VACUUM leave a step's inputs as they were, a commit file cut
    short or replaced does not."""
    if database_folder.is_dir():
        for table in sorted(database_folder.iterdir()):
            if (table / LOG_FOLDER).is_dir():
                version = content_version(table)
                try:
                    stat = (table / LOG_FOLDER / f"{version:020d}.json").stat()
                except OSError:
                    yield table.name, version, -1, -1
                    continue
                yield table.name, version, stat.st_size, stat.st_mtime_ns


def file_stats(root: Path, paths: Iterable[str]) -> Iterator[tuple[str, int, int]]:
    """(path, size, modification time) of every file under ``paths`` (files or folders, relative to ``root``)."""
    for relative in paths:
        path = root / relative
        if path.is_file():
            stat = path.stat()
            yield relative, stat.st_size, stat.st_mtime_ns
        elif path.is_dir():
            for folder, folders, files in os.walk(path):
                folders[:] = sorted(name for name in folders if name not in ("__pycache__", LOG_FOLDER))
                for name in sorted(files):
                    stat = (Path(folder) / name).stat()
                    yield str(Path(folder) / name), stat.st_size, stat.st_mtime_ns


def step_inputs(step: str, settings: Settings) -> object | None:
    """What ``step`` reads, as plain data; None for a step that always runs."""
    data, project = settings.data_path, settings.project_dir
    if step in ALWAYS_RUN:
        return None
    from ingest.bronze.writer import record_path

    def tables(*databases: str) -> dict[str, list[tuple[str, int, int, int]]]:
        return {database: list(delta_versions(data / database)) for database in databases}

    def files(root: Path, *paths: str) -> list[tuple[str, int, int]]:
        return list(file_stats(root, paths))

    code = files(project, *CODE)
    quality = files(settings.project_dir, str(settings.path(settings.quality_config)))
    dbt = (files(project, *DBT_PROJECT, *CODE), {name: os.environ.get(name) for name in DBT_SETTINGS})
    folders = [str(folder.relative_to(data)) for folder in table_folders(data)]

    def own(*databases: str) -> list[str]:
        """The tables there are in the databases a step writes (one dropped by hand is built again)."""
        return [folder for folder in folders if folder.split("/")[0] in databases]

    if step in ("demo", "load"):
        if record_path(settings).exists():
            return None  # a killed writer's work is to be stopped: the load must run
        if step == "demo":
            return files(data, "landing"), demo_wanted_inputs(settings), code
        catalog = files(project, str(settings.path(settings.kaggle_csv)))
        return files(data, "landing"), catalog, tables("bronze"), code
    if step == "validate_bronze":
        return tables("bronze"), quality, code
    if step == "dbt_build_silver":
        return tables("bronze"), dbt, own("staging", "intermediate", "seeds", "silver")
    if step == "validate_silver":
        return tables("silver"), quality, code
    if step == "dbt_build_gold":
        return tables("bronze", "silver"), dbt, own("gold")
    if step == "dbt_docs":
        return dbt, folders, files(target_path(settings), "catalog.json", "index.html")
    if step == "report":
        return tables("silver", "gold"), files(data, *listener_flags(data)), code, files(data, "reports")
    return None


def demo_wanted_inputs(settings: Settings) -> tuple[bool, bool, bool]:
    """Besides the landed files, what ``demo add --when-empty`` decides on (``why_no_demo``): credentials set, the
    demo removed, and a Bronze plays table there, which counts only while the landed files leave the question open
    (neither a listener's plays nor the demo landed): a first run's load creates the table after its demo step, and
    the next run's demo step has nothing new to decide."""
    from ingest.bronze.declaration import BRONZE_DATABASE
    from ingest.bronze.schemas import LISTENING_HISTORY
    from ingest.demo.listener import demo_present, real_plays_landed, removed_marker
    from ingest.spotify.client import has_credentials

    plays = settings.data_path / BRONZE_DATABASE / LISTENING_HISTORY.name / LOG_FOLDER
    decided_by_landing = real_plays_landed(settings) or demo_present(settings)
    return has_credentials(settings), removed_marker(settings).exists(), not decided_by_landing and plays.is_dir()


def listener_flags(data: Path) -> list[str]:
    """The files of the listeners' lapsed authorisations and failed polls (the report shows them)."""
    from ingest.spotify.lapse import LAPSED
    from ingest.spotify.poll_failures import POLL_FAILED

    flags = (LAPSED.file_name, POLL_FAILED.file_name)
    return sorted(str(path.relative_to(data)) for name in flags for path in data.glob(f"state/*/{name}"))


def fingerprint(step: str, settings: Settings) -> str | None:
    inputs = step_inputs(step, settings)
    if inputs is None:
        return None
    return hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()[:20]


def unchanged_since(step: str, settings: Settings) -> str | None:
    """When ``step`` last succeeded on the inputs it has now (its run id): it has nothing to do; None otherwise."""
    current = fingerprint(step, settings)
    recorded = (read_json(state_path(settings), {}) or {}).get(step)
    if current is None or not isinstance(recorded, dict) or recorded.get("inputs") != current:
        return None
    return str(recorded.get("run_id", "an earlier run"))


def record_success(step: str, settings: Settings, run_id: str) -> None:
    """``step`` succeeded: its inputs as they are now are done with."""
    current = fingerprint(step, settings)
    state = read_json(state_path(settings), {}) or {}
    if current is None:
        state.pop(step, None)
    else:
        state[step] = {"inputs": current, "run_id": run_id, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    write_json(state_path(settings), state)
