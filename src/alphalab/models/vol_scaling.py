"""Volatility scaling with an exponentially weighted volatility, as an overlay and as a wrapper.

Zhang, Zohren and Roberts (2020) scale each asset by ``sigma_target / sigma_{i,t}``
with ``sigma`` a 50-day exponentially weighted estimate. Two modes:

* ``per_asset`` (the paper): ``w_i * target / sigma_i``;
* ``portfolio``: the whole row times ``target / sigma_p``, where ``sigma_p`` is
  the exponentially weighted volatility of the trailing returns of the row's
  own weights (what targets the portfolio's volatility; correlations count).

Either way the gross exposure is capped at ``max_leverage`` (the engine does
not lend: buys beyond the cash are cut, so a cap above 1 only matters where a
strategy shorts). Everything at row ``t`` uses close prices up to ``t`` only.
A decision with fewer than ``span`` returns of history is left unscaled.

``ewm_vol_scaling`` is the overlay (for :class:`ForecastStrategy`);
``vol_scaled`` wraps any strategy (``{kind, params}``) so that baselines and the
deep portfolio can be scaled the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.allocators import _int, _num
from alphalab.models.overlays import Overlay, register_overlay
from alphalab.portfolio.base import (
    Requirements,
    Strategy,
    decision_rows,
    make_strategy,
    register_strategy,
)
from alphalab.portfolio.params import clone_param

__all__ = ["EwmVolScaling", "VolScaled", "ewm_volatility", "scale_rows"]

MODES = ("portfolio", "per_asset")


def ewm_volatility(returns: np.ndarray, span: int, periods_per_year: float = 252.0) -> np.ndarray:
    """Annualised exponentially weighted standard deviation per asset.

    Parameters
    ----------
    returns : numpy.ndarray, shape ``(n_dates, n_assets)``
        Period returns (NaN where missing).
    span : int
        pandas ``ewm(span=...)``; rows with fewer than ``span`` returns are NaN.

    Returns
    -------
    numpy.ndarray, shape ``(n_dates, n_assets)``; row ``t`` uses rows ``<= t`` only.
    """
    frame = pd.DataFrame(returns)
    vol = frame.ewm(span=span, min_periods=span).std().to_numpy()
    return vol * math.sqrt(periods_per_year)


def _ewm_std_last(x: np.ndarray, span: int) -> float:
    """Bias-corrected EWM standard deviation of ``x`` at its last element (pandas' formula)."""
    alpha = 2.0 / (span + 1.0)
    w = (1.0 - alpha) ** np.arange(len(x) - 1, -1, -1)
    w = w / w.sum()
    mean = float(w @ x)
    var = float(w @ (x - mean) ** 2)
    denom = 1.0 - float(w @ w)
    return math.sqrt(max(var / denom, 0.0)) if denom > 0 else math.nan


def scale_rows(weights: np.ndarray, close: np.ndarray, rows: np.ndarray, *, target: float, span: int,
               mode: str = "portfolio", max_leverage: float = 1.0,
               periods_per_year: float = 252.0) -> np.ndarray:
    """Scale each decided row of ``weights`` to the volatility ``target`` (see the module docstring).

    Parameters
    ----------
    weights : numpy.ndarray, shape ``(n_decisions, n_assets)``
    close : numpy.ndarray, shape ``(n_dates, n_assets)``
    rows : numpy.ndarray of int, shape ``(n_decisions,)``
        Panel row of each decision.

    Returns
    -------
    numpy.ndarray, shape ``(n_decisions, n_assets)``; NaN rows stay NaN.
    """
    out = np.array(weights, dtype=np.float64, copy=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rets = np.vstack([np.full((1, close.shape[1]), np.nan), close[1:] / close[:-1] - 1.0])
    rets[~np.isfinite(rets)] = np.nan
    asset_vol = ewm_volatility(rets, span, periods_per_year) if mode == "per_asset" else None
    lookback = 6 * span  # (1 - 2/(span+1))**(6 span) < 1e-5: the rest of the tail is negligible
    for j, row in enumerate(np.asarray(rows, dtype=np.int64)):
        x = out[j]
        if row < span or not np.isfinite(x).any():
            continue
        x = np.nan_to_num(x)
        if mode == "per_asset":
            vol = asset_vol[row]
            held = x != 0
            if not np.isfinite(vol[held]).all() or (vol[held] <= 0).any():
                continue
            y = np.where(held, x * target / np.where(held, vol, 1.0), 0.0)
        else:
            block = np.nan_to_num(rets[max(1, row - lookback + 1): row + 1])
            vol = _ewm_std_last(block @ x, span) * math.sqrt(periods_per_year)
            if not (vol > 0 and math.isfinite(vol)):
                continue
            y = x * (target / vol)
        gross = float(np.abs(y).sum())
        if gross > max_leverage:
            y = y * (max_leverage / gross)
        out[j] = y
    return out


def _check(target: Any, span: Any, mode: Any, max_leverage: Any, periods_per_year: Any) -> None:
    _num("target", target, 0.0)
    _int("span", span, 2)
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    _num("max_leverage", max_leverage, 0.0)
    _num("periods_per_year", periods_per_year, 0.0)


@register_overlay("ewm_vol_scaling")
class EwmVolScaling(Overlay):
    """Scale weights to an annual volatility ``target`` with an EWM volatility estimate.

    Parameters
    ----------
    target : float, default 0.10
        Annualised target volatility.
    span : int, default 50
        EWM span in bars.
    mode : {"portfolio", "per_asset"}, default "portfolio"
    max_leverage : float, default 1.0
        Cap on gross exposure after scaling.
    periods_per_year : float, default 252
    """

    def __init__(self, target: float = 0.10, span: int = 50, mode: str = "portfolio",
                 max_leverage: float = 1.0, periods_per_year: float = 252.0) -> None:
        _check(target, span, mode, max_leverage, periods_per_year)
        self.target = target
        self.span = span
        self.mode = mode
        self.max_leverage = max_leverage
        self.periods_per_year = periods_per_year

    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        return scale_rows(weights, panel["close"], decision_rows(panel, dates), target=float(self.target),
                          span=int(self.span), mode=self.mode, max_leverage=float(self.max_leverage),
                          periods_per_year=float(self.periods_per_year))


@register_strategy("vol_scaled")
class VolScaled(Strategy):
    """Any strategy, its weights scaled to a volatility target (:func:`scale_rows`).

    Parameters
    ----------
    strategy : Strategy
        The inner strategy (YAML: ``{kind, params}``).
    target, span, mode, max_leverage, periods_per_year
        As :class:`EwmVolScaling`.
    random_state : int, optional
        Passed on to the inner strategy when it has that parameter.

    Study YAML::

        - name: equal_weight_scaled
          kind: vol_scaled
          params: {strategy: {kind: equal_weight}, target: 0.10, span: 50}
    """

    def __init__(self, strategy: Any, target: float = 0.10, span: int = 50, mode: str = "portfolio",
                 max_leverage: float = 1.0, periods_per_year: float = 252.0,
                 random_state: int | None = None) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError(f"vol_scaled.strategy must be a strategy, got {strategy!r:.80}")
        _check(target, span, mode, max_leverage, periods_per_year)
        if random_state is not None and (isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer))):
            raise ConfigError(f"random_state must be an integer or None, got {random_state!r}")
        self.strategy = strategy
        self.target = target
        self.span = span
        self.mode = mode
        self.max_leverage = max_leverage
        self.periods_per_year = periods_per_year
        self.random_state = random_state

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> VolScaled:
        """Build from study params, the inner strategy given as ``{kind, params}``."""
        spec = params.get("strategy")
        if not isinstance(spec, Mapping) or "kind" not in spec:
            raise ConfigError(
                f"vol_scaled.strategy must be a {{kind, params}} mapping, got {spec!r:.80}")
        unknown = sorted(set(spec) - {"kind", "params"})
        if unknown:
            raise ConfigError(f"vol_scaled.strategy has unknown key(s) {unknown}; use kind and params")
        inner_params = spec.get("params") or {}
        if not isinstance(inner_params, Mapping):
            raise ConfigError(f"vol_scaled.strategy.params must be a mapping, got {inner_params!r:.80}")
        try:
            inner = make_strategy(str(spec["kind"]), dict(inner_params))
        except ConfigError as exc:
            raise ConfigError(f"vol_scaled.strategy: {exc}") from None
        return cls(**{**dict(params), "strategy": inner})

    @property
    def requires(self) -> Requirements:  # type: ignore[override]
        r = self.strategy.requires
        return Requirements(fields=tuple(dict.fromkeys(("close", *r.fields))), min_history=r.min_history,
                            fundamentals=r.fundamentals, benchmark=r.benchmark, learns=r.learns,
                            probabilistic=r.probabilistic)

    def fit(self, panel: Panel, until: Any = None) -> VolScaled:
        """Fit a clone of the inner strategy on rows dated at or before ``until``."""
        super().fit(panel, until)
        self.strategy_ = clone_param(self.strategy)
        if self.random_state is not None and "random_state" in self.strategy_.get_params(deep=False):
            self.strategy_.set_params(random_state=int(self.random_state))
        self.strategy_.fit(panel, self.fitted_until_)
        self.diagnostics_ = dict(getattr(self.strategy_, "diagnostics_", {}))
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        """The inner strategy's weights, scaled; shape ``(len(dates), n_assets)``."""
        if not hasattr(self, "strategy_"):
            self.fit(panel, panel.dates[0])
        raw = self.strategy_.decide(panel, dates)
        fc = getattr(self.strategy_, "forecasts_", None)
        if fc is not None:
            self.forecasts_ = fc
        return scale_rows(np.asarray(raw, dtype=np.float64), panel["close"], decision_rows(panel, dates),
                          target=float(self.target), span=int(self.span), mode=self.mode,
                          max_leverage=float(self.max_leverage),
                          periods_per_year=float(self.periods_per_year))
