"""Rolling-window primitives over wide ``(n_dates, n_assets)`` arrays.

Every primitive works column by column (one asset's time series at a time),
is causal (the value at row ``i`` uses rows ``i - window + 1 .. i`` only) and
follows one rule for missing data:

* **Full windows only.** The output at row ``i`` is defined only when the
  last ``window`` rows of the column are all finite. A NaN (or +-inf) inside
  the window makes the output NaN; the series *restarts* after a gap and
  needs ``window`` finite rows again. Leading NaNs (late listings) are just
  a gap at the start. No partial windows (DESIGN section 4, warm-up).
* **Recursive smoothers** (:func:`ewm_mean`) restart after a gap the same
  way: they are re-seeded with the simple mean of the first ``window``
  finite values after the gap (TA-Lib's seeding), so their output never
  mixes values from both sides of a hole.
* **Degenerate windows.** A constant window has variance exactly 0 (the
  kernels detect equal runs instead of trusting round-off); statistics that
  divide by a dispersion (z-score, correlation, skew, kurtosis) are NaN
  there.

Each numba kernel (``@njit(cache=True)``, parallel over assets, so results
do not depend on the thread count) has a plain Python twin with the same
name ending in ``_py``: a naive per-window numpy reference used by the tests
(``tests/features/test_rolling.py``) to prove agreement to 1e-9 relative.

Numerical stability: sliding sums and moments are updated in O(1) per row
(add the new value, remove the old, Welford-style for moments) and rebuilt
from plain sums over the window every ``window`` rows, so round-off cannot
accumulate over long price series. The rows between two rebuilds are exactly
the next rebuild's window, so they accumulate its sums as they pass and no
row re-reads its window: the cost is O(1) per row, not amortised.

All functions accept a 1-D ``(n_dates,)`` or 2-D ``(n_dates, n_assets)``
array and return a float64 array of the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit, prange

from alphalab.errors import ConfigError, DataError

__all__ = [
    "decay_linear",
    "ewm_mean",
    "rolling_argmax",
    "rolling_argmin",
    "rolling_corr",
    "rolling_cov",
    "rolling_kurt",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_prod",
    "rolling_rank",
    "rolling_skew",
    "rolling_std",
    "rolling_sum",
    "rolling_var",
    "rolling_zscore",
]

NAN = np.nan


# ------------------------------------------------------------- validation
def _as_2d(x: np.ndarray, name: str = "x") -> tuple[np.ndarray, bool]:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        return a.reshape(-1, 1), True
    if a.ndim != 2:
        raise DataError(
            f"{name} must be 1-D (n_dates,) or 2-D (n_dates, n_assets), got shape {a.shape}"
        )
    return a, False


def _check_window(window: int, name: str = "window") -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer):
        raise ConfigError(f"{name} must be an integer, got {window!r}")
    if window < 1:
        raise ConfigError(f"{name} must be >= 1, got {window}")
    return int(window)


def _check_ddof(ddof: int, window: int) -> None:
    if ddof not in (0, 1):
        raise ConfigError(f"ddof must be 0 or 1, got {ddof!r}")


def _unary(kernel: Callable[..., None], x: np.ndarray, *args: object) -> np.ndarray:
    a, flat = _as_2d(x)
    out = np.empty(a.shape)
    kernel(np.ascontiguousarray(a), *args, out)
    return out.ravel() if flat else out


def _binary(kernel: Callable[..., None], x: np.ndarray, y: np.ndarray, *args: object) -> np.ndarray:
    a, flat = _as_2d(x, "x")
    b, _ = _as_2d(y, "y")
    if b.shape[0] != a.shape[0] or b.shape[1] not in (1, a.shape[1]):
        raise DataError(
            f"y has shape {np.shape(y)}, expected {a.shape} or ({a.shape[0]},) to match x"
        )
    if b.shape[1] != a.shape[1]:
        b = np.broadcast_to(b, a.shape)
    out = np.empty(a.shape)
    kernel(np.ascontiguousarray(a), np.ascontiguousarray(b), *args, out)
    return out.ravel() if flat else out


# ------------------------------------------------------------------ sums
@njit(cache=True, parallel=True)
def _sum_kernel(x: np.ndarray, w: int, mean: bool, out: np.ndarray) -> None:
    n, m = x.shape
    for j in prange(m):
        run = 0
        since = 0  # rows since the last exact recomputation (no integer modulo: slow)
        s = 0.0
        acc = 0.0  # plain sum of the rows since the last recomputation
        for i in range(n):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                s = 0.0
                out[i, j] = NAN
                continue
            run += 1
            if run > w:
                since += 1
                acc += v
                if since < w:
                    s += v - x[i - w, j]
                else:
                    # exact recomputation every `w` rows bounds round-off drift:
                    # the window is the `w` rows since the last one, summed in
                    # order as they came
                    since = 0
                    s = acc
                    acc = 0.0
            else:
                since = 0
                acc = 0.0
                s += v
            if run >= w:
                out[i, j] = s / w if mean else s
            else:
                out[i, j] = NAN


def rolling_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` values; shape ``(n_dates, n_assets)`` in and out."""
    return _unary(_sum_kernel, x, _check_window(window), False)


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values (TA-Lib SMA); shape in = shape out."""
    return _unary(_sum_kernel, x, _check_window(window), True)


# --------------------------------------------------------------- moments
# Rolling variance (and the z-score's numerator) per column. Moments are kept
# about a shift ``K`` (a recent value of the series) so that a price level of
# 1e6 moving by cents keeps its digits. Each row is an O(1) add-and-remove
# update; every ``window`` rows the moments are rebuilt from plain sums of
# ``x - K`` and ``(x - K) ** 2`` over exactly that window, which the rows in
# between have accumulated as they went (the window then is the rows since the
# last rebuild), so round-off cannot pile up and no row re-reads its window.
# ``K`` then moves to the current value.
@njit(cache=True, error_model="numpy")
def _moments_stretch(
    x: np.ndarray,
    num: np.ndarray,
    var: np.ndarray,
    i: int,
    e: int,
    w: int,
    K: float,
    mu: float,
    m2: float,
    same: int,
    prev: float,
    a1: float,
    a2: float,
    inv_w: float,
    inv_d: float,
) -> tuple[float, float, int, float, float, float]:
    """Rows ``i .. e - 1`` of a full-window stretch with no rebuild in it.

    The same arithmetic as the row-by-row path of :func:`_moments_column`,
    with no tests: a non-finite value in the stretch makes the returned sum
    ``a1`` non-finite, and the caller then redoes the stretch row by row.
    Returns the state ``(mu, m2, same, prev, a1, a2)`` after row ``e - 1``.
    """
    for k in range(i, e):
        xk = x[k]
        same = same + 1 if xk == prev else 1
        prev = xk
        vs = xk - K
        us = x[k - w] - K
        a1 += vs
        a2 += vs * vs
        mu_new = mu + (vs - us) * inv_w
        m2 += (vs - us) * (vs - mu_new + us - mu)
        mu = mu_new
        num[k] = vs - mu
        var[k] = 0.0 if same >= w else max(m2 * inv_d, 0.0)
    return mu, m2, same, prev, a1, a2


@njit(cache=True, error_model="numpy")
def _moments_column(
    x: np.ndarray, num: np.ndarray, var: np.ndarray, w: int, ddof: int, stretch: bool = True
) -> None:
    """Rolling ``x - mean`` and variance of one column.

    Parameters
    ----------
    x : numpy.ndarray, shape ``(n,)``
        One asset's series.
    num, var : numpy.ndarray, shape ``(n,)``
        Outputs: ``x[i]`` minus the window mean, and the window variance
        (``ddof``; exactly 0 for a constant window, NaN where the last ``w``
        rows are not all finite). ``num`` is meaningful only where ``var``
        is not NaN.
    w, ddof : int
        Window and delta degrees of freedom.
    stretch : bool
        Run full-window stretches through :func:`_moments_stretch` (the
        default); ``False`` takes every row through the tested path, which
        gives the same bits (the tests compare the two).
    """
    n = x.shape[0]
    if w - ddof <= 0:
        num[:] = NAN
        var[:] = NAN
        return
    # multiplications by reciprocals: divisions dominate the cost of a row
    inv_w = 1.0 / w
    inv_d = 1.0 / (w - ddof)
    run = 0  # finite rows in a row, up to and including this one
    since = 0  # rows since the last rebuild
    same = 0  # equal values in a row (a constant window has variance 0, exactly)
    K = 0.0
    mu = 0.0  # mean of (x - K) over the window
    m2 = 0.0  # sum of squared deviations over the window
    a1 = 0.0  # sums of (x - K) and (x - K) ** 2 since the last rebuild
    a2 = 0.0
    prev = 0.0
    i = 0
    while i < n:
        stop = i + 1
        if stretch and run >= w and since + 1 < w:
            # the rows up to the next rebuild need no tests when all finite
            e = min(i + w - 1 - since, n)
            r = _moments_stretch(x, num, var, i, e, w, K, mu, m2, same, prev, a1, a2, inv_w, inv_d)
            if np.isfinite(r[4]):
                mu, m2, same, prev, a1, a2 = r
                run += e - i
                since += e - i
                i = e
                continue
            stop = e
        while i < stop:
            xi = x[i]
            if not np.isfinite(xi):
                run = 0
                since = 0
                same = 0
                mu = 0.0
                m2 = 0.0
                num[i] = NAN
                var[i] = NAN
                i += 1
                continue
            run += 1
            same = same + 1 if run > 1 and xi == prev else 1
            prev = xi
            if run == 1:
                K = xi
            vs = xi - K
            if run <= w:
                since = 0
                a1 = 0.0
                a2 = 0.0
                d = vs - mu
                mu += d / run
                m2 += d * (vs - mu)
            else:
                a1 += vs
                a2 += vs * vs
                if since + 1 == w:
                    since = 0
                    mu = a1 * inv_w
                    m2 = a2 - a1 * mu
                    mu -= vs  # the mean about the new shift K = xi
                    K = xi
                    vs = 0.0
                    a1 = 0.0
                    a2 = 0.0
                else:
                    since += 1
                    us = x[i - w] - K
                    mu_new = mu + (vs - us) * inv_w
                    m2 += (vs - us) * (vs - mu_new + us - mu)
                    mu = mu_new
            num[i] = vs - mu
            if run < w:
                var[i] = NAN
            else:
                var[i] = 0.0 if same >= w else max(m2 * inv_d, 0.0)
            i += 1


@njit(cache=True, error_model="numpy")
def _zscore_column(x: np.ndarray, z: np.ndarray, tmp: np.ndarray, w: int, ddof: int) -> None:
    """Rolling z-score of one column into ``z``; ``tmp`` is scratch; all ``(n,)``.

    The square roots and divisions go in a second loop with no carried state,
    which LLVM vectorises (IEEE ``sqrt`` and division are exact in every
    lane, so the bits do not depend on it).
    """
    _moments_column(x, z, tmp, w, ddof)
    for i in range(x.shape[0]):
        v = tmp[i]
        z[i] = z[i] / math.sqrt(v) if v > 0.0 else NAN


@njit(cache=True, parallel=True)
def _moments_kernel(x: np.ndarray, w: int, ddof: int, mode: int, out: np.ndarray) -> None:
    """mode 0: var, 1: std, 2: z-score of the current value; ``x``, ``out``: ``(n, m)``."""
    n, m = x.shape
    for j in prange(m):
        col = np.empty(n)
        num = np.empty(n)
        var = np.empty(n)
        for i in range(n):
            col[i] = x[i, j]
        if mode == 2:
            _zscore_column(col, num, var, w, ddof)
            for i in range(n):
                out[i, j] = num[i]
            continue
        _moments_column(col, num, var, w, ddof)
        for i in range(n):
            out[i, j] = math.sqrt(var[i]) if mode == 1 else var[i]


def rolling_var(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Variance of the last ``window`` values (``ddof`` 0 or 1); NaN when ``window - ddof < 1``."""
    w = _check_window(window)
    _check_ddof(ddof, w)
    return _unary(_moments_kernel, x, w, ddof, 0)


def rolling_std(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Standard deviation of the last ``window`` values (``ddof=0`` is TA-Lib STDDEV)."""
    w = _check_window(window)
    _check_ddof(ddof, w)
    return _unary(_moments_kernel, x, w, ddof, 1)


def rolling_zscore(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """``(x - rolling_mean) / rolling_std`` over the last ``window`` values.

    The window includes the current value (pandas ``(x - x.rolling(w).mean())
    / x.rolling(w).std()``). NaN where the window is constant (std 0).
    """
    w = _check_window(window)
    _check_ddof(ddof, w)
    return _unary(_moments_kernel, x, w, ddof, 2)


@njit(cache=True, parallel=True)
def _cov_kernel(
    x: np.ndarray, y: np.ndarray, w: int, ddof: int, corr: bool, out: np.ndarray
) -> None:
    """Co-moments about shifts ``(Kx, Ky)`` renewed at every exact recomputation."""
    n, m = x.shape
    for j in prange(m):
        run = 0
        since = 0
        samex = 0
        samey = 0
        kx = 0.0
        ky = 0.0
        mx = 0.0
        my = 0.0
        cxy = 0.0
        cxx = 0.0
        cyy = 0.0
        for i in range(n):
            a = x[i, j]
            b = y[i, j]
            if not (np.isfinite(a) and np.isfinite(b)):
                run = 0
                samex = 0
                samey = 0
                mx = 0.0
                my = 0.0
                cxy = 0.0
                cxx = 0.0
                cyy = 0.0
                out[i, j] = NAN
                continue
            run += 1
            samex = samex + 1 if run > 1 and a == x[i - 1, j] else 1
            samey = samey + 1 if run > 1 and b == y[i - 1, j] else 1
            if run == 1:
                kx = a
                ky = b
            if run <= w:
                since = 0
            else:
                since += 1
            if since == w:
                since = 0
                kx = a
                ky = b
                mx = 0.0
                my = 0.0
                for k in range(i - w + 1, i + 1):
                    mx += x[k, j] - kx
                    my += y[k, j] - ky
                mx /= w
                my /= w
                cxy = 0.0
                cxx = 0.0
                cyy = 0.0
                for k in range(i - w + 1, i + 1):
                    dx = (x[k, j] - kx) - mx
                    dy = (y[k, j] - ky) - my
                    cxy += dx * dy
                    cxx += dx * dx
                    cyy += dy * dy
            else:
                cnt = run
                if run > w:
                    # remove the row leaving the window (reverse Welford)
                    u = x[i - w, j] - kx
                    z = y[i - w, j] - ky
                    nn = w - 1
                    if nn == 0:
                        mx = 0.0
                        my = 0.0
                        cxy = 0.0
                        cxx = 0.0
                        cyy = 0.0
                    else:
                        mx_new = (w * mx - u) / nn
                        my_new = (w * my - z) / nn
                        cxy -= (u - mx_new) * (z - my)
                        cxx -= (u - mx_new) * (u - mx)
                        cyy -= (z - my_new) * (z - my)
                        mx = mx_new
                        my = my_new
                    cnt = w
                sa = a - kx
                sb = b - ky
                dx = sa - mx
                dy = sb - my
                mx += dx / cnt
                my += dy / cnt
                cxy += dx * (sb - my)
                cxx += dx * (sa - mx)
                cyy += dy * (sb - my)
            if run < w:
                out[i, j] = NAN
                continue
            constx = samex >= w
            consty = samey >= w
            if corr:
                vx = 0.0 if constx else cxx
                vy = 0.0 if consty else cyy
                if vx <= 0.0 or vy <= 0.0:
                    out[i, j] = NAN
                else:
                    r = cxy / math.sqrt(vx * vy)
                    out[i, j] = min(1.0, max(-1.0, r))
            elif w - ddof <= 0:
                out[i, j] = NAN
            elif constx or consty:
                out[i, j] = 0.0
            else:
                out[i, j] = cxy / (w - ddof)


def rolling_cov(x: np.ndarray, y: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Covariance of ``x`` and ``y`` over the last ``window`` rows where both are finite.

    ``y`` has the shape of ``x`` or is one column ``(n_dates,)`` / ``(n_dates, 1)``
    (a benchmark) broadcast to every asset.
    """
    w = _check_window(window)
    _check_ddof(ddof, w)
    return _binary(_cov_kernel, x, y, w, ddof, False)


def rolling_corr(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    """Pearson correlation over the last ``window`` rows; NaN where either side is constant.

    Clipped to ``[-1, 1]``. ``y`` may be one column broadcast to every asset.
    """
    return _binary(_cov_kernel, x, y, _check_window(window), 1, True)


# ---------------------------------------------------------- order stats
@njit(cache=True, parallel=True)
def _extreme_kernel(x: np.ndarray, w: int, is_max: bool, want_arg: bool, out: np.ndarray) -> None:
    """Monotonic deque: O(1) amortised per row. Ties keep the oldest index."""
    n, m = x.shape
    for j in prange(m):
        buf = np.empty(max(n, 1), dtype=np.int64)  # indices; no wrap-around, no modulo
        head = 0
        tail = 0
        run = 0
        for i in range(n):
            v = x[i, j]
            if not np.isfinite(v):
                head = 0
                tail = 0
                run = 0
                out[i, j] = NAN
                continue
            run += 1
            while tail > head and buf[head] <= i - w:
                head += 1
            if is_max:
                while tail > head and x[buf[tail - 1], j] < v:
                    tail -= 1
            else:
                while tail > head and x[buf[tail - 1], j] > v:
                    tail -= 1
            buf[tail] = i
            tail += 1
            if run < w:
                out[i, j] = NAN
            elif want_arg:
                out[i, j] = buf[head] - (i - w + 1)
            else:
                out[i, j] = x[buf[head], j]


def rolling_max(x: np.ndarray, window: int) -> np.ndarray:
    """Maximum of the last ``window`` values (TA-Lib MAX)."""
    return _unary(_extreme_kernel, x, _check_window(window), True, False)


def rolling_min(x: np.ndarray, window: int) -> np.ndarray:
    """Minimum of the last ``window`` values (TA-Lib MIN)."""
    return _unary(_extreme_kernel, x, _check_window(window), False, False)


def rolling_argmax(x: np.ndarray, window: int) -> np.ndarray:
    """Position of the maximum inside the window: 0 = oldest row, ``window - 1`` = today.

    Ties resolve to the oldest row (``numpy.argmax`` on the window). Alpha101's
    ``ts_argmax`` in its 1-based form is this plus 1.
    """
    return _unary(_extreme_kernel, x, _check_window(window), True, True)


def rolling_argmin(x: np.ndarray, window: int) -> np.ndarray:
    """Position of the minimum inside the window (0 = oldest); ties -> oldest."""
    return _unary(_extreme_kernel, x, _check_window(window), False, True)


@njit(cache=True, parallel=True)
def _window_stat_kernel(x: np.ndarray, w: int, stat: int, flag: bool, out: np.ndarray) -> None:
    """Per-window recomputation (O(window) per row) for the rarely used stats.

    stat 0: rank of the current value (average ties; ``flag`` = pct), 1: product,
    2: skew, 3: kurtosis.
    """
    n, m = x.shape
    for j in prange(m):
        run = 0
        for i in range(n):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                out[i, j] = NAN
                continue
            run += 1
            if run < w:
                out[i, j] = NAN
                continue
            lo = i - w + 1
            if stat == 0:
                less = 0
                eq = 0
                for k in range(lo, i + 1):
                    if x[k, j] < v:
                        less += 1
                    elif x[k, j] == v:
                        eq += 1
                r = less + (eq + 1) / 2.0
                out[i, j] = r / w if flag else r
            elif stat == 1:
                p = 1.0
                for k in range(lo, i + 1):
                    p *= x[k, j]
                out[i, j] = p
            else:
                mu = 0.0
                const = True
                for k in range(lo, i + 1):
                    mu += x[k, j]
                    if x[k, j] != v:
                        const = False
                mu /= w
                s2 = 0.0
                s3 = 0.0
                s4 = 0.0
                for k in range(lo, i + 1):
                    d = x[k, j] - mu
                    d2 = d * d
                    s2 += d2
                    s3 += d2 * d
                    s4 += d2 * d2
                if const or s2 <= 0.0:
                    out[i, j] = NAN
                    continue
                m2 = s2 / w
                if stat == 2:
                    if w < 3:
                        out[i, j] = NAN
                    else:
                        g1 = (s3 / w) / m2**1.5
                        out[i, j] = math.sqrt(w * (w - 1.0)) / (w - 2.0) * g1
                elif w < 4:
                    out[i, j] = NAN
                else:
                    g2 = (s4 / w) / (m2 * m2) - 3.0
                    out[i, j] = ((w + 1.0) * g2 + 6.0) * (w - 1.0) / ((w - 2.0) * (w - 3.0))


def rolling_rank(x: np.ndarray, window: int, pct: bool = False) -> np.ndarray:
    """Rank of the current value among the last ``window`` values (``ts_rank``).

    Average rank for ties, 1 = smallest, ``window`` = largest (pandas
    ``rolling(w).rank()`` / ``scipy.stats.rankdata(win)[-1]``). ``pct=True``
    divides by ``window`` (values in ``(0, 1]``).
    """
    return _unary(_window_stat_kernel, x, _check_window(window), 0, bool(pct))


def rolling_prod(x: np.ndarray, window: int) -> np.ndarray:
    """Product of the last ``window`` values."""
    return _unary(_window_stat_kernel, x, _check_window(window), 1, False)


def rolling_skew(x: np.ndarray, window: int) -> np.ndarray:
    """Bias-corrected sample skewness (pandas ``rolling.skew``); NaN if ``window < 3`` or constant."""
    return _unary(_window_stat_kernel, x, _check_window(window), 2, False)


def rolling_kurt(x: np.ndarray, window: int) -> np.ndarray:
    """Bias-corrected excess kurtosis (pandas ``rolling.kurt``); NaN if ``window < 4`` or constant."""
    return _unary(_window_stat_kernel, x, _check_window(window), 3, False)


# --------------------------------------------------------- weighted sums
@njit(cache=True, parallel=True)
def _decay_kernel(x: np.ndarray, w: int, out: np.ndarray) -> None:
    """Linear weights 1..w (newest heaviest), normalised: TA-Lib WMA."""
    n, m = x.shape
    denom = w * (w + 1) / 2.0
    for j in prange(m):
        run = 0
        since = 0
        num = 0.0  # sum of k * x over the window (k = 1 oldest .. w newest)
        s = 0.0  # plain sum over the window
        for i in range(n):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                num = 0.0
                s = 0.0
                out[i, j] = NAN
                continue
            run += 1
            if run <= w:
                since = 0
                num += run * v
                s += v
            elif since + 1 == w:
                since = 0
                num = 0.0
                s = 0.0
                for k in range(w):
                    xv = x[i - w + 1 + k, j]
                    num += (k + 1) * xv
                    s += xv
            else:
                since += 1
                num += w * v - s
                s += v - x[i - w, j]
            out[i, j] = num / denom if run >= w else NAN


def decay_linear(x: np.ndarray, window: int) -> np.ndarray:
    """Linearly weighted mean of the last ``window`` values, newest weight ``window``.

    Alpha101's ``decay_linear`` and TA-Lib's ``WMA``.
    """
    return _unary(_decay_kernel, x, _check_window(window))


@njit(cache=True, parallel=True)
def _ewm_kernel(x: np.ndarray, w: int, alpha: float, out: np.ndarray) -> None:
    n, m = x.shape
    for j in prange(m):
        run = 0
        e = 0.0
        for i in range(n):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                e = 0.0
                out[i, j] = NAN
                continue
            run += 1
            if run < w:
                e += v
                out[i, j] = NAN
            elif run == w:
                e = (e + v) / w  # seed: simple mean of the first w values
                out[i, j] = e
            else:
                e = e + alpha * (v - e)
                out[i, j] = e


def ewm_mean(x: np.ndarray, window: int, alpha: float | None = None) -> np.ndarray:
    """Exponential moving average seeded with the mean of its first ``window`` values.

    ``e[i] = e[i-1] + alpha * (x[i] - e[i-1])`` from the row after the seed.
    Default ``alpha = 2 / (window + 1)`` is TA-Lib's EMA; ``alpha = 1 / window``
    is Wilder's smoothing (RSI, ATR). First output at the ``window``-th finite
    row; after a NaN the average restarts and is re-seeded.

    Notes
    -----
    pandas ``ewm(span=window, adjust=False)`` seeds with the first value
    instead, so it differs from this (and from TA-Lib) during the first
    few dozen rows; the difference decays like ``(1 - alpha) ** rows``.
    """
    w = _check_window(window)
    a = 2.0 / (w + 1.0) if alpha is None else float(alpha)
    if not 0.0 < a <= 1.0:
        raise ConfigError(f"alpha must be in (0, 1], got {alpha!r}")
    return _unary(_ewm_kernel, x, w, a)


# ====================================================================== twins
# Plain Python references: naive per-window numpy, one column at a time.
def _windows_py(col: np.ndarray, w: int):
    """Yield ``(i, window)`` for rows whose last ``w`` values are all finite."""
    for i in range(w - 1, len(col)):
        win = col[i - w + 1 : i + 1]
        if np.all(np.isfinite(win)):
            yield i, win


def _apply_py(x: np.ndarray, w: int, f: Callable[[np.ndarray], float]) -> np.ndarray:
    a, flat = _as_2d(x)
    w = _check_window(w)
    out = np.full(a.shape, np.nan)
    for j in range(a.shape[1]):
        for i, win in _windows_py(a[:, j], w):
            out[i, j] = f(win)
    return out.ravel() if flat else out


def rolling_sum_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_sum`."""
    return _apply_py(x, window, np.sum)


def rolling_mean_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_mean`."""
    return _apply_py(x, window, np.mean)


def _var_py(win: np.ndarray, ddof: int) -> float:
    if len(win) - ddof <= 0:
        return np.nan
    return float(np.var(win, ddof=ddof))


def rolling_var_py(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Twin of :func:`rolling_var`."""
    return _apply_py(x, window, lambda w: _var_py(w, ddof))


def rolling_std_py(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Twin of :func:`rolling_std`."""
    return _apply_py(x, window, lambda w: math.sqrt(_var_py(w, ddof)))


def rolling_zscore_py(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Twin of :func:`rolling_zscore`."""

    def z(win: np.ndarray) -> float:
        if np.all(win == win[-1]):
            return np.nan
        sd = math.sqrt(_var_py(win, ddof))
        return (win[-1] - win.mean()) / sd if sd > 0 else np.nan

    return _apply_py(x, window, z)


def _pair_py(
    x: np.ndarray, y: np.ndarray, w: int, f: Callable[[np.ndarray, np.ndarray], float]
) -> np.ndarray:
    a, flat = _as_2d(x)
    b, _ = _as_2d(y)
    b = np.broadcast_to(b, a.shape)
    w = _check_window(w)
    out = np.full(a.shape, np.nan)
    for j in range(a.shape[1]):
        for i in range(w - 1, a.shape[0]):
            u, v = a[i - w + 1 : i + 1, j], b[i - w + 1 : i + 1, j]
            if np.all(np.isfinite(u)) and np.all(np.isfinite(v)):
                out[i, j] = f(u, v)
    return out.ravel() if flat else out


def rolling_cov_py(x: np.ndarray, y: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Twin of :func:`rolling_cov`."""

    def c(u: np.ndarray, v: np.ndarray) -> float:
        if len(u) - ddof <= 0:
            return np.nan
        if np.all(u == u[0]) or np.all(v == v[0]):
            return 0.0
        return float(np.sum((u - u.mean()) * (v - v.mean())) / (len(u) - ddof))

    return _pair_py(x, y, window, c)


def rolling_corr_py(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_corr`."""

    def c(u: np.ndarray, v: np.ndarray) -> float:
        if np.all(u == u[0]) or np.all(v == v[0]):
            return np.nan
        du, dv = u - u.mean(), v - v.mean()
        den = math.sqrt(np.sum(du * du) * np.sum(dv * dv))
        return float(np.clip(np.sum(du * dv) / den, -1, 1)) if den > 0 else np.nan

    return _pair_py(x, y, window, c)


def rolling_max_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_max`."""
    return _apply_py(x, window, np.max)


def rolling_min_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_min`."""
    return _apply_py(x, window, np.min)


def rolling_argmax_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_argmax`."""
    return _apply_py(x, window, lambda w: float(np.argmax(w)))


def rolling_argmin_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_argmin`."""
    return _apply_py(x, window, lambda w: float(np.argmin(w)))


def rolling_rank_py(x: np.ndarray, window: int, pct: bool = False) -> np.ndarray:
    """Twin of :func:`rolling_rank`."""

    def r(win: np.ndarray) -> float:
        rank = np.sum(win < win[-1]) + (np.sum(win == win[-1]) + 1) / 2.0
        return rank / len(win) if pct else rank

    return _apply_py(x, window, r)


def rolling_prod_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_prod`."""
    return _apply_py(x, window, np.prod)


def rolling_skew_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_skew`."""

    def s(win: np.ndarray) -> float:
        n = len(win)
        d = win - win.mean()
        m2 = np.mean(d**2)
        if n < 3 or np.all(win == win[0]) or m2 <= 0:
            return np.nan
        return math.sqrt(n * (n - 1)) / (n - 2) * np.mean(d**3) / m2**1.5

    return _apply_py(x, window, s)


def rolling_kurt_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`rolling_kurt`."""

    def k(win: np.ndarray) -> float:
        n = len(win)
        d = win - win.mean()
        m2 = np.mean(d**2)
        if n < 4 or np.all(win == win[0]) or m2 <= 0:
            return np.nan
        g2 = np.mean(d**4) / m2**2 - 3.0
        return ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))

    return _apply_py(x, window, k)


def decay_linear_py(x: np.ndarray, window: int) -> np.ndarray:
    """Twin of :func:`decay_linear`."""
    wts = np.arange(1, _check_window(window) + 1, dtype=np.float64)
    return _apply_py(x, window, lambda win: float(np.dot(win, wts) / wts.sum()))


def ewm_mean_py(x: np.ndarray, window: int, alpha: float | None = None) -> np.ndarray:
    """Twin of :func:`ewm_mean`."""
    a, flat = _as_2d(x)
    w = _check_window(window)
    al = 2.0 / (w + 1.0) if alpha is None else float(alpha)
    out = np.full(a.shape, np.nan)
    for j in range(a.shape[1]):
        run, e = 0, 0.0
        for i in range(a.shape[0]):
            v = a[i, j]
            if not np.isfinite(v):
                run = 0
                continue
            run += 1
            if run == w:
                e = float(np.mean(a[i - w + 1 : i + 1, j]))
                out[i, j] = e
            elif run > w:
                e = e + al * (v - e)
                out[i, j] = e
    return out.ravel() if flat else out


#: numba primitive -> Python twin, for the agreement tests and for readers.
TWINS: dict[Callable[..., np.ndarray], Callable[..., np.ndarray]] = {
    rolling_sum: rolling_sum_py,
    rolling_mean: rolling_mean_py,
    rolling_var: rolling_var_py,
    rolling_std: rolling_std_py,
    rolling_zscore: rolling_zscore_py,
    rolling_cov: rolling_cov_py,
    rolling_corr: rolling_corr_py,
    rolling_max: rolling_max_py,
    rolling_min: rolling_min_py,
    rolling_argmax: rolling_argmax_py,
    rolling_argmin: rolling_argmin_py,
    rolling_rank: rolling_rank_py,
    rolling_prod: rolling_prod_py,
    rolling_skew: rolling_skew_py,
    rolling_kurt: rolling_kurt_py,
    decay_linear: decay_linear_py,
    ewm_mean: ewm_mean_py,
}
