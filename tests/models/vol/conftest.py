"""A small real TWSE mid-cap panel (with ``ret_ref``) shared by the volatility-lab tests."""

from __future__ import annotations

import pandas as pd
import pytest

from alphalab.data.panel import Panel
from tests.conftest import shared_file

FIELDS = ["open", "high", "low", "close", "volume", "ret_ref"]


def tw_small_panel(n_assets: int = 6, start: str = "2012-01-01", end: str = "2014-12-31") -> Panel:
    df = pd.read_parquet(
        shared_file("tw_twse_midcap_1992_2018.parquet"),
        columns=["date", "ticker", *FIELDS],
        filters=[("date", ">=", pd.Timestamp(start)), ("date", "<=", pd.Timestamp(end))],
    )
    df["ticker"] = df["ticker"].astype(str)
    # the most traded names (by median turnover proxy: volume x close) with a full span
    counts = df.groupby("ticker")["close"].count()
    full = counts[counts == counts.max()].index
    liq = (df[df.ticker.isin(full)].assign(v=lambda x: x.volume * x.close)
           .groupby("ticker")["v"].median().sort_values(ascending=False))
    keep = sorted(liq.index[:n_assets])
    return Panel.from_long(df[df.ticker.isin(keep)], FIELDS, meta={"market": "tw"})


@pytest.fixture(scope="session")
def tw_panel() -> Panel:
    return tw_small_panel()


def tw_returns(ticker: str = "2498") -> pd.Series:
    """One stock's full ``ret_ref`` history (NaN ex-dates dropped), as decimals."""
    df = pd.read_parquet(shared_file("tw_twse_midcap_1992_2018.parquet"), columns=["date", "ticker", "ret_ref"],
                         filters=[("ticker", "==", ticker)])
    return df.set_index("date")["ret_ref"].dropna()
