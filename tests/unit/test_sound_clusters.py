"""K-means sound clusters of the catalog: the fit and the rule that keeps it."""

import numpy as np
import pandas as pd

from spotify_analytics.gold_models.sound_clusters import FEATURES, fingerprint, fit, keeps

BUILT_AT = pd.Timestamp("2026-12-04 10:00:00")


def catalog_of_blobs(per_blob: int = 20, seed: int = 0) -> pd.DataFrame:
    """Three well separated groups of tracks; track ids shuffled so the fit's ordering shows."""
    rng = np.random.default_rng(seed)
    rows = []
    for blob, centre in enumerate([0.1, 0.5, 0.9]):
        for i in range(per_blob):
            values = centre + rng.normal(0, 0.01, len(FEATURES))
            rows.append({"track_id": f"t{rng.integers(1e9):09d}-{blob}-{i}", "catalog_source": "kaggle",
                         **dict(zip(FEATURES, values, strict=True))})  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=seed, ignore_index=True)


def test_each_group_of_tracks_is_one_cluster_and_rows_are_ordered_by_track_id() -> None:
    catalog = catalog_of_blobs()

    clusters = fit(catalog, cluster_count=3, seed=42, fitted_on="f", built_at=BUILT_AT)

    assert clusters["track_id"].tolist() == sorted(catalog["track_id"])
    blob = clusters["track_id"].str.split("-").str[1]
    assert clusters.groupby(blob)["cluster_id"].nunique().tolist() == [1, 1, 1]
    assert sorted(clusters.groupby(blob)["cluster_id"].first()) == [0, 1, 2]
    assert clusters["cluster_id"].dtype == np.dtype("int32")
    assert list(clusters.columns) == [
        "track_id", "cluster_id", "distance_to_centroid", "valence", "energy", "catalog_source", "fitted_on",
        "built_at",
    ]  # fmt: skip
    assert (clusters["distance_to_centroid"] < 0.5).all()  # tight groups, in standardised units
    assert (clusters["distance_to_centroid"] == clusters["distance_to_centroid"].round(6)).all()
    assert set(clusters["fitted_on"]) == {"f"} and set(clusters["built_at"]) == {BUILT_AT}
    by_id = catalog.set_index("track_id")
    assert np.allclose(clusters["valence"], by_id.loc[clusters["track_id"], "valence"])


def test_the_same_catalog_and_seed_give_the_same_clusters_in_any_row_order() -> None:
    catalog = catalog_of_blobs()

    first = fit(catalog, 4, 7, "f", BUILT_AT)
    again = fit(catalog.iloc[::-1].reset_index(drop=True), 4, 7, "f", BUILT_AT)

    pd.testing.assert_frame_equal(first, again)


def test_the_clusters_are_kept_only_when_every_row_was_fitted_on_the_current_fingerprint() -> None:
    current = fingerprint("100 rows, content 42", cluster_count=8, seed=42)

    assert current == "catalog 100 rows, content 42; k=8, seed=42"
    assert keeps({current}, current)
    assert not keeps({fingerprint("100 rows, content 42", 5, 42)}, current)
    assert not keeps({current, "catalog 99 rows, content 7; k=8, seed=42"}, current)
    assert not keeps(set(), current)  # an empty table
    assert not keeps({None}, current)  # rows of a version without the column
