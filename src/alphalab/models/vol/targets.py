"""Variance targets and proxies for the volatility lab, each with its horizon declared.

Two kinds of arrays live here, both shape ``(n_dates, n_assets)``:

* **proxies**, realised at the close of row ``t`` from rows ``<= t`` only
  (a leakage-guarded feature): squared returns, the founding study's
  AR(1)-demeaned square, Parkinson and Garman-Klass range estimators;
* **targets** (:func:`forward_variance`), built on purpose from rows
  ``t + 1 .. t + h``: the mean of a proxy over the next ``h`` bars. A model
  fitted at ``until`` may train on target row ``t`` only when
  ``t + h <= row(until)`` (:func:`alphalab.models.labels.training_mask`).

Returns come from ``ret_ref`` where the panel has it (the TWSE return against the
exchange's reference price, which strips ex-dividend and ex-rights drops: those
days are not volatility); elsewhere from ``close / close[t-1] - 1``. Where
``ret_ref`` is NaN but both closes exist (an ex-date), the return stays NaN.
"""

from __future__ import annotations

import math

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError

__all__ = [
    "PROXIES",
    "ar1_demeaned_square",
    "forward_variance",
    "garman_klass",
    "parkinson",
    "proxy",
    "returns",
    "squared_returns",
]

#: Proxy names understood by :func:`proxy`.
PROXIES: tuple[str, ...] = ("ar1_sq", "sq", "parkinson", "garman_klass")


def returns(panel: Panel) -> np.ndarray:
    """Simple daily returns, shape ``(n_dates, n_assets)``; row 0 is NaN.

    ``ret_ref`` when the panel has that field (NaN on ex-dates), else the
    close-to-close return. Non-finite values become NaN.
    """
    if "ret_ref" in panel.field_names:
        r = np.array(panel["ret_ref"], dtype=np.float64)
    else:
        close = np.asarray(panel["close"], dtype=np.float64)
        r = np.full(close.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            r[1:] = close[1:] / close[:-1] - 1.0
    r[~np.isfinite(r)] = np.nan
    return r


def squared_returns(r: np.ndarray) -> np.ndarray:
    """``r_t ** 2`` (the plainest one-day variance proxy)."""
    return np.asarray(r, dtype=np.float64) ** 2


def ar1_demeaned_square(r: np.ndarray, window: int = 90, min_obs: int = 30) -> np.ndarray:
    """The founding study's target: ``(r_t - mu_t) ** 2`` with ``mu_t`` from an AR(1).

    ``mu_t = c + phi * r_{t-1}``, where ``(c, phi)`` is the OLS fit of
    ``r_s`` on ``r_{s-1}`` over the ``window - 1`` pairs inside the previous
    ``window`` returns ``r_{t-window} .. r_{t-1}`` (``s = t - window + 1 .. t - 1``,
    both ends finite). So the mean uses only rows before ``t`` and the value at
    ``t`` uses rows ``<= t``.

    Parameters
    ----------
    r : numpy.ndarray, shape ``(n_dates, n_assets)``
    window : int
        Rows of history for the AR(1).
    min_obs : int
        Fewer complete pairs than this gives NaN.
    """
    r = np.asarray(r, dtype=np.float64)
    if window < 3 or min_obs < 3:
        raise ConfigError(f"ar1_demeaned_square needs window >= 3 and min_obs >= 3, got {window}, {min_obs}")
    n, m = r.shape
    x = np.full_like(r, np.nan)
    x[1:] = r[:-1]  # pair at row s: (x = r_{s-1}, y = r_s)
    ok = np.isfinite(x) & np.isfinite(r)
    xs, ys = np.where(ok, x, 0.0), np.where(ok, r, 0.0)

    def csum(a: np.ndarray) -> np.ndarray:
        return np.vstack([np.zeros((1, m)), np.cumsum(a, axis=0)])

    c_n, c_x, c_y = csum(ok.astype(np.float64)), csum(xs), csum(ys)
    c_xx, c_xy = csum(xs * xs), csum(xs * ys)
    out = np.full_like(r, np.nan)
    t = np.arange(n)
    lo = np.maximum(t - window + 1, 0)  # pairs s in [t - window + 1, t - 1]
    cnt = c_n[t] - c_n[lo]
    sx, sy = c_x[t] - c_x[lo], c_y[t] - c_y[lo]
    sxx, sxy = c_xx[t] - c_xx[lo], c_xy[t] - c_xy[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        den = cnt * sxx - sx * sx
        phi = np.where(den > 0, (cnt * sxy - sx * sy) / np.where(den > 0, den, 1.0), 0.0)
        c = (sy - phi * sx) / cnt
        mu = c + phi * x
        val = (r - mu) ** 2
    good = (cnt >= min_obs) & np.isfinite(val)
    out[good] = val[good]
    return out


def _logs(panel: Panel, *names: str) -> list[np.ndarray]:
    missing = [n for n in names if n not in panel.field_names]
    if missing:
        raise DataError(f"range proxies need field(s) {missing}; the panel has {panel.field_names}")
    return [np.asarray(panel[n], dtype=np.float64) for n in names]


def parkinson(panel: Panel) -> np.ndarray:
    """Parkinson (1980) range variance ``ln(H/L)^2 / (4 ln 2)`` of each bar."""
    high, low = _logs(panel, "high", "low")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(high / low) ** 2 / (4.0 * math.log(2.0))
    out[~np.isfinite(out)] = np.nan
    return out


def garman_klass(panel: Panel) -> np.ndarray:
    """Garman-Klass (1980) ``0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2`` of each bar (floored at 0)."""
    o, h, lo, c = _logs(panel, "open", "high", "low", "close")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 0.5 * np.log(h / lo) ** 2 - (2.0 * math.log(2.0) - 1.0) * np.log(c / o) ** 2
    out[~np.isfinite(out)] = np.nan
    return np.maximum(out, 0.0, where=np.isfinite(out), out=out)


def proxy(panel: Panel, name: str = "ar1_sq", *, window: int = 90) -> np.ndarray:
    """A realised variance proxy by name (one of :data:`PROXIES`), shape ``(n_dates, n_assets)``."""
    if name == "ar1_sq":
        return ar1_demeaned_square(returns(panel), window=window)
    if name == "sq":
        return squared_returns(returns(panel))
    if name == "parkinson":
        return parkinson(panel)
    if name == "garman_klass":
        return garman_klass(panel)
    raise ConfigError(f"proxy must be one of {PROXIES}, got {name!r}")


def forward_variance(values: np.ndarray, horizon: int = 1) -> np.ndarray:
    """Target at row ``t``: the mean of a proxy over rows ``t + 1 .. t + horizon``.

    Looks ahead by construction (a label); NaN in the last ``horizon`` rows
    and where any proxy value in the window is missing.

    Parameters
    ----------
    values : numpy.ndarray, shape ``(n_dates, n_assets)``
    horizon : int
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"horizon must be an integer >= 1, got {horizon!r}")
    v = np.asarray(values, dtype=np.float64)
    n, m = v.shape
    h = int(horizon)
    out = np.full_like(v, np.nan)
    if h >= n:
        return out
    fin = np.isfinite(v)
    cs = np.vstack([np.zeros((1, m)), np.cumsum(np.where(fin, v, 0.0), axis=0)])
    cm = np.vstack([np.zeros((1, m)), np.cumsum(~fin, axis=0)])
    t = np.arange(n - h)
    s = cs[t + h + 1] - cs[t + 1]
    miss = cm[t + h + 1] - cm[t + 1]
    out[: n - h] = np.where(miss == 0, s / h, np.nan)
    return out
