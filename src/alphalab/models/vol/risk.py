"""Value-at-Risk from variance forecasts and its backtests (Kupiec 1995, Christoffersen 1998).

``var_threshold`` turns a variance forecast into the return quantile at level
``alpha`` (a loss threshold: a *violation* is a realised return below it).
``kupiec`` tests the violation rate (proportion of failures), ``christoffersen``
tests independence of violations (first-order Markov) and conditional coverage
(``LR_cc = LR_pof + LR_ind``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from alphalab.errors import ConfigError

__all__ = ["christoffersen", "kupiec", "var_threshold", "violations"]


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def var_threshold(variance: Any, alpha: float, *, mean: Any = 0.0, dist: str = "normal", nu: float = 8.0) -> np.ndarray:
    """Return quantile ``mean + sqrt(variance) * q(alpha)``; ``dist="t"`` uses a unit-variance Student-t."""
    if not 0 < alpha < 0.5:
        raise ConfigError(f"VaR level alpha must lie in (0, 0.5), got {alpha!r}")
    sd = np.sqrt(np.asarray(variance, dtype=np.float64))
    if dist == "normal":
        q = stats.norm.ppf(alpha)
    elif dist == "t":
        if not nu > 2:
            raise ConfigError(f"nu must exceed 2, got {nu!r}")
        q = stats.t.ppf(alpha, nu) * math.sqrt((nu - 2) / nu)
    else:
        raise ConfigError(f"dist must be 'normal' or 't', got {dist!r}")
    return np.asarray(mean, dtype=np.float64) + sd * q


def violations(returns: Any, threshold: Any) -> np.ndarray:
    """1.0 where the return falls below the VaR threshold, 0.0 above, NaN where either is missing."""
    r, t = np.asarray(returns, dtype=np.float64), np.asarray(threshold, dtype=np.float64)
    out = np.where(r < t, 1.0, 0.0)
    out[~(np.isfinite(r) & np.isfinite(t))] = np.nan
    return out


def kupiec(hits: Any, alpha: float) -> dict[str, float]:
    """Kupiec's proportion-of-failures LR test.

    Parameters
    ----------
    hits : array-like, shape ``(n,)``
        Violation indicators (NaN dropped).
    alpha : float
        Nominal violation probability.

    Returns
    -------
    dict
        ``n``, ``violations``, ``rate``, ``lr`` (chi-squared, 1 df) and ``pvalue``.
    """
    h = np.asarray(hits, dtype=np.float64)
    h = h[np.isfinite(h)]
    n, x = int(h.size), int(h.sum())
    if n == 0:
        return {"n": 0.0, "violations": 0.0, "rate": math.nan, "lr": math.nan, "pvalue": math.nan}
    p_hat = x / n
    ll0 = _xlogy(n - x, 1 - alpha) + _xlogy(x, alpha)
    ll1 = _xlogy(n - x, 1 - p_hat) + _xlogy(x, p_hat)
    lr = max(0.0, -2.0 * (ll0 - ll1))
    return {"n": float(n), "violations": float(x), "rate": p_hat, "lr": lr, "pvalue": float(stats.chi2.sf(lr, 1))}


def christoffersen(hits: Any, alpha: float) -> dict[str, float]:
    """Christoffersen's independence and conditional-coverage LR tests.

    Transitions are counted between consecutive finite indicators
    (``n_ij``: state ``i`` followed by ``j``).

    Returns
    -------
    dict
        ``lr_ind`` (1 df) and ``pvalue_ind``; ``lr_cc = lr_pof + lr_ind`` (2 df) and ``pvalue_cc``.
    """
    h = np.asarray(hits, dtype=np.float64)
    h = h[np.isfinite(h)].astype(int)
    if h.size < 2:
        return {"lr_ind": math.nan, "pvalue_ind": math.nan, "lr_cc": math.nan, "pvalue_cc": math.nan}
    a, b = h[:-1], h[1:]
    n00 = int(((a == 0) & (b == 0)).sum())
    n01 = int(((a == 0) & (b == 1)).sum())
    n10 = int(((a == 1) & (b == 0)).sum())
    n11 = int(((a == 1) & (b == 1)).sum())
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    ll_null = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    ll_alt = _xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11)
    lr_ind = max(0.0, -2.0 * (ll_null - ll_alt))
    lr_cc = kupiec(h, alpha)["lr"] + lr_ind
    return {"lr_ind": lr_ind, "pvalue_ind": float(stats.chi2.sf(lr_ind, 1)),
            "lr_cc": lr_cc, "pvalue_cc": float(stats.chi2.sf(lr_cc, 2))}
