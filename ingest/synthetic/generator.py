"""Synthetic audio features: the same values for a ``track_id`` on every run and machine.

Each track's 12 uniforms come from sha256(generator version | track_id | block), not from a random number
generator, so the values depend on nothing but the id. They go through the Gaussian copula fitted to the
real Kaggle sample (``fitted_parameters.py``, derived by ``ingest.synthetic.fit``): correlated normal scores
→ each feature's empirical quantiles, so marginals and correlations (energy-loudness, energy-acousticness)
look like real tracks, not uniform noise. Values are rounded to 6 decimals.
"""

import hashlib

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ingest.kaggle.schema import AUDIO_FEATURE_COLUMNS, CONTINUOUS_FEATURES
from ingest.synthetic.fitted_parameters import CATEGORICAL, CHOLESKY, QUANTILE_LEVELS, QUANTILES

GENERATOR_VERSION = "copula-v1"
UNIFORMS_PER_TRACK = len(CONTINUOUS_FEATURES) + len(CATEGORICAL)


def track_uniforms(track_id: str) -> list[float]:
    """12 uniforms in (0, 1) derived from the track id alone."""
    words: list[int] = []
    block = 0
    while len(words) < UNIFORMS_PER_TRACK:
        digest = hashlib.sha256(f"{GENERATOR_VERSION}|{track_id}|{block}".encode()).digest()
        words += [int.from_bytes(digest[i : i + 8], "big") for i in range(0, 32, 8)]
        block += 1
    return [(w + 0.5) / 2**64 for w in words[:UNIFORMS_PER_TRACK]]


def synthetic_features(track_ids: list[str]) -> pd.DataFrame:
    """One row per distinct track id: ``track_id``, the 12 feature columns, ``source``, ``generator_version``."""
    ids = sorted(set(track_ids))
    uniforms = np.array([track_uniforms(t) for t in ids], dtype=np.float64).reshape(len(ids), UNIFORMS_PER_TRACK)
    continuous = ndtr(ndtri(uniforms[:, : len(CONTINUOUS_FEATURES)]) @ np.array(CHOLESKY).T)
    frame = pd.DataFrame({"track_id": ids})
    for i, column in enumerate(CONTINUOUS_FEATURES):
        frame[column] = np.round(np.interp(continuous[:, i], QUANTILE_LEVELS, QUANTILES[column]), 6)
    for j, (column, (values, probabilities)) in enumerate(CATEGORICAL.items()):
        cumulative = np.cumsum(probabilities) / np.sum(probabilities)
        index = np.searchsorted(cumulative, uniforms[:, len(CONTINUOUS_FEATURES) + j], side="right")
        frame[column] = np.array(values, dtype=np.int32)[np.minimum(index, len(values) - 1)]
    frame["source"] = "synthetic"
    frame["generator_version"] = GENERATOR_VERSION
    frame["row_hash"] = [
        hashlib.sha256(repr(tuple(row)).encode()).hexdigest()
        for row in frame[["track_id", *AUDIO_FEATURE_COLUMNS, "generator_version"]].itertuples(index=False)
    ]
    return frame[["track_id", *AUDIO_FEATURE_COLUMNS, "source", "generator_version", "row_hash"]]
