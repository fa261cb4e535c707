"""The audio features, read from the one place they are written: ``vars.audio_features`` in dbt_project.yml.

dbt's macros, the Python models and the ingester all read that list, so adding or renaming a feature, or
changing its valid range, is one edit. Each feature has its staged ``name``, its ``bronze_name`` (the name in
Bronze, the Kaggle CSV and Spotify's JSON), a ``kind`` (continuous or categorical), a valid ``range`` and a ``unit``.
"""

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PROJECT_FILE = "dbt_project.yml"


@dataclass(frozen=True)
class AudioFeature:
    name: str
    bronze_name: str
    kind: str
    low: float
    high: float
    unit: str

    @property
    def continuous(self) -> bool:
        return self.kind == "continuous"


def project_file() -> Path:
    """dbt_project.yml: under PROJECT_DIR if set, else beside this package (a clone), else in the working directory."""
    candidates = [Path(os.environ["PROJECT_DIR"])] if os.environ.get("PROJECT_DIR") else []
    candidates += [Path(__file__).resolve().parents[1], Path.cwd()]
    for folder in candidates:
        if (folder / PROJECT_FILE).is_file():
            return folder / PROJECT_FILE
    searched = ", ".join(str(folder) for folder in candidates)
    raise FileNotFoundError(f"{PROJECT_FILE} not found (looked in {searched}); set PROJECT_DIR to the project folder")


@cache
def audio_features() -> tuple[AudioFeature, ...]:
    """The features in dbt_project.yml's order (the Kaggle CSV's)."""
    path = project_file()
    declared = yaml.safe_load(path.read_text(encoding="utf-8"))["vars"]["audio_features"]
    features = []
    for entry in declared:
        low, high = entry["range"]
        if entry["kind"] not in ("continuous", "categorical") or low >= high:
            raise ValueError(f"{path}: vars.audio_features entry {entry['name']!r} has a bad kind or range")
        bronze_name = entry.get("bronze_name", entry["name"])
        features.append(AudioFeature(entry["name"], bronze_name, entry["kind"], low, high, entry["unit"]))
    return tuple(features)


def bronze_names() -> tuple[str, ...]:
    """The features' Bronze column names, in order."""
    return tuple(feature.bronze_name for feature in audio_features())


def continuous_bronze_names() -> tuple[str, ...]:
    return tuple(feature.bronze_name for feature in audio_features() if feature.continuous)


def categorical_bronze_names() -> tuple[str, ...]:
    return tuple(feature.bronze_name for feature in audio_features() if not feature.continuous)


def valid_ranges() -> dict[str, tuple[float, float]]:
    """Valid range of each feature under its Bronze name."""
    return {feature.bronze_name: (feature.low, feature.high) for feature in audio_features()}
