"""Universes: static lists, index membership by date, age / liquidity / size filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.fundamentals import join_fundamentals
from alphalab.data.panel import Panel
from alphalab.data.universe import (
    average_traded_value,
    index_membership,
    listing_age,
    market_cap,
    static_universe,
    universe_mask,
)
from alphalab.errors import DataError
from alphalab.testing.leakage import assert_no_leakage
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def hose() -> Panel:
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"))
    df = df[(df["date"] >= "2015-01-01") & df["ticker"].isin(sorted(df["ticker"].unique())[:80])]
    return Panel.from_long(df, ["close", "volume"], meta={"market": "vn.hose"})


def test_listing_age_filter_on_real_data(hose: Panel) -> None:
    mask = universe_mask(hose, min_listing_days=250)
    age = listing_age(hose)
    assert (age[mask] >= 250).all()
    assert not mask[:249].any()  # nobody has 250 sessions of history before row 249
    late = [j for j in range(hose.n_assets) if np.isnan(hose["close"][0, j])]
    assert late, "the sample should contain a ticker listed after 2015"
    j = late[0]
    first = int(np.flatnonzero(~np.isnan(hose["close"][:, j]))[0])
    assert not mask[: first + 249, j].any()


def test_traded_value_matches_pandas_rolling(hose: Panel) -> None:
    atv = average_traded_value(hose, 20)
    value = (hose.frame("close") * hose.frame("volume")).fillna(0.0)
    ref = value.rolling(20, min_periods=20).mean().to_numpy()
    np.testing.assert_allclose(atv, ref, rtol=1e-9, equal_nan=True)
    assert np.isnan(atv[:19]).all()
    thr = float(np.nanmedian(atv))
    mask = universe_mask(hose, min_traded_value=thr)
    assert 0.2 < mask[19:].mean() / (~np.isnan(hose["close"][19:])).mean() < 0.8


def test_filters_are_leak_free(hose: Panel) -> None:
    def fn(p: Panel) -> np.ndarray:
        return universe_mask(p, min_listing_days=60, min_traded_value=1e6, tradable=True).astype(float)

    assert_no_leakage(fn, hose.iloc_dates(slice(0, 400)), n_trials=4, seed=1)


def test_static_and_membership() -> None:
    dates = pd.bdate_range("2020-01-01", periods=10)
    p = Panel({"close": np.ones((10, 3))}, dates, ["A", "B", "C"])
    np.testing.assert_array_equal(static_universe(p, ["C", "A"])[0], [True, False, True])
    with pytest.raises(DataError, match="not in the data"):
        static_universe(p, ["Z"])
    snaps = pd.DataFrame({"date": [dates[2]] * 2 + [dates[6]] * 2, "ticker": ["A", "B", "B", "ZZZ"]})
    m = index_membership(p, snaps)
    assert not m[:2].any()
    np.testing.assert_array_equal(m[2], [True, True, False])
    np.testing.assert_array_equal(m[6], [False, True, False])
    spans = pd.DataFrame({"ticker": ["A", "C"], "start": [dates[1], dates[5]], "end": [dates[3], pd.NaT]})
    m2 = index_membership(p, spans)
    np.testing.assert_array_equal(m2[:, 0], [False, True, True, True] + [False] * 6)
    np.testing.assert_array_equal(m2[:, 2], [False] * 5 + [True] * 5)
    with pytest.raises(DataError, match="membership needs"):
        index_membership(p, pd.DataFrame({"x": [1]}))


def test_market_cap_from_pit_shares() -> None:
    fund = pd.read_parquet(shared_file("cn_fundamentals_quarterly_2014_2022.parquet"),
                           columns=["ticker", "period_end", "report_date", "totalShare"])
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"),
                         columns=["date", "ticker", "close", "volume", "tradestatus", "isST"])
    tick = sorted(set(df["ticker"]) & set(fund["ticker"]))[:30]
    p = Panel.from_long(df[df["ticker"].isin(tick)])
    p = join_fundamentals(p, fund, fields=["totalShare"])
    cap = market_cap(p)
    np.testing.assert_array_equal(cap, p["close"] * p["totalShare"])
    mask = universe_mask(p, min_market_cap=5e9, tradable=True, exclude_st=True)
    assert mask.any() and not mask[np.isnan(cap)].any()
    assert not mask[np.nan_to_num(p["isST"]) == 1].any()
    with pytest.raises(DataError, match="market cap needs"):
        market_cap(p.drop_fields("totalShare"))


# ------------------------------------------------------------- hostile input
def _tiny() -> Panel:
    dates = pd.bdate_range("2021-01-04", periods=10)
    return Panel({"close": np.ones((10, 3))}, dates, ["AAA", "BBB", "CCC"])


def test_static_universe_takes_one_string_as_one_ticker() -> None:
    got = static_universe(_tiny(), "BBB")  # type: ignore[arg-type]
    assert got[:, 1].all() and not got[:, [0, 2]].any()


@pytest.mark.parametrize(
    ("membership", "message"),
    [
        (pd.DataFrame({"ticker": ["AAA"], "start": [None], "end": [None]}), r"start.*missing.*'AAA'"),
        (pd.DataFrame({"ticker": ["AAA"], "start": ["2021-01-08"], "end": ["2021-01-05"]}), r"end before start.*'AAA'"),
        (pd.DataFrame({"ticker": ["AAA"], "start": ["soon"]}), r"start.*'soon'"),
        (pd.DataFrame({"date": ["2021-01-04", None], "ticker": ["AAA", "BBB"]}), r"date.*missing.*'BBB'"),
        (pd.DataFrame({"date": ["2021-01-04"], "ticker": [None]}), r"no ticker"),
    ],
)
def test_bad_membership_rows_named(membership: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        index_membership(_tiny(), membership)


def test_membership_matching_no_panel_ticker_warns() -> None:
    snaps = pd.DataFrame({"date": ["2021-01-04"] * 2, "ticker": ["AAA US", "BBB US"]})
    with pytest.warns(UserWarning, match=r"none of the 2 membership tickers.*'AAA US'"):
        assert not index_membership(_tiny(), snaps).any()
    with pytest.raises(DataError, match="DataFrame"):
        index_membership(_tiny(), [("2021-01-04", "AAA")])  # type: ignore[arg-type]
