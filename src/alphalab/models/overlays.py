"""Overlays: causal rules applied to target weights after allocation.

``apply(weights, panel, dates)`` takes weights of shape ``(n_dates, n_assets)``
decided at the close of each of ``dates`` and returns adjusted weights of the
same shape; the row of ``dates[j]`` may use panel rows dated at or before
``dates[j]`` only. A NaN row (no decision) stays NaN. Money taken out of an
asset stays in cash.

=================== ==========================================================
kind                rule
=================== ==========================================================
``trailing_stop``   zero an asset whose close is ``drawdown`` or more below its
                    highest close of the last ``window`` bars
``drawdown_halt``   go to cash for ``cooldown`` bars when the paper equity of
                    the overlay's own weights (held close to close between
                    decisions, no costs) is ``max_drawdown`` below its peak;
                    the peak resets when trading resumes
``market_halt``     go to cash on a date where the market fell ``drop`` or more
                    over ``window`` bars (the ``index`` asset's close, or the
                    equal-weight mean return of all priced assets), and for
                    ``cooldown`` bars after
``vol_scaling``     scale the row so that the trailing ``window``-bar realised
                    volatility of the current weights is ``target`` (annual),
                    gross capped at ``max_leverage``
=================== ==========================================================
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.allocators import _int, _num
from alphalab.portfolio.base import decision_rows
from alphalab.portfolio.params import Parametrised

__all__ = [
    "OVERLAYS",
    "DrawdownHalt",
    "MarketHalt",
    "Overlay",
    "TrailingStop",
    "VolScaling",
    "register_overlay",
]


class Overlay(Parametrised, ABC):
    """Base class: a causal adjustment of target weights."""

    @abstractmethod
    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        """Adjusted weights, shape ``(len(dates), n_assets)``; see the module docstring."""


def _copy(weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex, kind: str) -> np.ndarray:
    """A float copy of ``weights`` after checking it is ``(len(dates), n_assets)``."""
    out = np.array(weights, dtype=np.float64, copy=True)
    if out.shape != (len(dates), panel.n_assets):
        raise DataError(f"{kind}: weights of shape {out.shape} for {len(dates)} dates x {panel.n_assets} assets")
    return out


OVERLAYS: dict[str, type[Overlay]] = {}


def register_overlay(kind: str) -> Callable[[type[Overlay]], type[Overlay]]:
    """Class decorator: make an overlay available to study configs as ``kind``."""

    def deco(cls: type[Overlay]) -> type[Overlay]:
        if kind in OVERLAYS and OVERLAYS[kind] is not cls:
            raise ConfigError(f"overlay kind {kind!r} is already registered")
        OVERLAYS[kind] = cls
        cls.kind = kind  # type: ignore[attr-defined]
        return cls

    return deco


@register_overlay("trailing_stop")
class TrailingStop(Overlay):
    """Zero assets trading ``drawdown`` or more below their ``window``-bar high.

    Parameters
    ----------
    drawdown : float in (0, 1], default 0.10
    window : int, default 20
        Bars of closes (ending at the decision date) the high is taken over.
    """

    def __init__(self, drawdown: float = 0.10, window: int = 20) -> None:
        _num("drawdown", drawdown, 0.0, 1.0)
        _int("window", window, 1)
        self.drawdown = drawdown
        self.window = window

    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = _copy(weights, panel, dates, "trailing_stop")
        close = panel["close"]
        for j, row in enumerate(decision_rows(panel, dates)):
            lo = max(0, int(row) - int(self.window) + 1)
            with np.errstate(invalid="ignore"):
                high = np.nanmax(np.where(np.isfinite(close[lo : row + 1]), close[lo : row + 1], -np.inf), axis=0)
                stopped = close[row] <= (1.0 - float(self.drawdown)) * high
            out[j] = np.where(stopped & np.isfinite(out[j]), 0.0, out[j])
        return out


def _close_returns(close: np.ndarray, a: int, b: int) -> np.ndarray:
    """Per-asset return from row ``a`` to row ``b`` (0 where either close is missing)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = close[b] / close[a] - 1.0
    return np.where(np.isfinite(r), r, 0.0)


@register_overlay("drawdown_halt")
class DrawdownHalt(Overlay):
    """Go to cash after a ``max_drawdown`` drawdown of the paper equity, for ``cooldown`` bars.

    Parameters
    ----------
    max_drawdown : float in (0, 1], default 0.20
    cooldown : int, default 20
        Bars in cash before trading resumes (with the peak reset).
    """

    def __init__(self, max_drawdown: float = 0.20, cooldown: int = 20) -> None:
        _num("max_drawdown", max_drawdown, 0.0, 1.0)
        _int("cooldown", cooldown, 0)
        self.max_drawdown = max_drawdown
        self.cooldown = cooldown

    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = _copy(weights, panel, dates, "drawdown_halt")
        rows = decision_rows(panel, dates)
        order = np.argsort(rows, kind="stable")
        close = panel["close"]
        equity = peak = 1.0
        held = np.zeros(panel.n_assets)
        prev_row: int | None = None
        halted_until = -1
        resume = False
        for j in order:
            row = int(rows[j])
            if prev_row is not None:
                equity *= 1.0 + float(held @ _close_returns(close, prev_row, row))
                peak = max(peak, equity)
            decided = np.isfinite(out[j]).any()  # a NaN row (no decision) stays NaN
            if row <= halted_until:
                out[j] = 0.0 if decided else np.nan
            else:
                if resume:  # trading resumes: the drawdown is measured afresh
                    peak, resume = equity, False
                if equity <= (1.0 - float(self.max_drawdown)) * peak:
                    halted_until, resume = row + int(self.cooldown), True
                    out[j] = 0.0 if decided else np.nan
            if np.isfinite(out[j]).any():
                held = np.nan_to_num(out[j])
            prev_row = row
        return out


@register_overlay("market_halt")
class MarketHalt(Overlay):
    """Cash on dates after a market fall of ``drop`` or more over ``window`` bars.

    Parameters
    ----------
    drop : float in (0, 1], default 0.05
    window : int, default 1
    index : str, optional
        An asset of the panel that is the market index; default the
        equal-weight mean return of all assets priced at both ends.
    cooldown : int, default 0
        Further bars in cash after the trigger.
    """

    def __init__(self, drop: float = 0.05, window: int = 1, index: str | None = None, cooldown: int = 0) -> None:
        _num("drop", drop, 0.0, 1.0)
        _int("window", window, 1)
        _int("cooldown", cooldown, 0)
        if index is not None and not isinstance(index, str):
            raise ConfigError(f"index must be a ticker name, got {index!r}")
        self.drop = drop
        self.window = window
        self.index = index
        self.cooldown = cooldown

    def market_returns(self, panel: Panel) -> np.ndarray:
        """Market return over the trailing ``window`` ending at each row, shape ``(n_dates,)``."""
        close = panel["close"]
        w = int(self.window)
        out = np.full(panel.n_dates, np.nan)
        if self.index is not None:
            if self.index not in panel.assets:
                raise ConfigError(f"market_halt.index {self.index!r} is not an asset of the panel")
            series = close[:, panel.assets.get_loc(self.index)]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[w:] = series[w:] / series[:-w] - 1.0
            return out
        with np.errstate(invalid="ignore", divide="ignore"):
            r = close[w:] / close[:-w] - 1.0
        r[~np.isfinite(r)] = np.nan
        counts = np.isfinite(r).sum(axis=1)
        out[w:] = np.where(counts > 0, np.nansum(r, axis=1) / np.maximum(counts, 1), np.nan)
        return out

    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = _copy(weights, panel, dates, "market_halt")
        mkt = self.market_returns(panel)
        trigger = np.where(np.isfinite(mkt), mkt <= -float(self.drop), False)
        # halted at row r when a trigger fired in rows r - cooldown .. r (causal)
        halted = pd.Series(trigger).rolling(int(self.cooldown) + 1, min_periods=1).max().to_numpy() > 0
        for j, row in enumerate(decision_rows(panel, dates)):
            if halted[row] and np.isfinite(out[j]).any():  # NaN rows (no decision) stay NaN
                out[j] = 0.0
        return out


@register_overlay("vol_scaling")
class VolScaling(Overlay):
    """Scale each row to an annual volatility ``target`` measured on trailing returns.

    Parameters
    ----------
    target : float, default 0.10
    window : int, default 60
    max_leverage : float, default 1.0
        Cap on the gross weight after scaling.
    periods_per_year : float, default 252
    """

    def __init__(self, target: float = 0.10, window: int = 60, max_leverage: float = 1.0,
                 periods_per_year: float = 252.0) -> None:
        _num("target", target, 0.0)
        _int("window", window, 2)
        _num("max_leverage", max_leverage, 0.0)
        _num("periods_per_year", periods_per_year, 0.0)
        self.target = target
        self.window = window
        self.max_leverage = max_leverage
        self.periods_per_year = periods_per_year

    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = _copy(weights, panel, dates, "vol_scaling")
        close = panel["close"]
        w = int(self.window)
        for j, row in enumerate(decision_rows(panel, dates)):
            x = out[j]
            if row < w or not np.isfinite(x).any():
                continue
            x = np.nan_to_num(x)
            block = close[row - w : row + 1]
            with np.errstate(invalid="ignore", divide="ignore"):
                r = block[1:] / block[:-1] - 1.0
            r = np.where(np.isfinite(r), r, 0.0)
            vol = float(np.std(r @ x, ddof=1)) * math.sqrt(float(self.periods_per_year))
            gross = float(np.abs(x).sum())
            if vol <= 0 or gross <= 0:
                continue
            scale = min(float(self.target) / vol, float(self.max_leverage) / gross)
            out[j] = x * scale
        return out

