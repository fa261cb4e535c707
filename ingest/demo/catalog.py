"""The track universe of a workload: real tracks from the Kaggle catalog plus synthetic ones.

A real listener's history mostly holds tracks outside the 114K-track Kaggle catalog (the seed reports
~85% of plays on the synthetic path), so the universe adds synthetic tracks (random Spotify-shaped ids,
names from word lists, durations resampled from the catalog's real durations). Popularity is
heavy-tailed: Kaggle tracks by their published popularity, synthetic ones by a Zipf law.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

BASE62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
WORDS = [
    "after",
    "all",
    "alone",
    "amber",
    "angel",
    "autumn",
    "before",
    "blue",
    "broken",
    "burning",
    "city",
    "cold",
    "dance",
    "dark",
    "dawn",
    "days",
    "deep",
    "dream",
    "echo",
    "electric",
    "empty",
    "ever",
    "fading",
    "fire",
    "forever",
    "free",
    "ghost",
    "gold",
    "golden",
    "heart",
    "heavy",
    "high",
    "home",
    "honey",
    "hope",
    "last",
    "light",
    "little",
    "lost",
    "love",
    "low",
    "midnight",
    "moon",
    "morning",
    "neon",
    "never",
    "night",
    "ocean",
    "one",
    "paper",
    "rain",
    "red",
    "river",
    "road",
    "runaway",
    "satellite",
    "shadow",
    "silver",
    "sky",
    "slow",
    "smoke",
    "soft",
    "stars",
    "stay",
    "still",
    "storm",
    "summer",
    "sun",
    "sweet",
    "tonight",
    "wild",
    "winter",
    "wire",
    "young",
]
NAME_PARTS = [
    "Ada",
    "Alma",
    "Arlo",
    "Bea",
    "Cato",
    "Dara",
    "Eli",
    "Esme",
    "Finn",
    "Gaia",
    "Hugo",
    "Iris",
    "Jules",
    "Kai",
    "Lena",
    "Milo",
    "Nia",
    "Otto",
    "Pia",
    "Rhea",
    "Sami",
    "Teo",
    "Uma",
    "Vera",
    "Wren",
    "Yara",
    "Zane",
]
BAND_SUFFIXES = ("", " & The Satellites", " Collective", " Trio", " Quartet", " Project", " Band")


class WorkloadCatalogError(ValueError):
    """The catalog file cannot be used for a workload; the message says why."""


@dataclass(frozen=True)
class TrackUniverse:
    """Parallel arrays, one entry per track; ``in_catalog`` marks real Kaggle tracks."""

    track_id: np.ndarray
    track_name: np.ndarray
    artist_name: np.ndarray  # main artist (the export's master_metadata_album_artist_name)
    artist_names: np.ndarray  # all artists, ';'-separated as in the Kaggle CSV
    album_name: np.ndarray
    duration_ms: np.ndarray
    in_catalog: np.ndarray
    popularity: np.ndarray  # unnormalised sampling weight

    def __len__(self) -> int:
        return len(self.track_id)

    @property
    def catalog_indices(self) -> np.ndarray:
        return np.flatnonzero(self.in_catalog)

    @property
    def synthetic_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.in_catalog)


def read_catalog_tracks(path: Path) -> pd.DataFrame:
    """Distinct tracks of a Kaggle-format CSV (the sample or the full file)."""
    columns = ["track_id", "artists", "album_name", "track_name", "popularity", "duration_ms"]
    try:
        frame = pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise WorkloadCatalogError(f"{path}: cannot read a Kaggle-format catalog ({exc})") from None
    frame = frame[(frame["track_id"].str.len() == 22) & (frame["track_name"] != "") & (frame["artists"] != "")]
    frame = frame.drop_duplicates("track_id").reset_index(drop=True)
    frame["popularity"] = pd.to_numeric(frame["popularity"], errors="coerce").fillna(0).clip(0, 100)
    frame["duration_ms"] = pd.to_numeric(frame["duration_ms"], errors="coerce").fillna(0).astype("int64")
    frame = frame[frame["duration_ms"].between(30_000, 1_200_000)].reset_index(drop=True)
    if frame.empty:
        raise WorkloadCatalogError(f"{path}: no usable tracks (track_id, names, duration_ms)")
    return frame


def _random_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    digits = rng.integers(0, len(BASE62), size=(count, 22))
    return np.array(["".join(row) for row in BASE62[digits]], dtype=object)


def _synthetic_artists(rng: np.random.Generator, count: int) -> np.ndarray:
    first = rng.choice(NAME_PARTS, size=count)
    second = rng.choice(np.array([w.capitalize() for w in WORDS]), size=count)
    suffix = rng.choice(BAND_SUFFIXES, size=count, p=[0.55, 0.1, 0.1, 0.05, 0.05, 0.05, 0.1])
    return np.array([f"{a} {b}{c}" for a, b, c in zip(first, second, suffix, strict=True)], dtype=object)


def _titles(rng: np.random.Generator, count: int) -> np.ndarray:
    words = np.array([w.capitalize() for w in WORDS])
    lengths = rng.choice([1, 2, 3], size=count, p=[0.3, 0.5, 0.2])
    picks = rng.choice(words, size=(count, 3))
    return np.array([" ".join(row[:n]) for row, n in zip(picks, lengths, strict=True)], dtype=object)


def zipf_weights(count: int, exponent: float) -> np.ndarray:
    return 1.0 / np.arange(1, count + 1, dtype=float) ** exponent


def synthetic_tracks(rng: np.random.Generator, count: int, real_durations: np.ndarray) -> pd.DataFrame:
    """Tracks outside the catalog: artists with a heavy-tailed number of tracks, albums of ~10 tracks."""
    artist_count = max(1, count // 12)
    artists = _synthetic_artists(rng, artist_count)
    artist_of_track = rng.choice(artist_count, size=count, p=_normalised(zipf_weights(artist_count, 0.8)))
    album_titles = _titles(rng, max(1, count // 10))
    album_of_track = rng.integers(0, len(album_titles), size=count)
    return pd.DataFrame(
        {
            "track_id": _random_ids(rng, count),
            "track_name": _titles(rng, count),
            "artists": artists[artist_of_track],
            "album_name": album_titles[album_of_track],
            "duration_ms": rng.choice(real_durations, size=count),
        }
    )


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def build_universe(catalog: pd.DataFrame, synthetic_count: int, seed: int) -> TrackUniverse:
    """Catalog tracks followed by ``synthetic_count`` synthetic tracks, deterministic by seed."""
    rng = np.random.default_rng([seed, 1])
    synthetic = synthetic_tracks(rng, synthetic_count, catalog["duration_ms"].to_numpy())
    # Kaggle popularity 0..100 -> a heavy-tailed weight; synthetic: Zipf over a random rank.
    catalog_weight = np.exp(catalog["popularity"].to_numpy(dtype=float) / 12.0)
    synthetic_weight = zipf_weights(synthetic_count, 1.0)[rng.permutation(synthetic_count)]
    tracks = pd.concat([catalog.drop(columns="popularity"), synthetic], ignore_index=True)
    artists = tracks["artists"].to_numpy(dtype=object)
    return TrackUniverse(
        track_id=tracks["track_id"].to_numpy(dtype=object),
        track_name=tracks["track_name"].to_numpy(dtype=object),
        artist_name=np.array([a.split(";")[0] for a in artists], dtype=object),
        artist_names=artists,
        album_name=tracks["album_name"].to_numpy(dtype=object),
        duration_ms=tracks["duration_ms"].to_numpy(dtype=np.int64),
        in_catalog=np.r_[np.ones(len(catalog), bool), np.zeros(synthetic_count, bool)],
        popularity=np.r_[catalog_weight / catalog_weight.sum(), synthetic_weight / synthetic_weight.sum()],
    )


def stable_id(*parts: str, length: int = 22) -> str:
    """A Spotify-shaped base62 id derived from text (artist and album ids of the API format)."""
    number = int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest(), "big")
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(digits)
