"""Forward targets (labels) with a declared horizon, and leak-free training-row selection.

A label at row ``t`` looks ahead on purpose: it is built from rows
``t + 1 .. t + horizon``. It may train a model fitted at ``until`` only if
its whole window lies at or before ``until``, i.e. ``t + horizon <= row(until)``.
:func:`training_mask` applies that rule, so no forecaster has to remember it.

Kinds (``make_label``):

================== ============================================================
``return``         ``close[t + h] / close[t] - 1``
``log_return``     ``log(close[t + h] / close[t])``
``volatility``     realised volatility per bar over ``t + 1 .. t + h``:
                   ``sqrt(mean(log returns ** 2))``
``class``          ``return`` cut by ``thresholds`` into classes ``0 .. len``
``triple_barrier`` ``+1`` if the close reaches ``(1 + upper) * close[t]`` first,
                   ``-1`` if it reaches ``(1 - lower) * close[t]`` first, else
                   ``0`` (vertical barrier at ``t + h``); the window must be full
================== ============================================================

Every label is NaN in the last ``h`` rows and where a needed close is missing.
``cs_rank=True`` replaces each date's values by their cross-sectional
percentile rank in ``(0, 1]`` (Qlib's ``CSRankNorm`` idea), which keeps a
pooled model from learning market-wide moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.features.factors import forward_returns

__all__ = ["LABEL_KINDS", "Label", "make_label", "training_mask"]

LABEL_KINDS: tuple[str, ...] = ("return", "log_return", "volatility", "class", "triple_barrier")


@dataclass(frozen=True)
class Label:
    """A forward target.

    Attributes
    ----------
    kind : str
    horizon : int
        Bars ahead the label reads (its window is ``t + 1 .. t + horizon``).
    values : numpy.ndarray, shape ``(n_dates, n_assets)``
    dates : pandas.DatetimeIndex, length ``n_dates``
    """

    kind: str
    horizon: int
    values: np.ndarray
    dates: pd.DatetimeIndex

    def training_mask(self, until: Any) -> np.ndarray:
        """Rows usable for a fit at ``until``; see :func:`training_mask`."""
        return training_mask(self.values, self.dates, self.horizon, until)


def training_mask(values: np.ndarray, dates: pd.DatetimeIndex, horizon: int, until: Any) -> np.ndarray:
    """Boolean ``(n_dates, n_assets)``: finite labels whose window ends at or before ``until``.

    Parameters
    ----------
    values : numpy.ndarray, shape ``(n_dates, n_assets)``
    dates : pandas.DatetimeIndex, length ``n_dates``
    horizon : int
    until : date-like
        Rows ``t`` with ``t + horizon > row(until)`` are dropped, where
        ``row(until)`` is the last row dated at or before ``until``.
    """
    last = int(dates.searchsorted(pd.Timestamp(until), "right")) - 1
    keep = np.zeros(values.shape, dtype=bool)
    stop = last - int(horizon) + 1  # rows 0 .. stop - 1 have t + h <= last
    if stop > 0:
        keep[:stop] = np.isfinite(values[:stop])
    return keep


def _cs_rank(x: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame(x)
    return frame.rank(axis=1, pct=True).to_numpy(np.float64)


def _log_returns(close: np.ndarray) -> np.ndarray:
    out = np.full_like(close, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:] = np.log(close[1:] / close[:-1])
    out[~np.isfinite(out)] = np.nan
    return out


def _forward_vol(close: np.ndarray, h: int) -> np.ndarray:
    r2 = _log_returns(close) ** 2
    out = np.full_like(close, np.nan)
    n = close.shape[0]
    if h < n:
        # mean of r[t+1 .. t+h]; NaN if any is missing (strict window)
        csum = np.vstack([np.zeros((1, close.shape[1])), np.nancumsum(r2, axis=0)])
        cnan = np.vstack([np.zeros((1, close.shape[1])), np.cumsum(np.isnan(r2), axis=0)])
        t = np.arange(n - h)
        s = csum[t + h + 1] - csum[t + 1]
        missing = cnan[t + h + 1] - cnan[t + 1]
        out[: n - h] = np.where(missing == 0, np.sqrt(s / h), np.nan)
    return out


def _triple_barrier(close: np.ndarray, h: int, upper: float, lower: float) -> np.ndarray:
    n = close.shape[0]
    out = np.full_like(close, np.nan)
    for t in range(n - h):
        base = close[t]
        win = close[t + 1 : t + h + 1]
        ok = np.isfinite(base) & (base > 0) & np.isfinite(win).all(axis=0)
        up = win >= (1.0 + upper) * base
        down = win <= (1.0 - lower) * base
        first_up = np.where(up.any(axis=0), up.argmax(axis=0), h)
        first_down = np.where(down.any(axis=0), down.argmax(axis=0), h)
        lab = np.where(first_up < first_down, 1.0, np.where(first_down < first_up, -1.0, 0.0))
        out[t] = np.where(ok, lab, np.nan)
    return out


def make_label(
    panel: Panel,
    kind: str = "return",
    horizon: int = 1,
    *,
    thresholds: Sequence[float] = (),
    upper: float = 0.05,
    lower: float = 0.05,
    cs_rank: bool = False,
    field: str = "close",
) -> Label:
    """Build a forward target from ``panel[field]`` (shape ``(n_dates, n_assets)``).

    Parameters
    ----------
    panel : Panel
    kind : str
        One of :data:`LABEL_KINDS`.
    horizon : int
        ``h >= 1``.
    thresholds : sequence of float
        Increasing cut points of the forward return for ``kind="class"``:
        class ``k`` is ``thresholds[k-1] <= r < thresholds[k]``.
    upper, lower : float
        Barrier distances for ``triple_barrier`` (fractions of the close).
    cs_rank : bool
        Replace values by per-date cross-sectional percentile ranks.
    field : str
        Price field (default ``close``).
    """
    if kind not in LABEL_KINDS:
        raise ConfigError(f"label kind must be one of {LABEL_KINDS}, got {kind!r}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"label horizon must be an integer >= 1, got {horizon!r}")
    h = int(horizon)
    close = np.asarray(panel[field], dtype=np.float64)
    if kind == "return":
        values = forward_returns(close, h)
    elif kind == "log_return":
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.log1p(forward_returns(close, h))
    elif kind == "volatility":
        values = _forward_vol(close, h)
    elif kind == "class":
        cuts = np.asarray(list(thresholds), dtype=np.float64)
        if cuts.size == 0 or not np.all(np.diff(cuts) > 0):
            raise ConfigError(f"class labels need increasing thresholds, got {list(thresholds)!r}")
        r = forward_returns(close, h)
        values = np.where(np.isfinite(r), np.searchsorted(cuts, r, side="right").astype(np.float64), np.nan)
    else:
        if not (0 < upper and 0 < lower < 1):
            raise ConfigError(f"triple_barrier needs upper > 0 and 0 < lower < 1, got {upper}, {lower}")
        values = _triple_barrier(close, h, float(upper), float(lower))
    if cs_rank:
        values = _cs_rank(values)
    return Label(kind, h, values, panel.dates)
