"""A scheduled dbt build leaves the views and seeds that have not changed since the last successful build as they
are, instead of creating them again (a view or a seed costs a second or so of a build that may have little else
to do).

After each successful build the project's manifest is kept in ``<data>/state/dbt_last_build/`` with the settings dbt
read (its vars and the environment variables ``dbt_project.yml`` reads). The next build, when those settings are the
same, adds dbt's own state comparison to its exclusions: ``resource_type:seed,state:unmodified`` and
``config.materialized:view,state:unmodified`` (dbt compares each node's code, config and the macros it calls). A
view or seed that is new or changed is built; everything else is built as selected. The state lives in the data
directory, so a new lakehouse starts without it and builds everything.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

from ingest.config import Settings
from ingest.landing.store import read_json, write_json
from spotify_analytics.pipeline.dbt import target_path

STATE_DIR = "dbt_last_build"
SETTINGS_FILE = "settings.json"
MANIFEST = "manifest.json"
DBT_SETTINGS = ("TIMEZONE", "ALLOW_SYNTHETIC")  # what dbt_project.yml reads from the environment
UNCHANGED = ("resource_type:seed,state:unmodified", "config.materialized:view,state:unmodified")


def state_dir(settings: Settings) -> Path:
    return settings.ingest_state_path / STATE_DIR


def dbt_settings(args: list[str]) -> str:
    """What dbt reads besides the project: the command's vars and the environment variables the project reads."""
    at = args.index("--vars") if "--vars" in args else -1
    read = {"vars": args[at + 1] if at >= 0 else None} | {name: os.environ.get(name) for name in DBT_SETTINGS}
    return hashlib.sha256(json.dumps(read, sort_keys=True).encode()).hexdigest()[:20]


def with_unchanged_left_out(args: list[str], settings: Settings) -> list[str]:
    """``args`` of a ``dbt build`` with the unchanged views and seeds excluded, when the last build's state holds
    for these settings; ``args`` unchanged otherwise."""
    folder = state_dir(settings)
    recorded = read_json(folder / SETTINGS_FILE, None)
    if not args or args[0] != "build" or not (folder / MANIFEST).is_file() or recorded != dbt_settings(args):
        return args
    if "--exclude" in args:
        at = args.index("--exclude") + 1
        while at < len(args) and not args[at].startswith("-"):
            at += 1
        extended = [*args[:at], *UNCHANGED, *args[at:]]
    else:
        extended = [*args, "--exclude", *UNCHANGED]
    return [*extended, "--state", str(folder)]


def keep_state(args: list[str], settings: Settings) -> None:
    """After a successful build: its manifest (in dbt's ``target_path``) and settings are the state the next build
    compares with."""
    target = target_path(settings)
    if not args or args[0] != "build" or not (target / MANIFEST).is_file():
        return
    folder = state_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target / MANIFEST, folder / f"{MANIFEST}.tmp")
    os.replace(folder / f"{MANIFEST}.tmp", folder / MANIFEST)
    write_json(folder / SETTINGS_FILE, dbt_settings(args))
