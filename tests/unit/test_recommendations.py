"""Track recommendations from a listener's recent plays: similar picks, brighter picks, never heavy songs."""

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from spotify_analytics.gold_models.recommendations import (
    FEATURES,
    MAX_TARGET_VALENCE,
    OUTPUT_COLUMNS,
    RecommendationParams,
    fingerprint,
    recommend,
    recompute_since,
    song_key,
    top,
    validated,
)

PARAMS = RecommendationParams(count=5, profile_plays=200, heavy_play_count=3, valence_lift=0.2, energy_tolerance=0.1)


def catalog(tracks: int = 80, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.uniform(0, 1, tracks) for name in FEATURES})
    frame["loudness"] = rng.uniform(-20, 0, tracks)
    frame["tempo"] = rng.uniform(60, 180, tracks)
    frame.insert(0, "track_id", [f"t{i:03d}" for i in range(tracks)])
    frame.insert(1, "track_name", [f"Song {i}" for i in range(tracks)])
    frame.insert(2, "artist_name", [f"Artist {i % 7}" for i in range(tracks)])
    frame["candidate_source"] = "catalog"
    return frame


def plays_of(tracks: pd.DataFrame, user_id: str) -> pd.DataFrame:
    """The listener's recent plays: the given tracks' features, one play each."""
    return tracks[FEATURES].assign(user_id=user_id, ms_played=180_000)[["user_id", "ms_played", *FEATURES]]


def test_song_keys_fold_case_and_take_the_first_artist_else_the_track_id() -> None:
    keys = song_key(
        pd.Series(["a", "b", "c"]), pd.Series([" Hello ", "", None]), pd.Series(["Adele; Someone", "X", "Y"])
    )

    assert keys.tolist() == ["hello|adele", "b", "c"]


def test_top_takes_the_most_similar_allowed_one_per_song_ties_by_position() -> None:
    similarity = np.array([0.9, 0.9, 0.95, 0.5, 0.8, 0.1])
    allowed = np.array([True, True, False, True, True, True])
    keys = np.array(["a", "b", "c", "d", "a", "e"])

    assert top(similarity, allowed, keys, count=3) == [0, 1, 3]  # position 4 repeats song "a"
    assert top(similarity, allowed, keys, count=10) == [0, 1, 3, 5]


def test_each_listener_gets_count_similar_and_brighter_picks_never_of_songs_they_play_heavily() -> None:
    candidates = catalog()
    # t001b is t001's song under another id; u1 plays t001 heavily (by id), t000 by song key
    duplicate = candidates.iloc[[1]].assign(track_id="t001b")
    own = candidates.iloc[[2]].assign(track_id="own_u2", track_name="Home Recording", candidate_source="own")
    candidates = pd.concat([candidates, duplicate, own], ignore_index=True).sort_values("track_id", ignore_index=True)
    recent = pd.concat([plays_of(candidates.iloc[:6], "u1"), plays_of(candidates.iloc[10:16], "u2")])
    heavy = pd.DataFrame({"user_id": ["u1"], "song_key": ["song 0|artist 0"]})
    heavy_ids = pd.DataFrame({"user_id": ["u1"], "track_id": ["t001"]})
    owners = pd.DataFrame({"user_id": ["u2"], "track_id": ["own_u2"]})

    rows = recommend(recent, heavy, candidates, owners, PARAMS, heavy_ids)

    assert list(rows.columns) == OUTPUT_COLUMNS
    for (_, kind), picks in rows.groupby(["user_id", "recommendation_type"]):
        assert picks["rank"].tolist() == list(range(1, len(picks) + 1))
        assert len(picks) == PARAMS.count or (kind == "mood_directed" and 1 <= len(picks) < PARAMS.count)
        assert picks["similarity"].is_monotonic_decreasing
    u1 = rows[rows["user_id"] == "u1"]
    assert not {"t000", "t001", "t001b", "own_u2"} & set(u1["track_id"])  # heavy songs; u2's own track
    keys = song_key(rows["track_id"], rows["track_name"], rows["artist_name"])
    for user_id in ["u1", "u2"]:
        similar = set(keys[(rows["user_id"] == user_id) & (rows["recommendation_type"] == "similar")])
        mood = set(keys[(rows["user_id"] == user_id) & (rows["recommendation_type"] == "mood_directed")])
        assert not similar & mood

    mood_rows = rows[rows["recommendation_type"] == "mood_directed"]
    assert set(mood_rows["user_id"]) == {"u1", "u2"}
    assert (mood_rows["track_valence"] > mood_rows["profile_valence"]).all()
    assert ((mood_rows["track_energy"] - mood_rows["profile_energy"]).abs() <= PARAMS.energy_tolerance).all()
    expected_target = np.minimum(mood_rows["profile_valence"] + PARAMS.valence_lift, MAX_TARGET_VALENCE)
    assert np.allclose(mood_rows["target_valence"], expected_target, atol=1e-6)
    profile_valence = plays_of(candidates.iloc[:6], "u1")["valence"].mean()
    assert np.allclose(u1["profile_valence"], profile_valence, atol=1e-6)
    assert set(u1["profile_plays"]) == {6}


def test_the_most_similar_pick_is_a_track_that_sounds_like_the_profile() -> None:
    candidates = catalog()
    recent = plays_of(candidates.iloc[[40]], "u1")

    rows = recommend(recent, pd.DataFrame(columns=["user_id", "song_key"]), candidates,
                     pd.DataFrame(columns=["user_id", "track_id"]), PARAMS)  # fmt: skip

    first = rows[(rows["recommendation_type"] == "similar") & (rows["rank"] == 1)].iloc[0]
    assert first["track_id"] == "t040" and first["similarity"] == pytest.approx(1.0)


def test_a_listeners_own_tracks_are_offered_only_to_them() -> None:
    candidates = catalog(tracks=10)
    own = candidates.iloc[[3]].assign(track_id="own", track_name="Mine", candidate_source="own")
    candidates = pd.concat([candidates, own], ignore_index=True).sort_values("track_id", ignore_index=True)
    recent = pd.concat([plays_of(own, "u1"), plays_of(own, "u2")])
    owners = pd.DataFrame({"user_id": ["u1"], "track_id": ["own"]})
    no_heavy = pd.DataFrame(columns=["user_id", "song_key"])

    rows = recommend(recent, no_heavy, candidates, owners, PARAMS)

    similar = rows[rows["recommendation_type"] == "similar"].set_index(["user_id", "rank"])
    assert similar.loc[("u1", 1), "track_id"] == "own"
    assert similar.loc[("u1", 1), "candidate_source"] == "own"
    assert "own" not in set(rows.loc[rows["user_id"] == "u2", "track_id"])


def test_only_the_listeners_with_new_plays_are_recomputed_while_catalog_and_parameters_stay() -> None:
    current = fingerprint("5 rows, content 9", PARAMS)
    since = datetime(2026, 12, 4, 9, 30)

    assert current == (
        "catalog 5 rows, content 9; RecommendationParams(count=5, profile_plays=200, heavy_play_count=3, "
        "valence_lift=0.2, energy_tolerance=0.1)"
    )
    assert recompute_since([(current, since)], current) == since
    assert recompute_since([(fingerprint("6 rows, content 9", PARAMS), since)], current) is None
    assert recompute_since([(current, since), ("older", since)], current) is None
    assert recompute_since([], current) is None


def test_counts_below_one_are_refused() -> None:
    assert validated(PARAMS) == PARAMS
    with pytest.raises(ValueError, match=">= 1"):
        validated(RecommendationParams(0, 200, 3, 0.2, 0.1))
