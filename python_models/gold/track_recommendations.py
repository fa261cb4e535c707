"""Per listener: tracks that sound like their recent listening, and mood-directed picks toward a brighter
target (higher valence at similar energy), never tracks they already play heavily.

Spark does the per-play work (recent plays, heavy tracks, each listener's own tracks); pandas gets only
small tables: the recent profile plays, heavy (listener, track) pairs and the candidate tracks (catalog
plus listeners' tracks with features). Scores are vectorised numpy over the candidates, one listener at
a time. `spotify_analytics.evaluation.recommendations` imports these functions for the offline hold-out check.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from dbt.adapters.spark_lakehouse.replacement import EVERYTHING, among, replace_where
from pyspark.sql import Window
from pyspark.sql import functions as F

from ingest.fingerprint import content_fingerprint

log = logging.getLogger("spotify_analytics.track_recommendations")

FEATURES = [
    "danceability",
    "energy",
    "valence",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "loudness",
    "tempo",
]
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


def song_key(track_ids, names, artists):
    """Case-folded 'title|first artist' (the catalog lists one song under several track ids); the track
    id when the title is unknown."""
    first_artist = artists.fillna("").str.split(";").str[0]
    key = names.fillna("").str.strip().str.lower() + "|" + first_artist.str.strip().str.lower()
    return key.where(names.fillna("").str.strip() != "", track_ids)


def song_key_column():
    """song_key() as a Spark column over track_id, track_name and artist_name."""
    title = F.lower(F.trim("track_name"))
    return F.when(F.coalesce(title, F.lit("")) == "", F.col("track_id")).otherwise(
        F.concat_ws("|", title, F.lower(F.trim(F.split("artist_name", ";").getItem(0))))
    )


def recent_plays(plays, profile_plays: int) -> pd.DataFrame:
    """Each listener's latest plays with features (Spark), as pandas."""
    latest_first = Window.partitionBy("user_id").orderBy(F.desc("played_at"), F.desc("play_id"))
    return (
        plays.where(F.col("has_features"))
        .withColumn("recency", F.row_number().over(latest_first))
        .where(F.col("recency") <= profile_plays)
        .select("user_id", "ms_played", *FEATURES)
        .toPandas()
    )


def listener_tracks(plays):
    """Plays per listener and track as spelled (track id, title, artist), with the track's features: the one
    pass over Silver that heavy_tracks(), heavy_track_ids() and candidate_tracks() read from."""
    return plays.groupBy("user_id", "track_id", "track_name", "artist_name").agg(
        F.count(F.lit(1)).alias("plays"),
        F.bool_or("has_features").alias("has_features"),
        *[F.first(name, ignorenulls=True).alias(name) for name in FEATURES],
    )


def heavy_tracks(tracks, heavy_play_count: int) -> pd.DataFrame:
    """(user_id, song_key) of songs each listener played at least heavy_play_count times."""
    return (
        tracks.groupBy("user_id", song_key_column().alias("song_key"))
        .agg(F.sum("plays").alias("plays"))
        .where(F.col("plays") >= heavy_play_count)
        .select("user_id", "song_key")
        .toPandas()
    )


def heavy_track_ids(tracks, heavy_play_count: int) -> pd.DataFrame:
    """(user_id, track_id) of tracks each listener played at least heavy_play_count times, however the plays
    spell their titles (a classic export's names need not match the catalog's)."""
    return (
        tracks.where(F.col("track_id").isNotNull())
        .groupBy("user_id", "track_id")
        .agg(F.sum("plays").alias("plays"))
        .where(F.col("plays") >= heavy_play_count)
        .select("user_id", "track_id")
        .toPandas()
    )


def candidate_tracks(tracks, catalog) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates (catalog first, then listeners' own tracks not in it) and who owns which own track."""
    catalog_rows = catalog.select(
        "track_id", "track_name", F.col("artist_names").alias("artist_name"), *FEATURES
    ).withColumn("candidate_source", F.lit("catalog"))
    own = tracks.where(F.col("has_features")).join(catalog.select("track_id"), "track_id", "left_anti")
    own_rows = (
        own.groupBy("track_id")
        .agg(
            F.min("track_name").alias("track_name"),
            F.min("artist_name").alias("artist_name"),
            *[F.first(name, ignorenulls=True).alias(name) for name in FEATURES],
        )
        .withColumn("candidate_source", F.lit("own"))
    )
    candidates = catalog_rows.unionByName(own_rows).toPandas().sort_values("track_id", ignore_index=True)
    owners = own.select("user_id", "track_id").distinct().toPandas()
    return candidates, owners


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


def build_recommendations(plays, catalog, params: RecommendationParams) -> pd.DataFrame:
    """From Silver plays and the catalog (Spark DataFrames) to the recommendation rows (pandas)."""
    recent = recent_plays(plays, params.profile_plays)
    tracks = listener_tracks(plays).persist()  # on the server; read three times below
    try:
        heavy = heavy_tracks(tracks, params.heavy_play_count)
        heavy_ids = heavy_track_ids(tracks, params.heavy_play_count)
        candidates, owners = candidate_tracks(tracks, catalog)
    finally:
        tracks.unpersist()
    return recommend(recent, heavy, candidates, owners, params, heavy_ids)


def validated(params: RecommendationParams) -> RecommendationParams:
    if params.count < 1 or params.profile_plays < 1 or params.heavy_play_count < 1:
        raise ValueError(f"recommendation count, profile_plays and heavy_play_count must be >= 1: {params}")
    return params


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="replace_where",  # the recomputed listeners' rows, or every row
        on_schema_change="append_new_columns",
        packages=["pandas", "numpy"],
    )
    # dbt reads the config keys from these literal calls, so they stay in model().
    params = validated(
        RecommendationParams(
            count=int(dbt.config.meta_get("count")),
            profile_plays=int(dbt.config.meta_get("profile_plays")),
            heavy_play_count=int(dbt.config.meta_get("heavy_play_count")),
            valence_lift=float(dbt.config.meta_get("valence_lift")),
            energy_tolerance=float(dbt.config.meta_get("energy_tolerance")),
        )
    )
    plays = dbt.ref("listening_with_features")
    catalog = dbt.ref("stg_kaggle__tracks")
    candidate_columns = ["track_id", "track_name", "artist_names", *FEATURES]
    fingerprint = f"catalog {content_fingerprint(catalog, candidate_columns)}; {params}"
    recomputed = EVERYTHING
    if dbt.is_incremental:
        built = session.table(str(dbt.this))
        builds = []
        if {"fitted_on", "built_at"} <= set(built.columns):  # else built by a version without the markers
            builds = built.groupBy("fitted_on").agg(F.max("built_at").alias("since")).collect()
        if len(builds) == 1 and builds[0].fitted_on == fingerprint:
            changed = plays.where(F.col("built_at") > F.lit(builds[0].since)).select("user_id").distinct().collect()
            listeners = [row.user_id for row in changed]  # a literal list: filtered in the scan, not joined
            plays = plays.where(F.col("user_id").isin(listeners))
            recomputed = among("user_id", listeners)
    fresh = build_recommendations(plays, catalog, params).assign(
        fitted_on=fingerprint, built_at=pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    )
    log.info("track recommendations: recomputed %d listeners", fresh["user_id"].nunique())
    return replace_where(dbt, session.createDataFrame(fresh, schema=BUILD_SCHEMA), recomputed)
