"""The audio features a Gold model uses, taken by name from the one list (dbt_project.yml's
``vars.audio_features``, read by ``ingest.audio_features``)."""

from ingest.audio_features import audio_features


def continuous_features() -> list[str]:
    """Every continuous feature's staged name, in the list's order."""
    return [feature.name for feature in audio_features() if feature.continuous]


def features_named(*names: str) -> list[str]:
    """These continuous features, in this order; a name the list lacks is an error."""
    known = continuous_features()
    unknown = [name for name in names if name not in known]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"not continuous audio features of vars.audio_features (or repeated): {list(names)}")
    return list(names)
