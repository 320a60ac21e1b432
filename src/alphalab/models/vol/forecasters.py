"""Econometric variance forecasters: GARCH family (compiled or through arch), HAR-RV, EWMA.

All emit ``kind="volatility"`` forecasts at the close of each decision date
``t`` for the next ``horizon`` bars: ``variance`` is the forecast of the mean
per-bar variance of the decimal return over ``t + 1 .. t + horizon`` and
``mean`` its square root. Each forecast at ``t`` reads rows ``<= t`` only.

================ ==============================================================
kind             model
================ ==============================================================
``garch``        (AR(1)-)GARCH(1,1), GJR-GARCH or EGARCH, normal or Student-t,
                 refitted every ``refit_every`` rows on the last ``window``
                 returns (``window: null``: expanding), filtered daily in
                 between. ``engine: compiled`` (GARCH/GJR only: the numba
                 estimator, warm-started) or ``engine: arch``.
``har``          HAR-RV (Corsi 2009): OLS per asset of the forward variance on
                 the proxy's trailing means over 1, 5 and 22 bars, fitted on the
                 training window (rows whose target crosses ``until`` dropped).
``ewma``         RiskMetrics: ``s_{t+1} = lam * s_t + (1 - lam) * r_t ** 2``.
================ ==============================================================
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.forecast import Capabilities, Forecast, Forecaster, register_forecaster
from alphalab.models.labels import training_mask
from alphalab.models.vol import targets as T
from alphalab.models.vol.garch_fast import GarchSpec
from alphalab.models.vol.rolling import rolling_garch
from alphalab.portfolio.base import decision_rows

__all__ = ["EWMAForecaster", "GarchForecaster", "HARForecaster", "ewma_variance", "vol_forecast"]


#: A one-step variance forecast above this multiple of its window's sample variance (a daily
#: volatility ~7x the window's), or below its inverse, is taken as an exploded filter.
MAX_VARIANCE_RATIO = 50.0

_GARCH_MEMO: dict[tuple[Any, ...], tuple[np.ndarray, dict[str, Any]]] = {}


def _int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}{' or null' if allow_none else ''}, got {value!r}")


def _choice(name: str, value: Any, options: Sequence[str]) -> None:
    if value not in options:
        raise ConfigError(f"{name} must be one of {list(options)}, got {value!r}")


def vol_forecast(dates: pd.DatetimeIndex, assets: pd.Index, horizon: int, variance: np.ndarray) -> Forecast:
    """A ``volatility`` Forecast from a variance array ``(n_dates, n_assets)`` (non-finite -> NaN)."""
    var = np.asarray(variance, dtype=np.float64).copy()
    var[~np.isfinite(var) | (var < 0)] = np.nan
    return Forecast(pd.DatetimeIndex(dates), assets, int(horizon), "volatility", np.sqrt(var), variance=var)


class _VolBase(Forecaster):
    """Shared: returns-based requirements and a no-op fit for rule-based models."""

    def _base_fit(self, panel: Panel, until: Any) -> None:
        self._check_fit(panel, until)
        self.diagnostics_: dict[str, Any] = {}


@register_forecaster("garch")
class GarchForecaster(_VolBase):
    """Rolling GARCH-family one-step variance forecasts.

    Parameters
    ----------
    vol : {"garch", "gjr", "egarch"}
    dist : {"normal", "t"}
    mean : {"ar", "constant"}
        AR(1) mean (the founding study) or a constant.
    window : int or None, default 90
        Returns per fit; ``None``: expanding.
    refit_every : int, default 1
        1 refits every day (the founding protocol); ``k`` refits every ``k``
        rows and filters the variance with fixed parameters in between.
    engine : {"compiled", "arch"}
        ``compiled`` (GARCH and GJR): the numba estimator; ``arch``: arch's own fit.
    method : {"newton", "arch"}
        Compiled engine only: ``newton`` (default) is the all-compiled
        multi-start active-set Newton, ``arch`` the slower scipy-SLSQP
        reference; see :func:`~alphalab.models.vol.garch_fast.fit_garch`.
    min_obs : int, default 60
        Finite returns before the first forecast.

    Attributes
    ----------
    diagnostics_ : dict
        After :meth:`predict`: ``n_fits`` and ``n_failed`` per asset (fits whose
        optimiser did not converge, after one retry), never hidden, and
        ``total_slsqp_fallback`` (compiled fits where no start reached a KKT
        point and scipy's SLSQP ran instead).
    """

    def __init__(self, vol: str = "garch", dist: str = "normal", mean: str = "ar", window: int | None = 90,
                 refit_every: int = 1, engine: str = "compiled", method: str = "newton", min_obs: int = 60) -> None:
        _choice("vol", vol, ("garch", "gjr", "egarch"))
        _choice("dist", dist, ("normal", "t"))
        _choice("mean", mean, ("ar", "constant"))
        _choice("engine", engine, ("compiled", "arch"))
        _choice("method", method, ("newton", "arch"))
        _int("window", window, 30, allow_none=True)
        _int("refit_every", refit_every, 1)
        _int("min_obs", min_obs, 30)
        if engine == "compiled" and vol == "egarch":
            raise ConfigError("engine 'compiled' covers garch and gjr; use engine: arch for egarch")
        self.vol = vol
        self.dist = dist
        self.mean = mean
        self.window = window
        self.refit_every = refit_every
        self.engine = engine
        self.method = method
        self.min_obs = min_obs

    horizon = 1

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(fields=("close",), min_history=int(self.min_obs) + 1, probabilistic=True,
                            kind="volatility")

    def fit(self, panel: Panel, until: Any = None) -> GarchForecaster:
        """Nothing to learn across folds: every forecast refits on its own trailing window."""
        self._base_fit(panel, until)
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        self.check(panel)
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        # the same data, model and rows give the same forecasts: a study that runs one GARCH
        # twice (an inverse-variance and a vol-targeting book) refits it once
        key = (panel.data_hash(), repr(sorted(self.get_params(deep=False).items())), rows.tobytes())
        if key not in _GARCH_MEMO:
            _GARCH_MEMO[key] = self._rolling(panel, rows)
            while len(_GARCH_MEMO) > 16:
                _GARCH_MEMO.pop(next(iter(_GARCH_MEMO)))
        var, diag = _GARCH_MEMO[key]
        self.diagnostics_ = dict(diag)
        return vol_forecast(dates, panel.assets, 1, var.copy())

    def _rolling(self, panel: Panel, rows: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        r = T.returns(panel)
        var = np.full((len(rows), panel.n_assets), np.nan)
        fits = np.zeros(panel.n_assets, dtype=int)
        failed = np.zeros(panel.n_assets, dtype=int)
        fallback = 0
        capped = np.zeros(panel.n_assets, dtype=int)
        for j in range(panel.n_assets):
            if self.engine == "compiled":
                res = rolling_garch(r[:, j], GarchSpec(self.mean == "ar", int(self.vol == "gjr"), self.dist),
                                    window=self.window, refit_every=int(self.refit_every),
                                    min_obs=int(self.min_obs), rows=rows, method=self.method)
                var[:, j] = res.variance[rows]
                fits[j], failed[j] = res.n_fits, res.n_failed
                fallback += res.n_fallback
            else:
                var[:, j], fits[j], failed[j], capped[j] = self._arch_column(r[:, j], rows)
        return var, {
            "n_fits": {a: int(v) for a, v in zip(panel.assets, fits, strict=True)},
            "n_failed": {a: int(v) for a, v in zip(panel.assets, failed, strict=True)},
            "total_fits": int(fits.sum()),
            "total_failed": int(failed.sum()),
            "total_slsqp_fallback": int(fallback),
            # arch engine: one-step forecasts outside [1/R, R] x the window's sample variance
            # (R = MAX_VARIANCE_RATIO; an exploded EGARCH filter), replaced by that variance
            "n_capped": {a: int(v) for a, v in zip(panel.assets, capped, strict=True)},
            "total_capped": int(capped.sum()),
        }

    def _arch_column(self, r: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, int, int, int]:
        """arch's fit and one-step forecast, refitted every ``refit_every`` rows.

        Returns the forecasts (decimal variance), fits, failed fits and capped forecasts: a
        forecast that is not finite or lies outside ``MAX_VARIANCE_RATIO`` times (or that
        fraction of) the sample variance of its window is replaced by that sample variance
        and counted (arch's EGARCH filter, run with parameters fitted up to 120 rows earlier,
        was seen to reach 4e2 and 2e-179 in decimal daily variance on TWSE stocks).
        """
        from arch import arch_model

        n_capped = 0

        def checked(f: float, y: np.ndarray) -> float:
            nonlocal n_capped
            v = float(np.var(y))
            if np.isfinite(f) and v / MAX_VARIANCE_RATIO <= f <= MAX_VARIANCE_RATIO * v:
                return f / 1e4
            n_capped += 1
            return v / 1e4

        out = np.full(len(rows), np.nan)
        fin = np.flatnonzero(np.isfinite(r))
        y_all = r[fin] * 100.0
        pos = np.searchsorted(fin, rows, side="right") - 1
        n_fits = n_failed = 0
        params = None
        fitted_at = -10**9
        lo = 0
        kw = {"mean": "AR" if self.mean == "ar" else "Constant", "lags": 1 if self.mean == "ar" else 0,
              "vol": "EGARCH" if self.vol == "egarch" else "GARCH", "p": 1, "o": 1 if self.vol != "garch" else 0,
              "q": 1, "dist": self.dist, "rescale": False}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, p in enumerate(pos):
                p = int(p)
                if p + 1 < int(self.min_obs):
                    continue
                if params is None or p - fitted_at >= int(self.refit_every):
                    lo = 0 if self.window is None else max(0, p + 1 - int(self.window))
                    if not np.var(y_all[lo : p + 1]) > 1e-12:
                        params = None  # a flat (suspended) window: no forecast
                        continue
                    res = arch_model(y_all[lo : p + 1], **kw).fit(disp="off", show_warning=False)
                    n_fits += 1
                    fitted_at = p
                    if res.convergence_flag != 0:
                        n_failed += 1  # counted; the last converged parameters are kept when there are any
                        if params is not None:
                            fixed = arch_model(y_all[lo : p + 1], **kw).fix(params)
                            out[i] = checked(float(fixed.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]),
                                             y_all[lo : p + 1])
                            continue
                    params = res.params
                    out[i] = checked(float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]),
                                     y_all[lo : p + 1])
                    continue
                fixed = arch_model(y_all[lo : p + 1], **kw).fix(params)
                out[i] = checked(float(fixed.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]),
                                 y_all[lo : p + 1])
        return out, n_fits, n_failed, n_capped


def _trailing_means(v: np.ndarray, lags: Sequence[int]) -> np.ndarray:
    """``(n_dates, n_assets, len(lags))``: mean of the finite ``v`` over rows ``t - L + 1 .. t``.

    NaN when fewer than half of the ``L`` values are finite (an ex-date's
    missing return must not blank a month of HAR regressors).
    """
    n, m = v.shape
    fin = np.isfinite(v)
    cs = np.vstack([np.zeros((1, m)), np.cumsum(np.where(fin, v, 0.0), axis=0)])
    cf = np.vstack([np.zeros((1, m)), np.cumsum(fin, axis=0)])
    out = np.full((n, m, len(lags)), np.nan)
    for k, L in enumerate(lags):
        t = np.arange(L - 1, n)
        s = cs[t + 1] - cs[t + 1 - L]
        cnt = cf[t + 1] - cf[t + 1 - L]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[L - 1 :, :, k] = np.where(cnt >= max(1, math.ceil(L / 2)), s / cnt, np.nan)
    return out


@register_forecaster("har")
class HARForecaster(_VolBase):
    """HAR-RV on a variance proxy, one OLS per asset (pooled fallback).

    Parameters
    ----------
    proxy : {"ar1_sq", "sq", "parkinson", "garman_klass"}
        The realised variance measure regressed and forecast.
    lags : sequence of int, default (1, 5, 22)
    horizon : int, default 1
        The target is the proxy's mean over the next ``horizon`` bars.
    train_window : int or None
        Rows of history used to fit (default all before ``until``).
    min_rows : int, default 200
        Fewer usable rows for an asset: it uses the pooled coefficients.
    log : bool, default False
        Fit in logs (``log`` of proxy and regressors; the forecast is
        ``exp(fit + residual variance / 2)``), which keeps forecasts positive.

    Notes
    -----
    Forecasts of the linear model are floored at the 1st percentile of the
    training target of that asset (OLS on variances can go negative).
    """

    def __init__(self, proxy: str = "ar1_sq", lags: Sequence[int] = (1, 5, 22), horizon: int = 1,
                 train_window: int | None = None, min_rows: int = 200, log: bool = False) -> None:
        _choice("proxy", proxy, T.PROXIES)
        if isinstance(lags, (str, bytes)) or not isinstance(lags, Sequence) or not lags:
            raise ConfigError(f"lags must be a non-empty list of integers, got {lags!r}")
        for lag in lags:
            _int("lags[]", lag, 1)
        _int("horizon", horizon, 1)
        _int("train_window", train_window, 50, allow_none=True)
        _int("min_rows", min_rows, 10)
        if not isinstance(log, bool):
            raise ConfigError(f"log must be true or false, got {log!r}")
        self.proxy = proxy
        self.lags = lags
        self.horizon = horizon
        self.train_window = train_window
        self.min_rows = min_rows
        self.log = log

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        fields = {"parkinson": ("high", "low"), "garman_klass": ("open", "high", "low", "close")}.get(self.proxy, ("close",))
        return Capabilities(fields=tuple(dict.fromkeys(("close", *fields))),
                            min_history=max(self.lags) + int(self.horizon) + 100, probabilistic=True, kind="volatility")

    def _design(self, panel: Panel) -> tuple[np.ndarray, np.ndarray]:
        v = T.proxy(panel, self.proxy)
        x = _trailing_means(v, [int(L) for L in self.lags])
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.log(x)
            x[~np.isfinite(x)] = np.nan
        return v, x

    def fit(self, panel: Panel, until: Any = None) -> HARForecaster:
        train, cut = self._check_fit(panel, until)
        h = int(self.horizon)
        v, x = self._design(train)
        y = T.forward_variance(v, h)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log(y)
            y[~np.isfinite(y)] = np.nan
        keep = training_mask(y, train.dates, h, cut) & np.isfinite(x).all(axis=2)
        if self.train_window is not None:
            keep[: max(0, train.n_dates - int(self.train_window))] = False
        if keep.sum() < int(self.min_rows):
            raise DataError(f"har: {int(keep.sum())} usable rows by {cut.date()}, need {self.min_rows}")
        k = x.shape[2]

        def ols(xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, float, float]:
            a = np.column_stack([np.ones(len(yy)), xx])
            beta, *_ = np.linalg.lstsq(a, yy, rcond=None)
            resid = yy - a @ beta
            return beta, float(resid.var()), float(np.quantile(yy, 0.01))

        pooled = ols(x[keep], y[keep])
        self.coef_ = np.tile(pooled[0], (train.n_assets, 1))
        self.resvar_ = np.full(train.n_assets, pooled[1])
        self.floor_ = np.full(train.n_assets, pooled[2])
        own = np.zeros(train.n_assets, dtype=bool)
        for j in range(train.n_assets):
            kj = keep[:, j]
            if kj.sum() >= int(self.min_rows):
                self.coef_[j], self.resvar_[j], self.floor_[j] = ols(x[kj, j, :], y[kj, j])
                own[j] = True
        self.diagnostics_ = {"n_rows": int(keep.sum()), "own_fit": int(own.sum()), "pooled_fit": int((~own).sum()),
                             "pooled_coef": [float(c) for c in pooled[0]], "k": k}
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        if not hasattr(self, "coef_"):
            raise ConfigError("HARForecaster.predict before fit")
        self.check(panel)
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        _, x = self._design(panel)
        xr = x[rows]
        pred = self.coef_[None, :, 0] + np.einsum("dak,ak->da", xr, self.coef_[:, 1:])
        if self.log:
            var = np.exp(pred + 0.5 * self.resvar_[None, :])
        else:
            var = np.maximum(pred, np.maximum(self.floor_[None, :], 1e-12))
        var[~np.isfinite(xr).all(axis=2)] = np.nan
        return vol_forecast(dates, panel.assets, int(self.horizon), var)


def ewma_variance(r: np.ndarray, lam: float = 0.94, init: int = 20) -> np.ndarray:
    """RiskMetrics variance after each row, shape ``(n_dates, n_assets)``.

    ``s`` starts as the mean square of an asset's first ``init`` finite returns
    (available at the ``init``-th) and updates ``s = lam * s + (1 - lam) * r ** 2``
    at every later finite return; rows with a NaN return carry ``s``. Entry ``t``
    forecasts the variance of ``r[t + 1]``; NaN before the start.
    """
    r = np.asarray(r, dtype=np.float64)
    n, m = r.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        seen, acc, s = 0, 0.0, math.nan
        for t in range(n):
            x = r[t, j]
            if math.isfinite(x):
                if seen < init:
                    acc += x * x
                    seen += 1
                    if seen == init:
                        s = acc / init
                else:
                    s = lam * s + (1.0 - lam) * x * x
            out[t, j] = s
    return out


@register_forecaster("ewma")
class EWMAForecaster(_VolBase):
    """RiskMetrics EWMA variance (``lam = 0.94`` for daily data) as the next-bar variance forecast.

    Parameters
    ----------
    lam : float in (0, 1), default 0.94
    init : int, default 20
        Finite returns averaged to start the recursion.
    """

    horizon = 1

    def __init__(self, lam: float = 0.94, init: int = 20) -> None:
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0 < float(lam) < 1:
            raise ConfigError(f"lam must lie in (0, 1), got {lam!r}")
        _int("init", init, 2)
        self.lam = lam
        self.init = init

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(fields=("close",), min_history=int(self.init) + 1, probabilistic=True, kind="volatility")

    def fit(self, panel: Panel, until: Any = None) -> EWMAForecaster:
        self._base_fit(panel, until)
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        self.check(panel)
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        var = ewma_variance(T.returns(panel), float(self.lam), int(self.init))[rows]
        return vol_forecast(dates, panel.assets, 1, var)
