"""Where the audio features behind each chart come from: real (Spotify API), Kaggle, synthetic, none."""

from dataclasses import dataclass

import pandas as pd

SYNTHETIC_DOMINATES = 0.5
KINDS = {
    "real": "share_features_real",
    "kaggle": "share_features_kaggle",
    "synthetic": "share_features_synthetic",
    "none": "share_no_features",
}


@dataclass(frozen=True)
class Provenance:
    chart: str
    basis: str
    shares: dict[str, float] | None  # None: the chart uses no audio features

    @property
    def synthetic_dominates(self) -> bool:
        return self.shares is not None and self.shares.get("synthetic", 0.0) > SYNTHETIC_DOMINATES


def weighted_shares(frame: pd.DataFrame, weight: str | None) -> dict[str, float] | None:
    """Shares averaged over rows, weighted by ``weight`` (e.g. minutes); None when nothing is known."""
    columns = {kind: column for kind, column in KINDS.items() if column in frame.columns}
    if frame.empty or not columns:
        return None
    weights = pd.to_numeric(frame[weight], errors="coerce").fillna(0.0) if weight else pd.Series(1.0, index=frame.index)
    if float(weights.sum()) <= 0:
        weights = pd.Series(1.0, index=frame.index)
    shares = {
        kind: float((pd.to_numeric(frame[column], errors="coerce").fillna(0.0) * weights).sum() / weights.sum())
        for kind, column in columns.items()
    }
    if "none" not in shares:
        shares["none"] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def not_feature_based(chart: str, basis: str) -> Provenance:
    return Provenance(chart, basis, None)
