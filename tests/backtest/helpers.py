"""Builders shared by the backtest tests: small hand-made panels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel


def make_panel(
    close: list[list[float]] | np.ndarray,
    *,
    open_: list[list[float]] | np.ndarray | None = None,
    start: str = "2022-03-01",
    assets: list[str] | None = None,
    **extra: list[list[float]] | np.ndarray,
) -> Panel:
    """A panel over business days from ``start`` with assets A, B, C ... (or ``assets``)."""
    c = np.asarray(close, dtype=float)
    fields = {"close": c}
    if open_ is not None:
        fields["open"] = np.asarray(open_, dtype=float)
    for name, arr in extra.items():
        fields[name] = np.asarray(arr, dtype=float)
    dates = pd.bdate_range(start, periods=c.shape[0])
    names = assets or [chr(ord("A") + i) for i in range(c.shape[1])]
    return Panel(fields, dates, names)


def random_panel(
    rng: np.random.Generator,
    n_dates: int,
    n_assets: int,
    *,
    vol: float = 0.03,
    holes: float = 0.0,
    start: str = "2022-03-01",
) -> Panel:
    """Random-walk close and open (gaps up to ~3 sigma), volume with some zeros,
    optional NaN holes in prices."""
    close = 20.0 * np.exp(np.cumsum(rng.normal(0.0, vol, (n_dates, n_assets)), axis=0))
    open_ = close * np.exp(rng.normal(0.0, vol, (n_dates, n_assets)))
    volume = rng.integers(0, 20, (n_dates, n_assets)).astype(float) * 1000.0
    if holes > 0:
        mask = rng.random((n_dates, n_assets)) < holes
        close[mask] = np.nan
        open_[rng.random((n_dates, n_assets)) < holes] = np.nan
    dates = pd.bdate_range(start, periods=n_dates)
    return Panel(
        {"open": open_, "close": close, "volume": volume},
        dates,
        [f"X{i}" for i in range(n_assets)],
    )


def random_weights(
    rng: np.random.Generator,
    n_dates: int,
    n_assets: int,
    *,
    gross: float = 1.0,
    short: bool = False,
    nan_rows: float = 0.0,
) -> np.ndarray:
    """Rows of weights with sum of |w| = ``gross``; some rows all-NaN (no decision)."""
    raw = rng.random((n_dates, n_assets))
    if short:
        raw = raw * rng.choice([-1.0, 1.0], size=raw.shape)
    w = gross * raw / np.abs(raw).sum(axis=1, keepdims=True)
    w[rng.random(n_dates) < nan_rows] = np.nan
    return w
