"""Deterministic synthetic audio features for tracks with no real or Kaggle features."""
