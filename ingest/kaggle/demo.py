"""A generated demo catalog for users who have not downloaded the Kaggle file.

Deterministic (fixed seed), in the Kaggle CSV format, and labelled as generated: the file name starts
with GENERATED, every artist and album says 'Demo', and Bronze rows carry ``catalog_source='generated'``.
Feature distributions are shaped like the real catalog's (skewed, bounded), not uniform noise.
"""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.kaggle.schema import CSV_COLUMNS

DEMO_FILE_NAME = "GENERATED_demo_catalog.csv"
DEMO_SEED = 20240611
DEMO_GENRES = (
    "acoustic", "ambient", "blues", "classical", "dance", "folk",
    "hip-hop", "indie", "jazz", "metal", "pop", "soul",
)  # fmt: skip
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def demo_track_id(index: int) -> str:
    """A 22-character base62 id derived from the index (Spotify's id shape, clearly not Spotify's)."""
    number = int.from_bytes(hashlib.sha256(f"demo-track-{index}".encode()).digest(), "big")
    chars = []
    for _ in range(22):
        number, remainder = divmod(number, 62)
        chars.append(BASE62[remainder])
    return "".join(chars)


def generate_demo_catalog(n_tracks: int = 2000, seed: int = DEMO_SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    genre = rng.choice(DEMO_GENRES, size=n_tracks)
    instrumental = np.where(rng.random(n_tracks) < 0.7, rng.beta(0.3, 30, n_tracks), rng.beta(2, 1.5, n_tracks))
    frame = pd.DataFrame(
        {
            "track_id": [demo_track_id(i) for i in range(n_tracks)],
            "artists": [f"Demo Artist {i % 150:03d}" for i in range(n_tracks)],
            "album_name": [f"Demo Album {i % 400:03d}" for i in range(n_tracks)],
            "track_name": [f"Demo Track {i:05d}" for i in range(n_tracks)],
            "popularity": rng.binomial(100, 0.33, n_tracks),
            "duration_ms": np.clip(rng.normal(228_000, 60_000, n_tracks), 30_000, 900_000).astype(int),
            "explicit": np.where(rng.random(n_tracks) < 0.09, "True", "False"),
            "danceability": rng.beta(5, 4, n_tracks).round(3),
            "energy": rng.beta(2.2, 1.4, n_tracks).round(3),
            "key": rng.integers(0, 12, n_tracks),
            "loudness": np.clip(rng.normal(-8.3, 5.0, n_tracks), -45, 2).round(3),
            "mode": (rng.random(n_tracks) < 0.64).astype(int),
            "speechiness": rng.beta(0.9, 9, n_tracks).round(4),
            "acousticness": rng.beta(0.4, 0.9, n_tracks).round(4),
            "instrumentalness": instrumental.round(6),
            "liveness": rng.beta(1.5, 5, n_tracks).round(4),
            "valence": rng.beta(2, 2.1, n_tracks).round(3),
            "tempo": np.clip(rng.normal(122, 30, n_tracks), 45, 220).round(3),
            "time_signature": rng.choice([3, 4, 5], size=n_tracks, p=[0.08, 0.89, 0.03]),
            "track_genre": genre,
        },
        columns=list(CSV_COLUMNS),
    )
    frame.index.name = ""
    return frame


def write_demo_catalog(directory: Path, n_tracks: int = 2000) -> Path:
    """Write the demo catalog CSV (same bytes every time) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DEMO_FILE_NAME
    content = generate_demo_catalog(n_tracks).to_csv(lineterminator="\n")
    if not path.exists() or path.read_text() != content:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(content)
        temporary.replace(path)
    return path
