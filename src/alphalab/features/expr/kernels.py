"""Kernels the engine needs beyond :mod:`alphalab.features.rolling`, with twins.

Every kernel takes a float64 array ``x`` of shape ``(n_dates, n_assets)`` and
works per column (time-series kernels) or per row (cross-sectional kernels),
returning a new ``(n_dates, n_assets)`` float64 array.

Time-series kernels are *strict*: the value at row ``t`` uses rows
``t - d + 1 .. t`` only and is NaN unless all ``d`` of them are finite (no
partial windows, DESIGN section 4). Only past rows are read, which is what
makes every operator leakage-free.

Each kernel has a plain Python twin (``*_py``), written independently
(numpy / sorting per window) and used by the tests to prove agreement.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
from numba import njit

from alphalab.errors import DataError

__all__ = [
    "cn_sma",
    "cs_corr",
    "cs_corr_py",
    "cs_rank",
    "cs_rank_py",
    "cs_rank_sorted",
    "ts_quantile",
    "ts_quantile_py",
    "ts_regression",
    "ts_regression_py",
    "ts_wma_exp",
]


@njit(cache=True)
def _window_ok(x: np.ndarray, i: int, j: int, d: int) -> bool:
    if i < d - 1:
        return False
    for k in range(i - d + 1, i + 1):
        if not math.isfinite(x[k, j]):
            return False
    return True

@njit(cache=True)
def _quantile_column(col: np.ndarray, d: int, q: float, out: np.ndarray) -> None:
    # a sorted copy of the window, updated by one removal and one insertion
    # per row (O(d) memory moves instead of an O(d log d) sort)
    buf = np.empty(d)
    count = 0
    pos = q * (d - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, d - 1)
    frac = pos - lo
    for i in range(col.shape[0]):
        v = col[i]
        if not math.isfinite(v):
            count = 0
            continue
        if count == d:
            old = col[i - d]
            k = np.searchsorted(buf[:count], old)
            for t in range(k, count - 1):
                buf[t] = buf[t + 1]
            count -= 1
        k = np.searchsorted(buf[:count], v)
        for t in range(count, k, -1):
            buf[t] = buf[t - 1]
        buf[k] = v
        count += 1
        if count == d:
            out[i] = buf[lo] + (buf[hi] - buf[lo]) * frac


@njit(cache=True)
def _quantile_all(xt: np.ndarray, d: int, q: float, out: np.ndarray) -> None:
    for j in range(xt.shape[0]):
        _quantile_column(xt[j], d, q, out[j])


def ts_quantile(x: np.ndarray, d: int, q: float) -> np.ndarray:
    """Rolling ``q``-quantile with linear interpolation (``numpy.quantile``'s default).

    Parameters
    ----------
    x : ndarray, shape (n_dates, n_assets)
    d : int
        Window length (rows).
    q : float
        Quantile in ``[0, 1]``.

    Returns
    -------
    ndarray, shape (n_dates, n_assets)
        NaN until ``d`` consecutive finite values are available.
    """
    if not 0.0 <= q <= 1.0:
        raise DataError(f"ts_quantile: quantile must be in [0, 1], got {q}")
    xt = np.ascontiguousarray(np.asarray(x, dtype=np.float64).T)
    out = np.full(xt.shape, np.nan)
    _quantile_all(xt, int(d), float(q), out)
    return out.T.copy()


@njit(cache=True)
def ts_regression(x: np.ndarray, d: int, what: int) -> np.ndarray:
    """Rolling least-squares fit of ``x`` on time ``0 .. d-1`` within each window.

    ``what`` = 0: slope; 1: R-squared; 2: residual of today's value. NaN for
    ``d < 2``; R-squared is NaN for a constant window.
    """
    n, m = x.shape
    out = np.full((n, m), np.nan)
    if d < 2:
        return out
    tm = (d - 1) / 2.0
    stt = 0.0
    for k in range(d):
        stt += (k - tm) ** 2
    for j in range(m):
        for i in range(d - 1, n):
            if _window_ok(x, i, j, d):
                s = 0.0
                for k in range(d):
                    s += x[i - d + 1 + k, j]
                mu = s / d
                sxt = 0.0
                sxx = 0.0
                for k in range(d):
                    e = x[i - d + 1 + k, j] - mu
                    sxt += e * (k - tm)
                    sxx += e * e
                slope = sxt / stt
                if what == 0:
                    out[i, j] = slope
                elif what == 1:
                    if sxx > 1e-20 * (mu * mu + 1.0) * d:
                        out[i, j] = sxt * sxt / (stt * sxx)
                else:
                    out[i, j] = x[i, j] - (mu + slope * (d - 1 - tm))
    return out

@njit(cache=True)
def _cn_sma_all(xt: np.ndarray, n: int, a: float, out: np.ndarray) -> None:
    for j in range(xt.shape[0]):
        col = xt[j]
        run = 0
        y = 0.0
        for i in range(col.shape[0]):
            v = col[i]
            if not math.isfinite(v):
                run = 0  # a gap restarts the recursion
                continue
            y = v if run == 0 else a * v + (1.0 - a) * y
            run += 1
            if run >= n:
                out[j, i] = y


def cn_sma(x: np.ndarray, n: int, m: float) -> np.ndarray:
    """The recursive "SMA" of Chinese charting software: ``Y = (m*A + (n-m)*Y') / n``.

    ``Y'`` is the previous row's value, so this is an exponential moving
    average with smoothing ``m / n`` (``SMA(A, n, 1)`` is Wilder's average
    for ``n``), not a simple moving average (that is ``ts_mean``). The
    recursion is seeded with the first finite value of a run of finite
    values; a missing value gives NaN and restarts it. Like a window of
    ``n`` rows, the first ``n - 1`` rows of each run are NaN (burn-in), so
    the value at ``t`` needs the last ``n`` inputs finite and reads no row
    after ``t``. Within a run the value still depends on where the run
    started, with weight ``(1 - m/n)^k`` after ``k`` rows.

    Parameters
    ----------
    x : ndarray, shape (n_dates, n_assets)
    n : int
        Period (>= 1).
    m : float
        Weight of the newest value, ``0 < m <= n``.

    Returns
    -------
    ndarray, shape (n_dates, n_assets)
    """
    if not 0.0 < m <= n:
        raise DataError(f"sma: the weight m must satisfy 0 < m <= n, got n={n}, m={m:g}")
    xt = np.ascontiguousarray(np.asarray(x, dtype=np.float64).T)
    out = np.full(xt.shape, np.nan)
    _cn_sma_all(xt, int(n), float(m) / float(n), out)
    return out.T.copy()


def ts_wma_exp(x: np.ndarray, d: int, f: float = 0.9) -> np.ndarray:
    """Weighted mean of the last ``d`` rows with weights ``f**i`` (``i`` = 0 for today).

    Guotai Junan's ``WMA(A, n)`` (weights ``0.9**i``, ``i`` the distance from
    the current row), normalised so the weights sum to 1. Strict: NaN unless
    all ``d`` rows are finite.

    Parameters
    ----------
    x : ndarray, shape (n_dates, n_assets)
    d : int
        Window length (rows).
    f : float
        Decay factor per row, ``0 < f <= 1`` (1 gives ``ts_mean``).

    Returns
    -------
    ndarray, shape (n_dates, n_assets)
    """
    if not 0.0 < f <= 1.0:
        raise DataError(f"decay_exp: the factor must be in (0, 1], got {f:g}")
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if d > x.shape[0]:
        return out
    w = f ** np.arange(d - 1, -1, -1, dtype=np.float64)  # oldest .. today
    w /= w.sum()
    win = np.lib.stride_tricks.sliding_window_view(x, d, axis=0)  # (n-d+1, m, d)
    with np.errstate(invalid="ignore", over="ignore"):
        out[d - 1 :] = win @ w
    out[~np.isfinite(out)] = np.nan
    return out


@njit(cache=True, nogil=True)
def cs_rank_sorted(x: np.ndarray, order: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` with :func:`cs_rank` of ``x`` given its row-wise sort order.

    ``order`` sorts each row of ``x`` with every non-finite value last (as
    :func:`cs_rank` builds it). numpy's vectorised sort does the heavy part;
    this pass averages ties and divides by the finite count. Non-finite
    entries are left as they are in ``out`` (NaN).
    """
    n, m = x.shape
    for i in range(n):
        row = x[i]
        o = order[i]
        c = 0
        while c < m and math.isfinite(row[o[c]]):
            c += 1
        k = 0
        while k < c:
            v = row[o[k]]
            e = k
            while e + 1 < c and row[o[e + 1]] == v:
                e += 1
            r = (k + e) / 2.0 + 1.0
            for t in range(k, e + 1):
                out[i, o[t]] = r / c
            k = e + 1


def _rank_rows(x: np.ndarray, out: np.ndarray) -> None:
    # numpy's SIMD sort is skipped for rows holding NaN (about 3x slower), so
    # sort a key where every non-finite value is +inf: they still sort last
    finite = np.isfinite(x)
    key = x if finite.all() else np.where(finite, x, np.inf)
    cs_rank_sorted(x, np.argsort(key, axis=1), out)


_POOL: ThreadPoolExecutor | None = None
_POOL_PID = -1
_THREADS = max(1, min(4, os.cpu_count() or 1))


def _pool() -> ThreadPoolExecutor:
    global _POOL, _POOL_PID
    # a forked child inherits the executor but not its threads: make a new one
    if _POOL is None or _POOL_PID != os.getpid():
        _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="alphalab-rank")
        _POOL_PID = os.getpid()
    return _POOL


def cs_rank(x: np.ndarray) -> np.ndarray:
    """Per-row percentile rank over the finite entries, in ``(0, 1]``; ties averaged.

    Rank ``r`` (1-based, average for ties) is divided by the row's count of
    finite values, so the largest value gets 1 (the paper's ``rank``).
    Non-finite entries stay NaN. Large arrays are split into row blocks ranked
    on a few threads (numpy's sort and the kernel release the GIL); rows are
    independent, so the result does not depend on the split.

    Parameters
    ----------
    x : ndarray, shape (n_dates, n_assets)

    Returns
    -------
    ndarray, shape (n_dates, n_assets)
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    n = x.shape[0]
    if _THREADS == 1 or x.size < 100_000 or n < 2 * _THREADS:
        _rank_rows(x, out)
        return out
    pool = _pool()
    bounds = np.linspace(0, n, _THREADS + 1).astype(int)
    jobs = [pool.submit(_rank_rows, x[a:b], out[a:b]) for a, b in pairwise(bounds)]
    for job in jobs:
        job.result()
    return out


@njit(cache=True)
def cs_corr(a: np.ndarray, b: np.ndarray, min_count: int) -> np.ndarray:
    """Per-row Pearson correlation of ``a`` and ``b`` over the columns finite in both.

    Parameters
    ----------
    a, b : ndarray, shape (n_rows, n_cols)
    min_count : int
        Rows with fewer valid pairs give NaN.

    Returns
    -------
    ndarray, shape (n_rows,)
        NaN where either side is constant on the valid pairs. Deviations are
        rescaled by their largest magnitude first, so huge values cannot
        overflow (correlation is scale-free).
    """
    n, m = a.shape
    out = np.full(n, np.nan)
    for i in range(n):
        cnt = 0
        sa = 0.0
        sb = 0.0
        for j in range(m):
            if math.isfinite(a[i, j]) and math.isfinite(b[i, j]):
                cnt += 1
                sa += a[i, j]
                sb += b[i, j]
        if cnt < max(min_count, 2):
            continue
        ma = sa / cnt
        mb = sb / cnt
        xa = 0.0
        xb = 0.0
        for j in range(m):
            if math.isfinite(a[i, j]) and math.isfinite(b[i, j]):
                xa = max(xa, abs(a[i, j] - ma))
                xb = max(xb, abs(b[i, j] - mb))
        if xa == 0.0 or xb == 0.0:
            continue
        c = 0.0
        va = 0.0
        vb = 0.0
        for j in range(m):
            if math.isfinite(a[i, j]) and math.isfinite(b[i, j]):
                da = (a[i, j] - ma) / xa
                db = (b[i, j] - mb) / xb
                c += da * db
                va += da * da
                vb += db * db
        if va > 0.0 and vb > 0.0:
            out[i] = min(1.0, max(-1.0, c / math.sqrt(va * vb)))
    return out


# ------------------------------------------------------------------ twins
def _full_windows_py(col: np.ndarray, d: int):  # type: ignore[no-untyped-def]
    for i in range(d - 1, len(col)):
        win = col[i - d + 1 : i + 1]
        if np.all(np.isfinite(win)):
            yield i, win


def ts_quantile_py(x: np.ndarray, d: int, q: float) -> np.ndarray:
    """Twin of :func:`ts_quantile` (``numpy.quantile`` per window)."""
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        for i, win in _full_windows_py(x[:, j], d):
            out[i, j] = np.quantile(win, q)
    return out


def ts_regression_py(x: np.ndarray, d: int, what: int) -> np.ndarray:
    """Twin of :func:`ts_regression` (``numpy.polyfit`` per window)."""
    out = np.full(x.shape, np.nan)
    if d < 2:
        return out
    t = np.arange(d, dtype=np.float64)
    for j in range(x.shape[1]):
        for i, win in _full_windows_py(x[:, j], d):
            slope, icept = np.polyfit(t, win, 1)
            if what == 0:
                out[i, j] = slope
            elif what == 1:
                ss = np.sum((win - win.mean()) ** 2)
                if ss > 1e-20 * (win.mean() ** 2 + 1.0) * d:
                    out[i, j] = 1.0 - np.sum((win - (icept + slope * t)) ** 2) / ss
            else:
                out[i, j] = win[-1] - (icept + slope * (d - 1))
    return out


def cs_rank_py(x: np.ndarray) -> np.ndarray:
    """Twin of :func:`cs_rank` (``scipy.stats.rankdata`` per row)."""
    from scipy.stats import rankdata

    out = np.full(x.shape, np.nan)
    for i in range(x.shape[0]):
        ok = np.isfinite(x[i])
        if ok.any():
            out[i, ok] = rankdata(x[i, ok], method="average") / ok.sum()
    return out


def cs_corr_py(a: np.ndarray, b: np.ndarray, min_count: int) -> np.ndarray:
    """Twin of :func:`cs_corr` (``numpy.corrcoef`` per row)."""
    out = np.full(a.shape[0], np.nan)
    for i in range(a.shape[0]):
        ok = np.isfinite(a[i]) & np.isfinite(b[i])
        if ok.sum() < max(min_count, 2):
            continue
        x, y = a[i, ok], b[i, ok]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        out[i] = np.corrcoef(x / np.abs(x).max(), y / np.abs(y).max())[0, 1]
    return out
