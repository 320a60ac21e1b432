"""Rule-based forecasters: the baselines every learner is compared with.

================== ===========================================================
kind               forecast at the close of ``t``
================== ===========================================================
``momentum``       score ``close[t - skip] / close[t - lookback] - 1``
``realised_vol``   volatility: the root mean square of the last ``window``
                   log returns (per bar), as the forecast of the next
                   ``horizon`` bars' realised volatility (a random walk on
                   volatility); ``variance`` is its square
================== ===========================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.forecast import Capabilities, Forecast, Forecaster, register_forecaster
from alphalab.portfolio.base import decision_rows
from alphalab.portfolio.params import check_int as _int

__all__ = ["MomentumForecaster", "RealisedVolForecaster"]


@register_forecaster("momentum")
class MomentumForecaster(Forecaster):
    """Trailing return from ``t - lookback`` to ``t - skip`` as a score.

    Parameters
    ----------
    lookback : int, default 120
    skip : int, default 0
        Smaller than ``lookback``.
    horizon : int, default 20
        The horizon the score is meant for (used by evaluation).
    """

    def __init__(self, lookback: int = 120, skip: int = 0, horizon: int = 20) -> None:
        _int("lookback", lookback, 1)
        _int("skip", skip, 0)
        _int("horizon", horizon, 1)
        if skip >= lookback:
            raise ConfigError(f"skip ({skip}) must be smaller than lookback ({lookback})")
        self.lookback = lookback
        self.skip = skip
        self.horizon = horizon

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(fields=("close",), min_history=int(self.lookback) + 1, kind="score")

    def fit(self, panel: Panel, until: Any = None) -> MomentumForecaster:
        self._check_fit(panel, until)
        self.diagnostics_: dict[str, Any] = {}
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        self.check(panel)
        rows = decision_rows(panel, dates)
        close = panel["close"]
        lb, sk = int(self.lookback), int(self.skip)
        out = np.full((len(rows), panel.n_assets), np.nan)
        for j, r in enumerate(rows):
            if r >= lb:
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[j] = close[r - sk] / close[r - lb] - 1.0
        out[~np.isfinite(out)] = np.nan
        out[~np.isfinite(close[rows])] = np.nan
        return Forecast(pd.DatetimeIndex(dates), panel.assets, int(self.horizon), "score", out)


@register_forecaster("realised_vol")
class RealisedVolForecaster(Forecaster):
    """Trailing realised volatility (per bar) as the volatility forecast.

    Parameters
    ----------
    window : int, default 20
        Log returns in the trailing window (all must be finite).
    horizon : int, default 1
    """

    def __init__(self, window: int = 20, horizon: int = 1) -> None:
        _int("window", window, 2)
        _int("horizon", horizon, 1)
        self.window = window
        self.horizon = horizon

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(fields=("close",), min_history=int(self.window) + 1, probabilistic=True,
                            kind="volatility")

    def fit(self, panel: Panel, until: Any = None) -> RealisedVolForecaster:
        self._check_fit(panel, until)
        self.diagnostics_: dict[str, Any] = {}
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        self.check(panel)
        rows = decision_rows(panel, dates)
        close = panel["close"]
        w = int(self.window)
        out = np.full((len(rows), panel.n_assets), np.nan)
        for j, r in enumerate(rows):
            if r >= w:
                block = close[r - w : r + 1]
                with np.errstate(invalid="ignore", divide="ignore"):
                    lr = np.log(block[1:] / block[:-1])
                ok = np.isfinite(lr).all(axis=0)
                out[j] = np.where(ok, np.sqrt(np.mean(np.where(ok, lr, 0.0) ** 2, axis=0)), np.nan)
        return Forecast(pd.DatetimeIndex(dates), panel.assets, int(self.horizon), "volatility", out,
                        variance=out**2)
