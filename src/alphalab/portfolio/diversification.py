"""Diversification baselines of the deep-portfolio study (Zhang, Zohren and Roberts, 2020).

==========================  =====================================================
kind                        rule
==========================  =====================================================
``max_diversification``     skfolio ``MaximumDiversification``: maximise
                            ``w'sigma / sqrt(w'Sigma w)`` on the trailing
                            ``window`` returns (long-only, fully invested)
``diversity_weighted``      Fernholz's diversity-weighted portfolio
                            ``w_i = m_i^p / sum_j m_j^p`` of "market weights"
                            ``m`` (``p = 1``: cap weighting, ``p = 0``: equal)
==========================  =====================================================

Market weights come from the ``cap_field`` of the panel (e.g. ``market_cap``)
at the decision row when it exists; otherwise they are proxied by the mean
dollar volume (``close * volume``) over the trailing ``window`` rows, which
for exchange-traded funds tracks their size. With neither, the strategy raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.base import Requirements, register_strategy
from alphalab.portfolio.baselines import (
    _check_float,
    _check_int,
    _equal,
    _PerDate,
    _SkfolioWindowed,
)

__all__ = ["DiversityWeighted", "MaxDiversification"]


@register_strategy("max_diversification")
class MaxDiversification(_SkfolioWindowed):
    """Long-only maximum diversification ratio (skfolio ``MaximumDiversification``).

    Parameters
    ----------
    window : int, default 250
        Bars of trailing returns the volatilities and covariance are estimated on.

    Attributes
    ----------
    fallbacks_ : list of Timestamp
        Decision dates where the solver failed and equal weight was used.
    """

    def _estimator(self, dates: pd.DatetimeIndex) -> Any:
        from skfolio.optimization import MaximumDiversification

        return MaximumDiversification()


@register_strategy("diversity_weighted")
class DiversityWeighted(_PerDate):
    """Diversity-weighted portfolio ``w_i ∝ m_i^p`` (see the module docstring).

    Parameters
    ----------
    p : float in [0, 1], default 0.5
        Diversity exponent.
    window : int, default 50
        Rows of dollar volume averaged for the size proxy.
    cap_field : str, default "market_cap"
        Panel field with market capitalisation, used when present.
    """

    def __init__(self, p: float = 0.5, window: int = 50, cap_field: str = "market_cap") -> None:
        value = _check_float("p", p)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"p must lie in [0, 1], got {p!r}")
        _check_int("window", window, 1)
        if not isinstance(cap_field, str) or not cap_field:
            raise ConfigError(f"cap_field must be a field name, got {cap_field!r}")
        self.p = p
        self.window = window
        self.cap_field = cap_field

    @property
    def requires(self) -> Requirements:  # type: ignore[override]
        return Requirements(fields=("close",), min_history=int(self.window))

    def _prepare(self, panel: Panel) -> None:
        if self.cap_field in panel.field_names:
            self.size_source_ = self.cap_field
        elif "volume" in panel.field_names:
            self.size_source_ = "dollar_volume"
        else:
            raise DataError(
                f"diversity_weighted needs a {self.cap_field!r} field or a 'volume' field for the "
                f"dollar-volume size proxy; the panel has {', '.join(panel.field_names)}")

    def _decide_row(self, panel: Panel, row: int) -> np.ndarray:
        close = panel["close"][row]
        priced = np.isfinite(close) & (close > 0)
        if self.size_source_ == "dollar_volume":
            lo = row - int(self.window) + 1
            if lo < 0:
                return np.full(panel.n_assets, np.nan)
            dv = panel["close"][lo: row + 1] * panel["volume"][lo: row + 1]
            with np.errstate(invalid="ignore"):
                size = np.where(np.isfinite(dv).all(axis=0), dv.mean(axis=0), np.nan)
        else:
            size = panel[self.cap_field][row]
        ok = priced & np.isfinite(size) & (size > 0)
        if not ok.any():
            return _equal(priced)
        m = np.where(ok, size, 0.0)
        m = m / m.sum()
        d = np.where(ok, m ** float(self.p), 0.0)
        return d / d.sum()
