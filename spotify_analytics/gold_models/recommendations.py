"""Per listener: tracks that sound like their recent listening, and mood-directed picks toward a brighter
target (higher valence at similar energy), never songs they already play heavily (``track_recommendations``).

Plain pandas and numpy on small tables (the recent profile plays, heavy songs, the candidate tracks: catalog plus
listeners' own tracks with features); the Spark side that makes them is ``recommendations_spark``. Scores are
vectorised numpy over the candidates, one listener at a time.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from spotify_analytics.gold_models.features import features_named

log = logging.getLogger(__name__)

# The features compared, in this order: the order is part of the catalog fingerprint in `fitted_on`.
FEATURES = features_named(
    "danceability", "energy", "valence", "acousticness", "instrumentalness", "speechiness", "liveness", "loudness",
    "tempo",
)  # fmt: skip
CANDIDATE_COLUMNS = ["track_id", "track_name", "artist_names", *FEATURES]  # of the catalog (and fingerprinted)
MAX_TARGET_VALENCE = 0.95

OUTPUT_SCHEMA = (
    "user_id string, rank int, track_id string, track_name string, artist_name string, "
    "recommendation_type string, similarity double, target_valence double, target_energy double, "
    "reason string, track_valence double, track_energy double, profile_valence double, "
    "profile_energy double, profile_plays int, candidate_source string"
)
OUTPUT_COLUMNS = [field.split()[0] for field in OUTPUT_SCHEMA.split(", ")]
BUILD_SCHEMA = f"{OUTPUT_SCHEMA}, fitted_on string, built_at timestamp"  # the table: the lists and their build


@dataclass(frozen=True)
class RecommendationParams:
    count: int  # tracks per listener and recommendation type
    profile_plays: int  # the listener's latest plays with features that make the profile
    heavy_play_count: int  # a track played at least this often is never recommended to that listener
    valence_lift: float  # how far above the profile's valence the mood-directed target sits
    energy_tolerance: float  # mood-directed picks stay within this distance of the profile's energy


def song_key(track_ids: pd.Series, names: pd.Series, artists: pd.Series) -> pd.Series:
    """Case-folded 'title|first artist' (the catalog lists one song under several track ids); the track
    id when the title is unknown."""
    first_artist = artists.fillna("").str.split(";").str[0]
    key = names.fillna("").str.strip().str.lower() + "|" + first_artist.str.strip().str.lower()
    return key.where(names.fillna("").str.strip() != "", track_ids)


def fingerprint(catalog: str, params: RecommendationParams) -> str:
    """``fitted_on``: the catalog's content fingerprint (``ingest.fingerprint``, over CANDIDATE_COLUMNS) and the
    parameters."""
    return f"catalog {catalog}; {params}"


def recompute_since(builds: Sequence[tuple[str | None, datetime]], current: str) -> datetime | None:
    """Given the table's (fitted_on, latest built_at) pairs: the time after which changed plays mark the
    listeners to recompute, when every row was built on the current fingerprint; None when every listener is
    to be recomputed (a new catalog or new parameters)."""
    if len(builds) == 1 and builds[0][0] == current:
        return builds[0][1]
    return None


def standardise(candidates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = candidates[FEATURES].astype(float).to_numpy()
    mean = np.nanmean(values, axis=0)
    scale = np.nanstd(values, axis=0)
    scale[scale == 0] = 1.0
    scaled = np.nan_to_num((values - mean) / scale)
    return scaled, mean, scale


def cosine(vectors: np.ndarray, target: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(target) or 1.0)
    return vectors @ target / np.where(norms == 0, 1.0, norms)


def is_in(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which keys are among values, by hashing (np.isin compares string arrays pairwise: minutes at 1M plays)."""
    return pd.Index(keys).isin(values)


def top(similarity: np.ndarray, allowed: np.ndarray, keys: np.ndarray, count: int) -> list[int]:
    """Positions of the count most similar allowed candidates, one per song; ties broken by position."""
    positions = np.flatnonzero(allowed)
    ordered = positions[np.lexsort((positions, -similarity[positions]))]
    chosen: list[int] = []
    seen: set[str] = set()
    for position in ordered:
        if keys[position] not in seen:
            seen.add(keys[position])
            chosen.append(int(position))
            if len(chosen) == count:
                break
    return chosen


@dataclass(frozen=True)
class Candidates:
    """The candidate tracks as arrays, standardised once for every listener."""

    tracks: pd.DataFrame
    scaled: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    keys: np.ndarray
    is_catalog: np.ndarray
    position_of: pd.Series
    valence: np.ndarray
    energy: np.ndarray

    @classmethod
    def of(cls, tracks: pd.DataFrame, keys: np.ndarray | None = None) -> "Candidates":
        scaled, mean, scale = standardise(tracks)
        return cls(
            tracks=tracks,
            scaled=scaled,
            mean=mean,
            scale=scale,
            keys=song_key(tracks["track_id"], tracks["track_name"], tracks["artist_name"]).to_numpy()
            if keys is None
            else keys,
            is_catalog=(tracks["candidate_source"] == "catalog").to_numpy(),
            position_of=pd.Series(np.arange(len(tracks)), index=tracks["track_id"]),
            valence=tracks["valence"].to_numpy(dtype=float),
            energy=tracks["energy"].to_numpy(dtype=float),
        )

    def for_listener(self, own_ids: pd.Series) -> "Candidates":
        """The catalog and this listener's own tracks, standardised among themselves."""
        keep = self.is_catalog | is_in(self.tracks["track_id"].to_numpy(), own_ids.to_numpy())
        return Candidates.of(self.tracks[keep].reset_index(drop=True), self.keys[keep])


@dataclass(frozen=True)
class Profile:
    """A listener's ms_played-weighted mean features over their latest plays."""

    raw: np.ndarray
    plays: int

    @property
    def valence(self) -> float:
        return float(self.raw[FEATURES.index("valence")])

    @property
    def energy(self) -> float:
        return float(self.raw[FEATURES.index("energy")])


def reason(kind: str, profile: Profile, valence: float, energy: float, similarity: float, target: float) -> str:
    if kind == "similar":
        return (
            f"Sounds like your last {profile.plays} plays (cosine {similarity:.2f}): valence {valence:.2f} "
            f"vs your {profile.valence:.2f}, energy {energy:.2f} vs your {profile.energy:.2f}"
        )
    return (
        f"Brighter than your recent listening at similar energy: valence {valence:.2f} vs your "
        f"{profile.valence:.2f} (target {target:.2f}), energy {energy:.2f} vs your {profile.energy:.2f}; "
        f"cosine {similarity:.2f} to the target"
    )


def rows_for(
    user_id: str, kind: str, chosen: list[int], similarity: np.ndarray, pool: Candidates, profile: Profile,
    target: tuple[float, float],
) -> list[dict]:  # fmt: skip
    tracks = pool.tracks
    return [
        {
            "user_id": user_id,
            "rank": rank,
            "track_id": tracks.at[p, "track_id"],
            "track_name": tracks.at[p, "track_name"],
            "artist_name": tracks.at[p, "artist_name"],
            "recommendation_type": kind,
            "similarity": round(float(similarity[p]), 6),
            "target_valence": round(target[0], 6),
            "target_energy": round(target[1], 6),
            "reason": reason(kind, profile, pool.valence[p], pool.energy[p], similarity[p], target[0]),
            "track_valence": float(pool.valence[p]),
            "track_energy": float(pool.energy[p]),
            "profile_valence": round(profile.valence, 6),
            "profile_energy": round(profile.energy, 6),
            "profile_plays": profile.plays,
            "candidate_source": tracks.at[p, "candidate_source"],
        }
        for rank, p in enumerate(chosen, start=1)
    ]


def profile_of(plays: pd.DataFrame, pool: Candidates) -> Profile:
    features = plays[FEATURES].astype(float).fillna(pd.Series(pool.mean, FEATURES))
    weights = plays["ms_played"].clip(lower=1).to_numpy(dtype=float)
    return Profile(raw=np.average(features, axis=0, weights=weights), plays=len(plays))


def positions(pool: Candidates, track_ids: pd.Series | np.ndarray) -> np.ndarray:
    """Positions in the pool of the track ids it holds."""
    return pool.position_of.reindex(track_ids).dropna().astype(int).to_numpy()


def recommend_for_user(
    user_id: str, plays: pd.DataFrame, heavy_keys: np.ndarray, own_ids: pd.Series, pool: Candidates,
    params: RecommendationParams, heavy_ids: list[str] | None = None,
) -> list[dict]:  # fmt: skip
    """Similar picks, then mood-directed picks (different songs), for one listener. Songs played heavily,
    by song key or by the key of a heavily played track id, are never picked."""
    profile = profile_of(plays, pool)
    vector = (profile.raw - pool.mean) / pool.scale
    allowed = pool.is_catalog.copy()
    allowed[positions(pool, own_ids)] = True
    heavy_songs = np.concatenate([np.asarray(heavy_keys, dtype=object), pool.keys[positions(pool, heavy_ids or [])]])
    allowed &= ~is_in(pool.keys, heavy_songs)

    similarity = cosine(pool.scaled, vector)
    similar = top(similarity, allowed, pool.keys, params.count)

    valence_at = FEATURES.index("valence")
    target_valence = float(np.clip(profile.valence + params.valence_lift, profile.valence, MAX_TARGET_VALENCE))
    target = vector.copy()
    target[valence_at] = (target_valence - pool.mean[valence_at]) / pool.scale[valence_at]
    toward = cosine(pool.scaled, target)
    brighter = (pool.valence > profile.valence) & (np.abs(pool.energy - profile.energy) <= params.energy_tolerance)
    mood = top(toward, allowed & brighter & ~is_in(pool.keys, pool.keys[similar]), pool.keys, params.count)

    return [
        *rows_for(user_id, "similar", similar, similarity, pool, profile, (profile.valence, profile.energy)),
        *rows_for(user_id, "mood_directed", mood, toward, pool, profile, (target_valence, profile.energy)),
    ]


def recommend(
    recent: pd.DataFrame,
    heavy: pd.DataFrame,
    candidates: pd.DataFrame,
    owners: pd.DataFrame,
    params: RecommendationParams,
    heavy_ids: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Both recommendation lists for every listener with a profile, each from the catalog and their own tracks."""
    everyone = Candidates.of(candidates)
    heavy_keys = heavy.groupby("user_id")["song_key"].agg(list).to_dict()
    heavy_tracks_of = {} if heavy_ids is None else heavy_ids.groupby("user_id")["track_id"].agg(list).to_dict()
    owned_by_user = owners.groupby("user_id")["track_id"]
    rows: list[dict] = []
    for user_id, plays in recent.groupby("user_id", sort=True):
        own_ids = owned_by_user.get_group(user_id) if user_id in owned_by_user.groups else pd.Series([], dtype=str)
        rows += recommend_for_user(
            user_id, plays, np.asarray(heavy_keys.get(user_id, []), dtype=object), own_ids,
            everyone.for_listener(own_ids), params, heavy_tracks_of.get(user_id),
        )  # fmt: skip
    log.info("track recommendations: %d rows for %d listeners", len(rows), recent["user_id"].nunique())
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def validated(params: RecommendationParams) -> RecommendationParams:
    """The parameters, when the counts are at least 1."""
    if params.count < 1 or params.profile_plays < 1 or params.heavy_play_count < 1:
        raise ValueError(f"recommendation count, profile_plays and heavy_play_count must be >= 1: {params}")
    return params
