"""Mood states of listening sessions: k by silhouette, cluster order and labels, the fit's centroids and
standardisation (Spark assigns the sessions with them: tests/integration/test_python_models.py)."""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from spotify_analytics.gold_models.mood_states import (
    BUILD_COLUMNS,
    MOOD_FEATURES,
    FitMarkers,
    MoodFit,
    assigns,
    best_k,
    current_fit,
    fit_moods,
    k_range,
    mood_label,
    settings_fingerprint,
    silhouette_sample,
)

# Three moods, far apart in every feature: (valence, energy) of each, the other features from the centre.
MOODS = {"calm-negative": (0.2, 0.3, 0.1), "energetic-positive": (0.6, 0.8, 0.5), "calm-positive": (0.9, 0.2, 0.9)}


def sessions_of_moods(per_mood: int = 30, seed: int = 0, prefix: str = "s") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for mood, (valence, energy, rest) in MOODS.items():
        for _ in range(per_mood):
            values = {name: rest + rng.normal(0, 0.01) for name in MOOD_FEATURES}
            values |= {"valence": valence + rng.normal(0, 0.01), "energy": energy + rng.normal(0, 0.01)}
            rows.append({"session_id": f"{prefix}{rng.integers(1e9):09d}", "user_id": "u", "mood": mood, **values})
    return pd.DataFrame(rows)


def nearest(sessions: pd.DataFrame, fit: MoodFit) -> np.ndarray:
    """Each session's cluster under the fit, worked out here with numpy (the model does it in Spark)."""
    features = sessions[MOOD_FEATURES].astype(float).fillna(pd.Series(fit.fill, index=MOOD_FEATURES))
    scaled = (features.to_numpy() - np.array(fit.mean)) / np.array(fit.scale)
    return ((scaled[:, None, :] - np.array(fit.centers)[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)


def test_k_is_the_silhouettes_choice_ids_follow_valence_and_labels_the_centroids_quadrant() -> None:
    sessions = sessions_of_moods()

    fit, silhouettes = fit_moods(sessions, range(2, 7), sample_size=5000, seed=42)

    assert len(fit.centers) == 3  # k = 3 of 2..6
    assert fit.labels == ("calm-negative", "energetic-positive", "calm-positive")  # ids by centroid valence
    clusters = pd.Series(nearest(sessions, fit), index=sessions["mood"])
    assert clusters.groupby(level=0).nunique().tolist() == [1, 1, 1]
    assert clusters.groupby(level=0).first().to_dict() == {
        "calm-negative": 0,
        "energetic-positive": 1,
        "calm-positive": 2,
    }
    assert sorted(silhouettes["session_id"]) == sorted(sessions["session_id"])  # fewer than sample_size: all
    assert silhouettes["silhouette"].between(0.8, 1).all()


def test_the_standardisation_is_the_sessions_mean_and_spread_and_gaps_take_the_median() -> None:
    sessions = sessions_of_moods()
    sessions.loc[0, "tempo"] = np.nan

    fit, _ = fit_moods(sessions, range(2, 7), sample_size=5000, seed=42)

    tempo = MOOD_FEATURES.index("tempo")
    median = sessions["tempo"].median()  # pandas skips the gap
    filled = sessions["tempo"].fillna(median)
    assert fit.fill[tempo] == pytest.approx(median)
    assert (fit.mean[tempo], fit.scale[tempo]) == pytest.approx((filled.mean(), filled.std(ddof=0)))


def test_the_same_sessions_and_seed_give_the_same_clusters() -> None:
    sessions = sessions_of_moods(seed=3)

    first, first_scores = fit_moods(sessions, range(2, 9), sample_size=50, seed=42)
    again, again_scores = fit_moods(sessions.iloc[::-1], range(2, 9), sample_size=50, seed=42)

    assert first == again
    pd.testing.assert_frame_equal(first_scores, again_scores)
    assert len(first_scores) == 50  # only the seeded sample is scored


def test_an_equal_silhouette_chooses_the_smaller_k() -> None:
    assert best_k({2: 0.4, 3: 0.7, 4: 0.7, 5: 0.1}) == 3
    assert best_k({6: 0.2, 2: 0.2}) == 2


def test_the_k_range_leaves_two_sessions_per_cluster_and_refuses_a_bad_range() -> None:
    assert k_range(2, 8, sessions=100) == range(2, 9)
    assert k_range(2, 8, sessions=9) == range(2, 5)
    assert not k_range(2, 8, sessions=3)
    with pytest.raises(ValueError, match="2 <= k_min <= k_max"):
        k_range(1, 8, sessions=100)
    with pytest.raises(ValueError, match="2 <= k_min <= k_max"):
        k_range(5, 4, sessions=100)


def test_the_silhouette_sample_is_seeded_sorted_and_bounded() -> None:
    sample = silhouette_sample(1000, 100, seed=42)

    assert len(sample) == 100 == len(set(sample))
    assert (np.diff(sample) > 0).all() and sample.max() < 1000
    assert np.array_equal(sample, silhouette_sample(1000, 100, seed=42))
    assert not np.array_equal(sample, silhouette_sample(1000, 100, seed=43))
    assert np.array_equal(silhouette_sample(7, 100, seed=42), np.arange(7))


@pytest.mark.parametrize(
    ("valence", "energy", "label"),
    [
        (0.8, 0.9, "energetic-positive"),
        (0.5, 0.5, "energetic-positive"),  # the midpoint counts as high
        (0.3, 0.7, "tense-negative"),
        (0.7, 0.2, "calm-positive"),
        (0.49, 0.49, "calm-negative"),
    ],
)
def test_labels_come_from_the_valence_and_energy_midpoints(valence: float, energy: float, label: str) -> None:
    assert mood_label(valence, energy) == label


NOW = datetime(2026, 12, 4, 12, 0)
SETTINGS = settings_fingerprint(2, 8, 5000, 42, 100_000)


def test_a_fit_is_reused_while_it_is_the_only_one_has_these_settings_and_is_young_enough() -> None:
    fit = FitMarkers(SETTINGS, fitted_at=NOW - timedelta(hours=23), latest_built_at=NOW - timedelta(hours=1))

    assert SETTINGS == "k 2..8, silhouette sample 5000, seed 42, fit on at most 100000 sessions"
    assert current_fit([fit], SETTINGS, refit_hours=24, now=NOW) == fit
    assert current_fit([fit], SETTINGS, refit_hours=23, now=NOW) == fit  # exactly refit_hours old
    assert current_fit([fit], SETTINGS, refit_hours=22.5, now=NOW) is None  # too old: refit
    assert current_fit([fit], settings_fingerprint(2, 8, 5000, 7, 100_000), 24, NOW) is None  # other settings
    assert current_fit([fit], settings_fingerprint(2, 8, 5000, 42, 50_000), 24, NOW) is None  # another bound
    other = FitMarkers(SETTINGS, NOW - timedelta(hours=2), NOW)
    assert current_fit([fit, other], SETTINGS, 24, NOW) is None  # two fits in the table
    assert current_fit([], SETTINGS, 24, NOW) is None  # an empty table


def test_rebuilt_sessions_are_assigned_up_to_the_refit_share_and_refitted_beyond() -> None:
    assert assigns(rebuilt_sessions=10, fitted_sessions=100, refit_share=0.1)
    assert not assigns(rebuilt_sessions=11, fitted_sessions=100, refit_share=0.1)
    assert assigns(0, 0, 0.1)
    assert not assigns(1, 0, 0.1)


def test_the_table_keeps_its_columns_in_order() -> None:
    assert BUILD_COLUMNS == [
        "session_id", "user_id", "session_start", "cluster_id", "label", "valence", "energy", "danceability",
        "acousticness", "instrumentalness", "loudness", "tempo", "plays", "featured_plays", "minutes_listened",
        "share_features_real", "share_features_kaggle", "share_features_synthetic", "silhouette", "fitted_on",
        "fitted_at", "built_at",
    ]  # fmt: skip
