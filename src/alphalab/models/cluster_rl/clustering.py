"""Monthly stock clusters: embedding + clustering, label alignment, stability.

At each month end the cross-section of that day's feature snapshot
``(n_assets, n_features)`` is embedded and clustered; labels are mapped to stable
*slots* ``0 .. max_clusters - 1`` by Hungarian matching on member overlap with the
previous month (``scipy.optimize.linear_sum_assignment``). Outliers (label -1) are
either a slot of their own (the last one, ``outliers="own"``) or excluded (-1).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from alphalab.errors import ConfigError

__all__ = ["METHODS", "align_labels", "cluster_snapshot", "cluster_snapshot_cached", "month_end_rows", "stability"]

METHODS = ("tsne_dbscan", "pca_kmeans", "umap_hdbscan")


def cluster_snapshot(
    x: np.ndarray, method: str = "tsne_dbscan", *, params: dict[str, Any] | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster one cross-section.

    Parameters
    ----------
    x : ndarray, shape ``(n_assets, n_features)``
        Finite rows only (the caller drops stocks with missing features).
    method : {"tsne_dbscan", "pca_kmeans", "umap_hdbscan"}
        ``umap_hdbscan`` uses ``umap-learn`` when installed, else PCA, and
        scikit-learn's HDBSCAN (>= 1.3).
    params : dict
        ``perplexity``, ``eps``, ``min_samples`` (t-SNE + DBSCAN); ``n_components``,
        ``k`` (PCA + k-means); ``min_cluster_size`` (HDBSCAN).
    seed : int

    Returns
    -------
    labels : ndarray of int, shape ``(n_assets,)``, -1 = outlier
    embedding : ndarray, shape ``(n_assets, 2)``
        Two-dimensional coordinates for the cluster map.
    """
    from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    p = dict(params or {})
    n = len(x)
    if method not in METHODS:
        raise ConfigError(f"cluster_rl: cluster method must be one of {list(METHODS)}, got {method!r}")
    if n < 4:
        return np.zeros(n, dtype=np.int64), np.zeros((n, 2))
    z = StandardScaler().fit_transform(x)
    if method == "tsne_dbscan":
        perplexity = float(min(p.get("perplexity", 10.0), (n - 1) / 3))
        method_ = "exact" if n <= 300 else "barnes_hut"  # exact is faster on a few hundred stocks
        emb = TSNE(2, perplexity=perplexity, random_state=seed, init="pca", max_iter=300, method=method_).fit_transform(z)
        emb = StandardScaler().fit_transform(emb)
        labels = DBSCAN(eps=float(p.get("eps", 0.5)), min_samples=int(p.get("min_samples", 3))).fit_predict(emb)
    elif method == "pca_kmeans":
        comps = int(min(p.get("n_components", 5), z.shape[1], n))
        red = PCA(comps, random_state=seed).fit_transform(z)
        k = int(min(p.get("k", 4), n))
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(red)
        emb = red[:, :2] if comps >= 2 else np.c_[red, np.zeros(n)]
    else:
        try:
            import umap  # type: ignore[import-not-found]

            emb = umap.UMAP(n_components=2, random_state=seed).fit_transform(z)
        except ImportError:  # umap-learn is not installed here: PCA keeps it deterministic
            emb = PCA(2, random_state=seed).fit_transform(z)
        labels = HDBSCAN(min_cluster_size=int(p.get("min_cluster_size", 5)), copy=True).fit_predict(emb)
    return labels.astype(np.int64), np.asarray(emb, dtype=np.float64)


#: Content-addressed results of :func:`cluster_snapshot` (bounded; oldest dropped first).
_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_CACHE_SIZE = 4096


def cluster_snapshot_cached(
    x: np.ndarray, method: str = "tsne_dbscan", *, params: dict[str, Any] | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cluster_snapshot`, memoised on the snapshot's bytes, method, params and seed.

    The clustering is a pure function of those, so a repeated snapshot (the same month
    end clustered by each baseline variant of one study, by ``fit`` and again by every
    ``decide``, or by the leakage guard's re-decisions on rows it did not perturb) gets
    the identical arrays without a second t-SNE; a snapshot that differs in any bit is
    clustered afresh. Returns copies, so callers cannot alter the cache.
    """
    import hashlib
    import json

    a = np.ascontiguousarray(x, dtype=np.float64)
    h = hashlib.blake2b(a.tobytes(), digest_size=20)
    h.update(repr((a.shape, method, json.dumps(params or {}, sort_keys=True, default=str), int(seed))).encode())
    key = h.hexdigest()
    hit = _CACHE.get(key)
    if hit is None:
        hit = cluster_snapshot(a, method, params=params, seed=seed)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = hit
    return hit[0].copy(), hit[1].copy()


def align_labels(
    prev: np.ndarray | None, cur: np.ndarray, max_clusters: int, outliers: str = "own"
) -> np.ndarray:
    """Map raw labels ``cur`` to stable slots, matching ``prev`` slots by overlap.

    Parameters
    ----------
    prev : ndarray of int, shape ``(n_assets,)`` or None
        Last month's slots (-1 = not clustered); None at the first month.
    cur : ndarray of int, shape ``(n_assets,)``
        This month's raw labels (-1 = outlier, -2 = not clustered).
    max_clusters : int
        Slots; with ``outliers="own"`` the last one holds the outliers. Raw clusters
        beyond the slots (smallest first) become outliers.
    outliers : {"own", "exclude"}

    Returns
    -------
    ndarray of int, shape ``(n_assets,)``: slot per asset, -1 = none.
    """
    if outliers not in ("own", "exclude"):
        raise ConfigError(f"cluster_rl: outliers must be 'own' or 'exclude', got {outliers!r}")
    n_slots = max_clusters - 1 if outliers == "own" else max_clusters
    ids, counts = np.unique(cur[cur >= 0], return_counts=True)
    keep = ids[np.argsort(-counts, kind="stable")][:n_slots]
    out = np.full(len(cur), -1, dtype=np.int64)
    if len(keep):
        overlap = np.zeros((len(keep), n_slots))
        if prev is not None:
            for i, c in enumerate(keep):
                members = cur == c
                for s in range(n_slots):
                    overlap[i, s] = np.sum(members & (prev == s))
        # maximise overlap; ties (no history) fall to the lowest free slot in size order
        rows, cols = linear_sum_assignment(-overlap + 1e-9 * np.arange(n_slots)[None, :])
        for i, s in zip(rows, cols, strict=True):
            out[cur == keep[i]] = s
    if outliers == "own":
        out[(cur == -1) | ((cur >= 0) & ~np.isin(cur, keep))] = max_clusters - 1
    return out


def month_end_rows(dates: Any) -> np.ndarray:
    """Rows that are the last trading day of their month (the last row is one only
    once the next row, in a new month, exists: a partial month is never closed)."""
    import pandas as pd

    d = pd.DatetimeIndex(dates)
    period = d.year * 12 + d.month
    return np.flatnonzero(period[1:] != period[:-1])


def stability(slots: list[np.ndarray]) -> list[float | None]:
    """Adjusted Rand index of each month's slots against the previous month's (first: None)."""
    out: list[float | None] = [None]
    for a, b in itertools.pairwise(slots):
        both = (a >= 0) & (b >= 0)
        out.append(float(adjusted_rand_score(a[both], b[both])) if both.sum() > 1 else None)
    return out
