"""A small real CN A-share panel (30 stocks, 2017-2018) shared by the models tests."""

from __future__ import annotations

import pandas as pd
import pytest

from alphalab.data.panel import Panel
from tests.conftest import shared_file


def cn_small_panel(n_assets: int = 30, end: str = "2018-12-31") -> Panel:
    df = pd.read_parquet(
        shared_file("cn_ashare_sample_2017_2023.parquet"),
        columns=["date", "ticker", "open", "high", "low", "close", "volume"],
        filters=[("date", "<=", pd.Timestamp(end))],
    )
    # the most liquid names with a full history: a stable, real cross-section
    counts = df.groupby("ticker")["close"].count()
    full = counts[counts == counts.max()].index
    vol = df[df.ticker.isin(full)].groupby("ticker")["volume"].median().sort_values(ascending=False)
    keep = sorted(vol.index[:n_assets])
    return Panel.from_long(df[df.ticker.isin(keep)], ["open", "high", "low", "close", "volume"],
                           meta={"market": "cn"})


@pytest.fixture(scope="session")
def cn_panel() -> Panel:
    return cn_small_panel()
