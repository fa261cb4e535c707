"""The listening-rhythm indicators as dbt_project.yml declares them: their names, groups, labels and sources, and the
thresholds below which a figure is null (``vars.rhythm_*``). The report reads them here; the dbt models read the
same vars, so an indicator, a source or a threshold is written once."""

from dataclasses import dataclass
from functools import cache

import yaml

from ingest.audio_features import project_file


@dataclass(frozen=True)
class Indicator:
    name: str  # the listening_rhythms column
    group: str  # the report section it belongs to
    label: str
    feature_based: bool  # rests on audio features (their coverage decides whether it is shown)


@dataclass(frozen=True)
class RhythmSettings:
    indicators: tuple[Indicator, ...]
    group_sources: dict[str, tuple[str, ...]]  # group -> keys of ``sources``
    sources: dict[str, str]  # key -> the full reference
    min_minutes: float
    min_measured_share: float

    def of_group(self, group: str) -> list[Indicator]:
        return [indicator for indicator in self.indicators if indicator.group == group]

    def citations(self, group: str) -> list[str]:
        return [self.sources[key] for key in self.group_sources.get(group, ())]

    def label(self, name: str) -> str:
        return next((i.label for i in self.indicators if i.name == name), name.replace("_", " "))


@cache
def rhythm_settings() -> RhythmSettings:
    path = project_file()
    declared = yaml.safe_load(path.read_text(encoding="utf-8"))["vars"]
    indicators = tuple(
        Indicator(entry["name"], entry["group"], entry["label"], bool(entry["feature_based"]))
        for entry in declared["rhythm_indicators"]
    )
    groups = {group: tuple(keys) for group, keys in declared["rhythm_groups"].items()}
    sources = {key: " ".join(str(text).split()) for key, text in declared["rhythm_sources"].items()}
    unknown = sorted(
        {i.group for i in indicators} - set(groups) | {k for keys in groups.values() for k in keys} - set(sources)
    )
    if unknown:
        raise ValueError(f"{path}: vars.rhythm_indicators / rhythm_groups name unknown groups or sources: {unknown}")
    return RhythmSettings(
        indicators, groups, sources, float(declared["rhythm_min_minutes"]), float(declared["rhythm_min_measured_share"])
    )
