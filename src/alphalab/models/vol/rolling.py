"""Rolling GARCH protocols over one return series and over a panel.

* **founding** (the original study): at every row ``t`` refit on the last
  ``window`` finite returns up to ``t`` (warm-started from the previous row's
  optimum), forecast ``sigma^2_{t+1}``;
* **practical**: refit every ``refit_every`` rows on the last ``window``
  finite returns (``window=None``: everything so far, expanding), and between
  refits filter the variance recursion with the fixed parameters through each
  new return.

Both are causal: the forecast at row ``t`` reads returns at rows ``<= t``.
Returns are fitted in percent (``100 r``) as arch recommends; forecasts come
back on the scale of ``r`` (variance of a decimal return). Rows with a NaN
return (ex-dates, gaps) carry the last forecast forward (nothing new was seen).
A failed fit is retried once from arch's grid start; fits still failing are
counted (never hidden) and the forecast of that row is still the optimum found.
Fits where the compiled solver reached no KKT point from any start and scipy's
SLSQP ran instead are counted too (``n_fallback``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from alphalab.errors import ConfigError
from alphalab.models.vol.garch_fast import GarchSpec, _backcast, _ols, fit_garch

__all__ = ["RollingResult", "filter_path", "rolling_garch", "rolling_garch_panel"]

_SCALE = 100.0


@numba.njit(cache=True)
def filter_path(theta: np.ndarray, y: np.ndarray, bc: float, ar: bool) -> np.ndarray:
    """One-step variance forecasts after each observation of ``y`` with fixed parameters.

    Returns
    -------
    numpy.ndarray, shape ``(n,)``
        Entry ``i`` forecasts the variance of ``y[i + 1]``; entry 0 is NaN with AR
        (its residual needs a lag).
    """
    mu, phi, omega, alpha, gamma, beta = theta[0], theta[1], theta[2], theta[3], theta[4], theta[5]
    n = y.shape[0]
    out = np.full(n, np.nan)
    s = omega + (alpha + 0.5 * gamma + beta) * bc
    start = 1 if ar else 0
    for i in range(start, n):
        e = y[i] - mu - (phi * y[i - 1] if ar else 0.0)
        s = omega + (alpha + gamma * (1.0 if e < 0.0 else 0.0)) * e * e + beta * s
        out[i] = s
    return out


@dataclass
class RollingResult:
    """Forecasts of one series and how the fits went.

    Attributes
    ----------
    variance : numpy.ndarray, shape ``(n,)``
        ``variance[t]`` forecasts the variance of ``r[t + 1]`` (NaN before the first fit).
    loglik : numpy.ndarray, shape ``(n,)``
        Log-likelihood of the fit made at row ``t`` (NaN where none was made),
        on percent returns.
    n_fits, n_failed : int
        Fits done and fits whose optimiser did not report success (after the retry).
    n_fallback : int
        Fits of method ``"newton"`` that fell back to scipy's SLSQP.
    params : list of numpy.ndarray
        The last fitted parameter vector (length 7), for inspection.
    """

    variance: np.ndarray
    loglik: np.ndarray
    n_fits: int = 0
    n_failed: int = 0
    n_fallback: int = 0
    params: list[np.ndarray] = field(default_factory=list)


def _fit(y: np.ndarray, spec: GarchSpec, start: np.ndarray | None, method: str):
    fit = fit_garch(y, spec, start=start, method=method)
    if not fit.converged and start is not None:
        retry = fit_garch(y, spec, start=None)
        if retry.converged or retry.loglik > fit.loglik:
            fit = retry
    return fit


def rolling_garch(r: np.ndarray, spec: GarchSpec | None = None, *, window: int | None = 90,
                  refit_every: int = 1, min_obs: int = 60, rows: np.ndarray | None = None,
                  method: str = "newton") -> RollingResult:
    """Rolling one-step GARCH variance forecasts for one series.

    Parameters
    ----------
    r : numpy.ndarray, shape ``(n,)``
        Decimal returns (NaN allowed).
    spec : GarchSpec
    window : int or None
        Finite returns per fit (``None``: expanding).
    refit_every : int
        1 is the founding protocol (refit each row); ``k > 1`` refits every
        ``k`` rows and filters in between.
    min_obs : int
        Finite returns needed before the first forecast.
    rows : numpy.ndarray of int, optional
        Only these rows need a forecast (a test block); fits start at the first
        and warm starts chain forward from there. Default: every row.
    method : {"newton", "arch"}
        Passed to :func:`~alphalab.models.vol.garch_fast.fit_garch`.
    """
    spec = GarchSpec() if spec is None else spec
    if refit_every < 1 or (window is not None and window < 20) or min_obs < 20:
        raise ConfigError(f"rolling_garch: refit_every >= 1, window >= 20, min_obs >= 20; got "
                          f"{refit_every}, {window}, {min_obs}")
    r = np.asarray(r, dtype=np.float64)
    n = r.shape[0]
    out = np.full(n, np.nan)
    res = RollingResult(out, np.full(n, np.nan))
    fin = np.flatnonzero(np.isfinite(r))
    y_all = r[fin] * _SCALE
    # position in the finite series of the last finite return at or before each row
    last_pos = np.searchsorted(fin, np.arange(n), side="right") - 1
    want = np.arange(n) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    prev = None
    fitted_at = -10**9
    theta = None
    bc = 0.0
    lo_fit = 0
    for t in want:
        p = int(last_pos[t])
        if p + 1 < min_obs:
            continue
        if theta is None or p - fitted_at >= refit_every:
            lo_fit = 0 if window is None else max(0, p + 1 - window)
            y = y_all[lo_fit : p + 1]
            if not np.var(y) > 1e-12:
                # a suspended stock's flat window: no variance to model, no forecast (and no fit)
                theta = None
                continue
            fit = _fit(y, spec, prev, method)
            res.n_fits += 1
            res.n_failed += int(not fit.converged)
            res.n_fallback += int(method == "newton" and fit.solver == "slsqp")
            theta = fit.params
            prev = theta
            fitted_at = p
            if refit_every > 1:  # the backcast is only needed to filter between refits
                _, _, resid = _ols(y, spec.ar)
                bc = _backcast(resid)
            out[t] = fit.forecast_var / _SCALE**2
            res.loglik[t] = fit.loglik
            continue
        # filter with fixed parameters through the returns seen since the fit
        path = filter_path(theta, y_all[lo_fit : p + 1], bc, spec.ar)
        out[t] = path[-1] / _SCALE**2
    if theta is not None:
        res.params.append(theta)
    return res


def rolling_garch_panel(r: np.ndarray, spec: GarchSpec | None = None, *, window: int | None = 90,
                        refit_every: int = 1, min_obs: int = 60,
                        rows: np.ndarray | None = None, method: str = "newton") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rolling_garch` on every column of ``r`` (shape ``(n_dates, n_assets)``).

    Returns
    -------
    variance : numpy.ndarray, shape ``(n_dates, n_assets)``
    n_fits, n_failed : numpy.ndarray of int, shape ``(n_assets,)``
    """
    r = np.asarray(r, dtype=np.float64)
    var = np.full(r.shape, np.nan)
    n_fits = np.zeros(r.shape[1], dtype=np.int64)
    n_failed = np.zeros(r.shape[1], dtype=np.int64)
    for j in range(r.shape[1]):
        rr = rolling_garch(r[:, j], spec, window=window, refit_every=refit_every, min_obs=min_obs, rows=rows,
                           method=method)
        var[:, j] = rr.variance
        n_fits[j] = rr.n_fits
        n_failed[j] = rr.n_failed
    return var, n_fits, n_failed
