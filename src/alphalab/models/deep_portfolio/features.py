"""Inputs and targets of the deep portfolio, built from one price field only.

For a decision at row ``t`` the network sees the last ``window`` rows
(``t - window + 1 .. t``) of two channels per asset, both normalised inside
the sample itself (no statistic from outside the window, so nothing leaks and
nothing needs fitting):

* price: the log price minus its window mean, divided by its window standard
  deviation (the founding code fed raw price levels, which differ by orders
  of magnitude across assets);
* return: the close-to-close simple return divided by the window's standard
  deviation of returns.

An asset is *available* at ``t`` when its price is finite and positive on all
``window + 1`` rows the sample reads; unavailable assets get zero inputs and are
masked out of the weights. The target of row ``t`` is the return the decision
actually earns in the engine: with execution ``lag`` bars after the decision
(1 for ``next_close``), the return from row ``t + lag`` to ``t + lag + 1``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["asset_returns", "target_returns", "window_inputs"]


def asset_returns(close: np.ndarray) -> np.ndarray:
    """Simple returns, row ``t`` = ``close[t] / close[t-1] - 1`` (row 0 NaN), shape as ``close``."""
    out = np.full(close.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:] = close[1:] / close[:-1] - 1.0
    out[~np.isfinite(out)] = np.nan
    return out


def window_inputs(close: np.ndarray, rows: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised input windows for decisions at ``rows``.

    Parameters
    ----------
    close : numpy.ndarray, shape ``(n_dates, n_assets)``
    rows : numpy.ndarray of int, shape ``(n_samples,)``
        Decision rows; a row below ``window`` has no asset available.
    window : int

    Returns
    -------
    x : numpy.ndarray of float32, shape ``(n_samples, window, 2 * n_assets)``
        Price channels first, then return channels.
    available : numpy.ndarray of bool, shape ``(n_samples, n_assets)``
    """
    n_assets = close.shape[1]
    rows = np.asarray(rows, dtype=np.int64)
    x = np.zeros((len(rows), window, 2 * n_assets), dtype=np.float32)
    available = np.zeros((len(rows), n_assets), dtype=bool)
    ok = rows >= window
    if not ok.any():
        return x, available
    with np.errstate(invalid="ignore", divide="ignore"):
        logp = np.log(np.where(close > 0, close, np.nan))
    # (n_dates - window, n_assets, window + 1): rows i .. i + window
    blocks = sliding_window_view(logp, window + 1, axis=0)[rows[ok] - window]
    avail = np.isfinite(blocks).all(axis=2)
    b = np.where(avail[:, :, None], blocks, 0.0)
    price = b[:, :, 1:]
    rets = np.expm1(np.diff(b, axis=2))
    with np.errstate(invalid="ignore", divide="ignore"):
        pz = (price - price.mean(axis=2, keepdims=True)) / price.std(axis=2, keepdims=True)
        rz = rets / rets.std(axis=2, keepdims=True)
    pz = np.where(np.isfinite(pz) & avail[:, :, None], pz, 0.0)
    rz = np.where(np.isfinite(rz) & avail[:, :, None], rz, 0.0)
    x[ok] = np.concatenate([pz, rz], axis=1).transpose(0, 2, 1).astype(np.float32)
    available[ok] = avail
    return x, available


def target_returns(close: np.ndarray, rows: np.ndarray, lag: int) -> np.ndarray:
    """Return earned by a decision at each of ``rows``: ``close[t+lag+1] / close[t+lag] - 1``.

    Returns
    -------
    numpy.ndarray, shape ``(n_samples, n_assets)``; NaN where a price is missing
    or the row runs past the data.
    """
    rets = asset_returns(close)
    idx = np.asarray(rows, dtype=np.int64) + lag + 1
    out = np.full((len(idx), close.shape[1]), np.nan)
    inside = idx < close.shape[0]
    out[inside] = rets[idx[inside]]
    return out
