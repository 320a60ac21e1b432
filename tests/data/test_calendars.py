"""Trading calendars and tradability masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.calendars import market_family, st_mask, tradable_mask, trading_calendar
from alphalab.data.panel import Panel
from alphalab.errors import DataError
from tests.conftest import shared_file


def test_us_calendar_matches_sp500_dates(us_sp500_long: pd.DataFrame) -> None:
    dates = pd.DatetimeIndex(us_sp500_long["date"].unique()).sort_values()
    cal = trading_calendar("us", dates[0], dates[-1])
    assert cal.source == "exchange_calendars:XNYS" and not cal.derived
    assert cal.sessions.equals(dates.as_unit("ns"))
    assert pd.Timestamp("2016-07-04") not in cal.sessions  # Independence Day


def test_cn_and_tw_calendars() -> None:
    df = pd.read_parquet(shared_file("cn_indices_daily.parquet"), columns=["date", "ticker"])
    dates = pd.DatetimeIndex(df.loc[df["ticker"] == "sh.000300", "date"]).sort_values()
    cal = trading_calendar("cn.star", dates[0], dates[-1])
    assert cal.source == "exchange_calendars:XSHG"
    assert cal.sessions.equals(dates.as_unit("ns"))
    tw = trading_calendar("tw", "2020-01-01", "2020-02-01")
    assert tw.source == "exchange_calendars:XTAI"
    assert pd.Timestamp("2020-01-23") not in tw.sessions  # Lunar New Year


def test_vn_calendar_is_derived_and_says_so() -> None:
    df = pd.read_parquet(shared_file("vn30_2016_2019.parquet"), columns=["date"])
    cal = trading_calendar("vn.hose", "2017-01-01", "2017-12-31", data_dates=df["date"])
    assert cal.derived and cal.source == "derived from data"
    assert cal.sessions.is_monotonic_increasing and cal.sessions.is_unique
    assert cal.sessions.min() >= pd.Timestamp("2017-01-01") and len(cal.sessions) > 240
    with pytest.raises(DataError, match=r"no exchange calendar for 'vn\.hose'"):
        trading_calendar("vn.hose", "2017-01-01", "2017-12-31")


def test_market_family() -> None:
    assert market_family("VN.HOSE") == "vn" and market_family("cn") == "cn"
    assert market_family(None) is None


def test_tradable_and_st_masks_on_cn_sample() -> None:
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"))
    df = df[df["ticker"].isin(df["ticker"].unique()[:60])]
    p = Panel.from_long(df, ["close", "volume", "tradestatus", "isST"])
    ok = tradable_mask(p)
    assert ok.shape == p.shape and ok.dtype == bool
    susp = np.nan_to_num(p["tradestatus"], nan=1) == 0
    assert not ok[susp].any()
    assert not ok[np.isnan(p["close"])].any()
    assert not ok[p["volume"] == 0].any()
    listed_trading = ~np.isnan(p["close"]) & ~susp & (p["volume"] > 0)
    assert ok[listed_trading].all()
    st = st_mask(p)
    assert st.sum() == int((df["isST"] == 1).sum())
    assert not st_mask(p.drop_fields("isST")).any()


def test_one_day_and_reversed_ranges() -> None:
    one = trading_calendar("us", "2020-01-02", "2020-01-02")
    assert list(one.sessions) == [pd.Timestamp("2020-01-02")]
    assert len(trading_calendar("cn", "2020-01-04", "2020-01-04").sessions) == 0  # a Saturday
    with pytest.raises(DataError, match="start 2020-01-10 is after end 2020-01-02"):
        trading_calendar("us", "2020-01-10", "2020-01-02")
