"""The Gold models' feature lists come from the one list of audio features (dbt_project.yml)."""

import pytest

from ingest.audio_features import audio_features
from spotify_analytics.gold_models import mood_states, recommendations, sound_clusters
from spotify_analytics.gold_models.features import continuous_features, features_named


def test_sound_clusters_fit_every_continuous_feature_in_the_lists_order() -> None:
    continuous = [feature.name for feature in audio_features() if feature.kind == "continuous"]

    assert sound_clusters.FEATURES == continuous == continuous_features()
    assert sound_clusters.FEATURES == [
        "danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness", "liveness",
        "valence", "tempo",
    ]  # fmt: skip


def test_mood_and_recommendation_features_are_named_continuous_features() -> None:
    assert mood_states.MOOD_FEATURES == [
        "valence", "energy", "danceability", "acousticness", "instrumentalness", "loudness", "tempo"
    ]  # fmt: skip
    assert sorted(recommendations.FEATURES) == sorted(continuous_features())


@pytest.mark.parametrize("names", [("valence", "musical_key"), ("valence", "nonsense"), ("energy", "energy")])
def test_a_name_that_is_not_a_continuous_feature_or_repeats_is_refused(names: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="not continuous audio features"):
        features_named(*names)
