"""The dbt Python models' own code, imported from ``python_models/gold`` so evaluation reuses it unchanged."""

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ingest.config import Settings

MODELS_DIR = Path("python_models") / "gold"


@cache
def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"gold_model_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the dbt Python model {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gold_model(settings: Settings, name: str) -> ModuleType:
    """The module of ``python_models/gold/<name>.py`` (its helper functions; ``model()`` is not called)."""
    return _load(settings.project_dir / MODELS_DIR / f"{name}.py")


def project_vars(settings: Settings) -> dict[str, Any]:
    """The ``vars:`` of dbt_project.yml, so evaluation uses the same parameters as the build."""
    project = yaml.safe_load((settings.project_dir / "dbt_project.yml").read_text())
    return project.get("vars", {})
