"""Monthly clustering: recovery of planted groups, slot alignment, month ends, stability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from alphalab.errors import ConfigError
from alphalab.models.cluster_rl.clustering import (
    align_labels,
    cluster_snapshot,
    month_end_rows,
    stability,
)


@pytest.mark.parametrize("method", ["tsne_dbscan", "pca_kmeans", "umap_hdbscan"])
def test_blobs_are_recovered(method: str) -> None:
    x, y = make_blobs(66, n_features=20, centers=4, cluster_std=1.0, random_state=3)
    labels, emb = cluster_snapshot(x, method, params={"k": 4}, seed=0)
    assert emb.shape == (66, 2)
    assert adjusted_rand_score(y, labels) >= 0.9


def test_noise_is_not_clustered_as_groups() -> None:
    # the test can fail: structureless data must not give a high ARI against random labels
    x = np.random.default_rng(0).normal(size=(60, 10))
    y = np.random.default_rng(1).integers(0, 4, 60)
    labels, _ = cluster_snapshot(x, "pca_kmeans", params={"k": 4}, seed=0)
    assert adjusted_rand_score(y, labels) < 0.3


def test_unknown_method() -> None:
    with pytest.raises(ConfigError, match="cluster method"):
        cluster_snapshot(np.zeros((10, 3)), "spectral")


@settings(max_examples=30, deadline=None)
@given(st.permutations([0, 1, 2, 3]), st.integers(0, 10_000))
def test_alignment_undoes_a_relabelling(perm: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    prev = rng.integers(0, 4, 40)
    prev[:4] = [0, 1, 2, 3]  # every slot present
    cur = np.array(perm)[prev]  # same groups, new raw names
    assert np.array_equal(align_labels(prev, cur, 5, "own"), prev)


def test_outliers_own_or_excluded() -> None:
    cur = np.array([0, 0, 1, 1, -1, -2])
    own = align_labels(None, cur, 3, "own")
    assert own[4] == 2 and own[5] == -1  # -2: not clustered (missing features)
    exc = align_labels(None, cur, 3, "exclude")
    assert exc[4] == -1
    with pytest.raises(ConfigError, match="outliers"):
        align_labels(None, cur, 3, "drop")


def test_month_end_rows_never_close_a_partial_month() -> None:
    d = pd.bdate_range("2020-01-01", "2020-03-17")
    rows = month_end_rows(d)
    assert list(d[rows]) == [pd.Timestamp("2020-01-31"), pd.Timestamp("2020-02-28")]


def test_stability() -> None:
    a = np.array([0, 0, 1, 1, 2, 2])
    assert stability([a, a, np.array([0, 1, 0, 1, 2, 2])])[:2] == [None, 1.0]


def test_cached_clustering_is_the_clustering_and_keyed_on_content() -> None:
    from alphalab.models.cluster_rl import clustering

    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(c, 0.3, (12, 4)) for c in (0.0, 4.0, 8.0)])
    params = {"perplexity": 5, "eps": 0.5, "min_samples": 3}
    clustering._CACHE.clear()
    lab, emb = clustering.cluster_snapshot(x, "tsne_dbscan", params=params, seed=1)
    a = clustering.cluster_snapshot_cached(x, "tsne_dbscan", params=params, seed=1)
    b = clustering.cluster_snapshot_cached(x.copy(), "tsne_dbscan", params=dict(params), seed=1)
    assert len(clustering._CACHE) == 1  # the second call was a hit
    for got in (a, b):
        assert np.array_equal(got[0], lab) and np.array_equal(got[1], emb)
    a[0][:] = 99  # a caller's copy cannot alter the cache
    assert np.array_equal(clustering.cluster_snapshot_cached(x, "tsne_dbscan", params=params, seed=1)[0], lab)
    y = x.copy()
    y[0, 0] = np.nextafter(y[0, 0], np.inf)  # one bit differs: clustered afresh
    clustering.cluster_snapshot_cached(y, "tsne_dbscan", params=params, seed=1)
    clustering.cluster_snapshot_cached(x, "tsne_dbscan", params=params, seed=2)
    clustering.cluster_snapshot_cached(x, "tsne_dbscan", params={**params, "eps": 0.6}, seed=1)
    assert len(clustering._CACHE) == 4
