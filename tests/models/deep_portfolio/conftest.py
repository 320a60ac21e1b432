"""Synthetic and real panels for the deep-portfolio tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from tests.conftest import shared_file

ETF_COLUMNS = {"adj_close": "close", "close": "raw_close", "open": "raw_open", "high": "raw_high",
               "low": "raw_low"}


def planted_drift_panel(n_dates: int = 700, n_assets: int = 3, winner: int = 1,
                        drift: float = 0.002, seed: int = 0) -> Panel:
    """Random-walk prices; asset ``winner`` has a daily drift, the rest none."""
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0, 0.01, size=(n_dates, n_assets))
    rets[:, winner] += drift
    close = 100.0 * np.cumprod(1.0 + rets, axis=0)
    dates = pd.bdate_range("2010-01-04", periods=n_dates)
    return Panel({"close": close}, dates, pd.Index([f"A{i}" for i in range(n_assets)]))


def etf_panel(tickers: tuple[str, ...] = ("SPY", "TLT", "GLD", "HYG"), start: str = "2007-06-01",
              end: str | None = None) -> Panel:
    """Total-return closes (``adj_close``) of a few ETFs from the shared file."""
    from alphalab.data import load

    panel = load(shared_file("us_etf_daily_2000_2025.parquet"), market="us", tickers=list(tickers),
                 columns=ETF_COLUMNS)
    return panel.slice_dates(start, end)
