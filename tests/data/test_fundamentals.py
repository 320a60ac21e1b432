"""Point-in-time fundamentals: as-of joins on announcement dates or declared lags."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab.data.fundamentals import (
    FundamentalsLagWarning,
    availability_dates,
    join_fundamentals,
)
from alphalab.data.panel import Panel
from alphalab.errors import DataError
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def cn_fund() -> pd.DataFrame:
    return pd.read_parquet(shared_file("cn_fundamentals_quarterly_2014_2022.parquet"))


@pytest.fixture(scope="module")
def cn_prices(cn_fund: pd.DataFrame) -> Panel:
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"), columns=["date", "ticker", "close"])
    common = sorted(set(df["ticker"]) & set(cn_fund["ticker"]))[:80]
    return Panel.from_long(df[df["ticker"].isin(common)], ["close"], meta={"market": "cn"})


def test_cn_join_uses_announcement_dates(cn_prices: Panel, cn_fund: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FundamentalsLagWarning)  # has dates: no warning
        out = join_fundamentals(cn_prices, cn_fund, fields=["epsTTM", "roeAvg"], name="cnf")
    assert out["epsTTM"].shape == cn_prices.shape and "close" in out
    assert out.meta["fundamentals"]["cnf"]["date_col"] == "report_date"
    # Every non-NaN value equals the newest report announced strictly before that date.
    rng = np.random.default_rng(0)
    eps = out.frame("epsTTM")
    for _ in range(40):
        j = int(rng.integers(cn_prices.n_assets))
        i = int(rng.integers(cn_prices.n_dates))
        t, d = cn_prices.assets[j], cn_prices.dates[i]
        rows = cn_fund[(cn_fund["ticker"] == t) & (cn_fund["report_date"] < d)]
        if rows.empty:
            assert np.isnan(eps.iat[i, j])
            continue
        latest = rows.sort_values(["period_end", "report_date"]).iloc[-1]
        np.testing.assert_equal(eps.iat[i, j], np.float64(latest["epsTTM"]))


def test_cn_announcement_day_is_not_used_same_day(cn_prices: Panel, cn_fund: pd.DataFrame) -> None:
    out = join_fundamentals(cn_prices, cn_fund, fields=["netProfit"], name="cnf")
    f = cn_fund[cn_fund["ticker"].isin(cn_prices.assets)]
    f = f[f["report_date"].isin(cn_prices.dates) & (f["report_date"] > cn_prices.dates[5])]
    row = f.iloc[len(f) // 2]
    i = cn_prices.dates.get_loc(row["report_date"])
    j = cn_prices.assets.get_loc(row["ticker"])
    assert out["netProfit"][i + 1, j] == row["netProfit"]
    assert out["netProfit"][i, j] != row["netProfit"]
    same = join_fundamentals(cn_prices, cn_fund, fields=["netProfit"], name="cnf", same_day=True)
    assert same["netProfit"][i, j] == row["netProfit"]


@pytest.mark.parametrize("cut_frac", [0.3, 0.6, 0.9])
def test_leakage_guard_reports_after_cutoff(cn_prices: Panel, cn_fund: pd.DataFrame, cut_frac: float) -> None:
    cut = cn_prices.dates[int(cut_frac * cn_prices.n_dates)]
    base = join_fundamentals(cn_prices, cn_fund, fields=["epsTTM"])["epsTTM"]
    later = cn_fund["report_date"] >= cut  # announced on or after the cutoff
    changed = cn_fund.copy()
    changed.loc[later, "epsTTM"] = changed.loc[later, "epsTTM"] * 3 + 1
    dropped = cn_fund[~later]
    i = cn_prices.dates.get_loc(cut)
    for other in (changed, dropped):
        alt = join_fundamentals(cn_prices, other, fields=["epsTTM"])["epsTTM"]
        np.testing.assert_array_equal(alt[: i + 1], base[: i + 1])
    assert not np.array_equal(
        join_fundamentals(cn_prices, changed, fields=["epsTTM"])["epsTTM"][i + 1 :], base[i + 1 :],
        equal_nan=True,
    )


def test_vn_table_without_dates_uses_lags_and_warns() -> None:
    fund = pd.read_parquet(shared_file("vn_fundamentals_quarterly_2016_2023.parquet"))
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"), columns=["date", "ticker", "close"])
    df = df[df["ticker"].isin(["VNM", "FPT", "HPG", "AAA"]) & (df["date"] >= "2016-06-01")]
    prices = Panel.from_long(df, ["close"])
    with pytest.warns(FundamentalsLagWarning, match="'vn_fundamentals_quarterly_2016_2023' has no announcement date"):
        out = join_fundamentals(prices, fund, fields=["pe", "roe_pct"], name="vn_fundamentals_quarterly_2016_2023")
    j = prices.assets.get_loc("VNM")
    pe = out["pe"][:, j]
    vnm = fund[fund["ticker"] == "VNM"].set_index("period_end")
    # Q4 2016 (annual): period_end + 90 days = 2017-03-31, usable from the next session.
    q4 = vnm.loc[pd.Timestamp("2016-12-31"), "pe"]
    first = int(np.flatnonzero(~np.isnan(pe))[0])
    assert prices.dates[first] > pd.Timestamp("2017-03-31")
    assert prices.dates[first - 1] <= pd.Timestamp("2017-03-31")
    assert pe[first] == q4
    # Q1 2017: period_end + 45 days = 2017-05-15.
    q1 = vnm.loc[pd.Timestamp("2017-03-31"), "pe"]
    k = prices.dates.searchsorted(pd.Timestamp("2017-05-15"), side="right")
    assert pe[k] == q1 and pe[k - 1] == q4


def test_lags_are_configurable() -> None:
    fund = pd.DataFrame({
        "ticker": ["A", "A"], "fiscal_quarter": [4, 1],
        "period_end": pd.to_datetime(["2020-12-31", "2021-03-31"]), "x": [1.0, 2.0],
    })
    with pytest.warns(FundamentalsLagWarning):
        av = availability_dates(fund, lag_days=10, annual_lag_days=20, name="t")
    assert list(av) == [pd.Timestamp("2021-01-20"), pd.Timestamp("2021-04-10")]


def _panel() -> Panel:
    dates = pd.bdate_range("2021-01-01", "2021-12-31")
    return Panel({"close": np.ones((len(dates), 2))}, dates, ["A", "B"])


def test_restatements_and_duplicates() -> None:
    t = pd.DataFrame({
        "ticker": ["A", "A", "A", "A"],
        "period_end": pd.to_datetime(["2021-03-31", "2021-06-30", "2021-03-31", "2021-06-30"]),
        "report_date": pd.to_datetime(["2021-04-20", "2021-07-20", "2021-08-10", "2021-09-01"]),
        "v": [1.0, 2.0, 1.5, 2.5],
    })
    out = join_fundamentals(_panel(), t, fields=["v"]).frame("v")["A"]
    assert np.isnan(out["2021-04-20"]) and out["2021-04-21"] == 1.0
    assert out["2021-07-21"] == 2.0
    # The late restatement of Q1 (2021-08-10) never overrides the newer Q2.
    assert out["2021-08-11"] == 2.0 and out["2021-08-31"] == 2.0
    # A restatement of Q2 itself applies from the session after it is announced.
    assert out["2021-09-02"] == 2.5 and out["2021-09-01"] == 2.0
    assert np.isnan(join_fundamentals(_panel(), t, fields=["v"])["v"][:, 1]).all()


def test_max_age_and_errors() -> None:
    t = pd.DataFrame({"ticker": ["A"], "period_end": pd.to_datetime(["2020-12-31"]),
                      "report_date": pd.to_datetime(["2021-02-01"]), "v": [1.0]})
    out = join_fundamentals(_panel(), t, fields=["v"], max_age_days=30).frame("v")["A"]
    assert out["2021-02-02"] == 1.0 and out["2021-03-03"] == 1.0 and np.isnan(out["2021-03-04"])
    with pytest.raises(DataError, match="already exist"):
        join_fundamentals(_panel(), t.rename(columns={"v": "close"}), fields=["close"])
    assert "f_close" in join_fundamentals(_panel(), t.rename(columns={"v": "close"}), fields=["close"], prefix="f_")
    with pytest.raises(DataError, match="no column"):
        join_fundamentals(_panel(), t, fields=["nope"])
    with pytest.raises(DataError, match="lacks column 'period_end'"):
        join_fundamentals(_panel(), t.drop(columns="period_end"))
    bad = t.assign(report_date=pd.to_datetime(["2020-12-01"]))
    with pytest.raises(DataError, match="before period_end"):
        join_fundamentals(_panel(), bad)


# ------------------------------------------------------------- hostile input
def _q1(**overrides: object) -> pd.DataFrame:
    t = pd.DataFrame({
        "ticker": ["A", "A", "B"],
        "period_end": pd.to_datetime(["2021-03-31"] * 3),
        "report_date": pd.to_datetime(["2021-04-20", "2021-04-20", "2021-04-22"]),
        "v": [1.0, 2.0, 3.0],
    })
    return t.assign(**overrides)


def test_conflicting_duplicate_reports_refused() -> None:
    # Two versions of one report published the same day: which is true is unknowable.
    with pytest.raises(DataError, match=r"'q'.*1 report.*disagree.*\('A', 2021-03-31\).*2021-04-20"):
        join_fundamentals(_panel(), _q1(), fields=["v"], name="q")
    # Without announcement dates the lag gives both rows the same date: refused too.
    with pytest.warns(FundamentalsLagWarning), pytest.raises(DataError, match="disagree"):
        join_fundamentals(_panel(), _q1().drop(columns="report_date"), fields=["v"])
    # Exact copies are harmless and collapse to one report.
    out = join_fundamentals(_panel(), _q1(v=[1.0, 1.0, 3.0]), fields=["v"]).frame("v")
    assert out.loc["2021-04-21", "A"] == 1.0 and np.isnan(out.loc["2021-04-20", "A"])
    assert out.loc["2021-04-23", "B"] == 3.0
    copies = _q1(v=[np.nan, np.nan, 3.0])
    assert np.isnan(join_fundamentals(_panel(), copies, fields=["v"]).frame("v")["A"]).all()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"period_end": pd.to_datetime(["2021-03-31", None, "2021-03-31"])}, r"1 row.*no period_end"),
        ({"period_end": ["2021-03-31", "31/31/2021", "2021-03-31"]}, r"period_end.*'31/31/2021'"),
        ({"report_date": ["2021-04-20", "soon", "2021-04-22"]}, r"report_date.*'soon'"),
        ({"ticker": ["A", None, "B"]}, r"1 row.*no ticker"),
        ({"report_date": pd.to_datetime(["2021-04-20", "2021-01-01", "2021-04-22"])}, "before period_end"),
    ],
)
def test_bad_keys_named(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        join_fundamentals(_panel(), _q1(v=[1.0, 1.0, 3.0], **overrides), fields=["v"])


def test_argument_shapes() -> None:
    t = _q1(v=[1.0, 1.0, 3.0])
    with pytest.raises(DataError, match="DataFrame"):
        join_fundamentals(_panel(), t.to_dict("list"))  # type: ignore[arg-type]
    with pytest.raises(DataError, match="fields=\\[\\]"):
        join_fundamentals(_panel(), t, fields=[])
    one = join_fundamentals(_panel(), t, fields="v")  # a string is one field, not its letters
    np.testing.assert_array_equal(one["v"], join_fundamentals(_panel(), t, fields=["v"])["v"])
    # Time-zone-aware announcement stamps are compared in UTC, like the store's dates.
    tz = t.assign(report_date=t["report_date"].dt.tz_localize("UTC"))
    np.testing.assert_array_equal(join_fundamentals(_panel(), tz, fields=["v"])["v"], one["v"])


def test_tickers_not_in_panel_warn_and_are_counted() -> None:
    t = _q1(v=[1.0, 1.0, 3.0], ticker=["A.VN", "A.VN", "B.VN"])
    with pytest.warns(UserWarning, match=r"none of the 2 tickers.*'A.VN'"):
        out = join_fundamentals(_panel(), t, fields=["v"], name="q")
    assert np.isnan(out["v"]).all()
    assert out.meta["fundamentals"]["q"]["n_tickers_matched"] == 0
    part = join_fundamentals(_panel(), _q1(v=[1.0, 1.0, 3.0], ticker=["A", "A", "Z"]), fields=["v"], name="q")
    assert part.meta["fundamentals"]["q"]["n_tickers_matched"] == 1
