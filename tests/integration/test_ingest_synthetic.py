"""Synthetic features without a server: deterministic across processes, shaped like the real Kaggle data."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from ingest.synthetic.generator import synthetic_features

REPO = Path(__file__).resolve().parents[2]
IDS = [f"{n:022d}" for n in range(3000)]
PRINT_FRAME = (
    "import sys; from ingest.synthetic.generator import synthetic_features; "
    f"sys.stdout.write(synthetic_features([f'{{n:022d}}' for n in range({len(IDS)})]).to_csv(index=False))"
)


def test_identical_across_runs_and_processes(tmp_path):
    first = synthetic_features(IDS)
    assert first.equals(synthetic_features(list(reversed(IDS)) + IDS[:10]))  # order and repeats do not matter
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", PRINT_FRAME], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    path = tmp_path / "other.csv"
    path.write_text(other.stdout)
    assert first.to_csv(index=False) == path.read_text()
    assert set(first["source"]) == {"synthetic"} and first["track_id"].is_unique


def test_distribution_follows_the_real_catalog(kaggle_sample):
    real = pd.read_csv(kaggle_sample)
    fake = synthetic_features(IDS)
    for column in ("danceability", "energy", "valence", "acousticness", "loudness", "tempo"):
        spread = real[column].std()
        assert abs(fake[column].mean() - real[column].mean()) < 0.1 * spread, column
        assert 0.8 < fake[column].std() / spread < 1.2, column
        assert real[column].min() <= fake[column].min() and fake[column].max() <= real[column].max(), column
    assert fake["energy"].corr(fake["loudness"]) > 0.5  # the copula keeps real dependencies
    assert fake["energy"].corr(fake["acousticness"]) < -0.5
    assert set(fake["mode"]) == {0, 1} and set(fake["key"]) <= set(range(12))


def test_allow_synthetic_false_generates_none(tmp_path):
    env = {**os.environ, "PROJECT_DIR": str(REPO), "DATA_DIR": str(tmp_path / "data"), "ALLOW_SYNTHETIC": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "spotify_analytics", "synthetic", "generate-all"],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "ALLOW_SYNTHETIC=false: no synthetic features generated" in done.stdout
