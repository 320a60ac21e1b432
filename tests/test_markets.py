"""Market rule table: every current value, every dated change, board resolution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.errors import DataError, MarketRuleError
from alphalab.markets import (
    DATED_FIELDS,
    MarketRules,
    cn_board,
    get_market,
    list_markets,
    market_table,
    resolve_rules,
)
from tests.conftest import shared_file

CODES = [
    "us",
    "vn.hose",
    "vn.hnx",
    "vn.upcom",
    "cn",
    "cn.main",
    "cn.chinext",
    "cn.star",
    "cn.st",
    "tw",
]

# code: (lot, band, settlement, short, commission bps, min fee, sell tax bps, buy tax bps)
CURRENT = {
    "us": (1, None, 0, True, 0.0, 0.0, 0.0, 0.0),
    "vn.hose": (100, 0.07, 2, False, 15.0, 0.0, 10.0, 0.0),
    "vn.hnx": (100, 0.10, 2, False, 15.0, 0.0, 10.0, 0.0),
    "vn.upcom": (100, 0.15, 2, False, 15.0, 0.0, 10.0, 0.0),
    "cn.main": (100, 0.10, 1, False, 2.5, 5.0, 5.0, 0.0),
    "cn.chinext": (100, 0.20, 1, False, 2.5, 5.0, 5.0, 0.0),
    "cn.star": (1, 0.20, 1, False, 2.5, 5.0, 5.0, 0.0),
    "cn.st": (100, 0.10, 1, False, 2.5, 5.0, 5.0, 0.0),
    "tw": (1000, 0.10, 2, False, 14.25, 20.0, 30.0, 0.0),
}


def test_list_markets_and_table() -> None:
    assert list_markets() == CODES
    table = market_table()
    assert list(table.index) == CODES
    for col in (
        "lot_size",
        "price_band",
        "settlement_days",
        "allow_short",
        "commission_bps",
        "min_commission",
        "sell_tax_bps",
        "changes",
    ):
        assert col in table.columns
    assert table.loc["vn.hose", "lot_size"] == 100
    assert np.isnan(table.loc["us", "price_band"])
    assert "2021-01-04" in table.loc["vn.hose", "changes"]
    assert "2023-08-28" in table.loc["cn.main", "changes"]


@pytest.mark.parametrize("code", sorted(CURRENT))
def test_current_values(code: str) -> None:
    r = get_market(code)
    lot, band, settle, short, comm, min_fee, sell, buy = CURRENT[code]
    assert (r.lot_size, r.price_band, r.settlement_days, r.allow_short) == (
        lot,
        band,
        settle,
        short,
    )
    assert (r.commission_bps, r.min_commission, r.sell_tax_bps, r.buy_tax_bps) == (
        comm,
        min_fee,
        sell,
        buy,
    )


def test_star_min_order_and_us_borrow() -> None:
    assert get_market("cn.star").min_order == 200
    assert get_market("us").borrow_bps > 0
    assert get_market("cn.main").st_price_band == 0.10  # from 2025-07-07
    assert get_market("cn.main").value_at("st_price_band", "2025-07-04") == 0.05


def test_unknown_market_names_known_codes() -> None:
    with pytest.raises(MarketRuleError, match=r"unknown market 'xx'.*vn\.hose.*cn\.star.*tw"):
        get_market("xx")
    with pytest.raises(MarketRuleError, match="known"):
        resolve_rules("nyse", pd.DatetimeIndex(["2020-01-02"]), pd.Index(["A"]))


def test_case_insensitive() -> None:
    assert get_market("VN.HOSE") is get_market("vn.hose")


# (code, rule, day before the change, value before, change day, value after)
CHANGES = [
    ("cn.main", "sell_tax_bps", "2023-08-25", 10.0, "2023-08-28", 5.0),
    ("cn.main", "buy_tax_bps", "2008-09-18", 10.0, "2008-09-19", 0.0),
    ("cn.main", "sell_tax_bps", "2008-04-23", 30.0, "2008-04-24", 10.0),
    ("cn.main", "buy_tax_bps", "2008-04-23", 30.0, "2008-04-24", 10.0),
    ("cn.main", "buy_tax_bps", "2007-05-29", 10.0, "2007-05-30", 30.0),
    ("cn.chinext", "price_band", "2020-08-21", 0.10, "2020-08-24", 0.20),
    ("cn.chinext", "st_price_band", "2020-08-21", 0.05, "2020-08-24", 0.20),
    ("cn.st", "price_band", "2025-07-04", 0.05, "2025-07-07", 0.10),
    ("vn.hose", "lot_size", "2020-12-31", 10, "2021-01-04", 100),
    ("vn.hose", "price_band", "2013-01-14", 0.05, "2013-01-15", 0.07),
    ("vn.hose", "price_band", "2008-03-26", 0.05, "2008-03-27", 0.01),
    ("vn.hose", "price_band", "2008-04-04", 0.01, "2008-04-07", 0.02),
    ("vn.hose", "price_band", "2008-08-15", 0.03, "2008-08-18", 0.05),
    ("vn.hnx", "price_band", "2013-01-14", 0.07, "2013-01-15", 0.10),
    ("vn.upcom", "price_band", "2015-06-30", 0.10, "2015-07-01", 0.15),
    ("vn.hose", "settlement_days", "2015-12-31", 3, "2016-01-04", 2),
    ("vn.hnx", "sell_tax_bps", "2009-12-31", 0.0, "2010-01-04", 10.0),
    ("tw", "price_band", "2015-05-29", 0.07, "2015-06-01", 0.10),
    ("cn.main", "sell_tax_bps", "2005-01-21", 20.0, "2005-01-24", 10.0),
    ("cn.main", "sell_tax_bps", "2007-05-29", 10.0, "2007-05-30", 30.0),
    ("cn.main", "sell_tax_bps", "2008-09-18", 10.0, "2008-09-19", 10.0),
    ("cn.main", "st_price_band", "2025-07-04", 0.05, "2025-07-07", 0.10),
    ("cn.star", "price_band", "2019-07-22", 0.20, "2023-08-28", 0.20),
    ("vn.hose", "price_band", "2008-06-18", 0.02, "2008-06-19", 0.03),
    ("vn.hose", "sell_tax_bps", "2009-12-31", 0.0, "2010-01-04", 10.0),
    ("vn.hnx", "price_band", "2008-03-26", 0.10, "2008-03-27", 0.02),
    ("vn.hnx", "price_band", "2008-04-04", 0.02, "2008-04-07", 0.03),
    ("vn.hnx", "price_band", "2008-06-18", 0.03, "2008-06-19", 0.04),
    ("vn.hnx", "price_band", "2008-08-15", 0.04, "2008-08-18", 0.07),
    ("vn.hnx", "settlement_days", "2015-12-31", 3, "2016-01-04", 2),
    ("vn.upcom", "settlement_days", "2015-12-31", 3, "2016-01-04", 2),
    ("vn.upcom", "sell_tax_bps", "2009-12-31", 0.0, "2010-01-04", 10.0),
]


@pytest.mark.parametrize(("code", "rule", "before", "v0", "on", "v1"), CHANGES)
def test_dated_changes(code: str, rule: str, before: str, v0: float, on: str, v1: float) -> None:
    r = get_market(code)
    assert r.value_at(rule, before) == v0
    assert r.value_at(rule, on) == v1
    assert getattr(r.at(before), rule) == v0
    # the resolved arrays agree with the scalar lookup
    res = resolve_rules(
        code,
        pd.DatetimeIndex([before, on]),
        pd.Index(["X"]) if code != "cn.st" else pd.Index(["sh.600000"]),
    )
    arrays = {
        "sell_tax_bps": res.sell_tax * 1e4,
        "buy_tax_bps": res.buy_tax * 1e4,
        "price_band": res.band[:, 0],
        "lot_size": res.lot_size_by_date[:, 0],
        "settlement_days": res.settlement_days_by_date,
    }
    if rule in arrays:
        np.testing.assert_allclose(arrays[rule], [v0, v1])


def test_resolve_cn_boards_per_ticker_and_st() -> None:
    dates = pd.DatetimeIndex(["2020-08-21", "2020-08-24", "2023-08-28"])
    assets = pd.Index(["sh.600000", "sz.300750", "sh.688981", "000001.SZ", "600519"])
    st = np.zeros((3, 5))
    st[:, 0] = 1.0  # 600000 under ST throughout
    st[0, 1] = 1.0  # ChiNext ST before the reform
    st[2, 3] = np.nan  # NaN = not ST
    res = resolve_rules("cn", dates, assets, st=st)
    assert list(res.boards) == ["cn.main", "cn.chinext", "cn.star", "cn.main", "cn.main"]
    expected = np.array(
        [
            [0.05, 0.05, 0.20, 0.10, 0.10],
            [0.05, 0.20, 0.20, 0.10, 0.10],
            [0.05, 0.20, 0.20, 0.10, 0.10],
        ]
    )
    np.testing.assert_allclose(res.band, expected)
    np.testing.assert_array_equal(res.lot_size, [100, 100, 1, 100, 100])
    np.testing.assert_array_equal(res.min_order, [0, 0, 200, 0, 0])
    np.testing.assert_allclose(res.sell_tax, [0.001, 0.001, 0.0005])
    np.testing.assert_allclose(res.buy_tax, 0.0)
    assert res.settlement_days == 1 and not res.allow_short
    assert res.min_commission == 5.0


def test_board_codes_and_bad_tickers() -> None:
    assert cn_board("sh.600000") == "cn.main"
    assert cn_board("SZ.300750") == "cn.chinext"
    assert cn_board("688981.SH") == "cn.star"
    assert cn_board("sz002594") == "cn.main"
    with pytest.raises(MarketRuleError, match="830799"):
        cn_board("bj.830799")
    with pytest.raises(MarketRuleError, match="AAPL"):
        resolve_rules("cn", pd.DatetimeIndex(["2020-01-02"]), pd.Index(["AAPL"]))


def test_resolve_shapes_us_and_bad_st() -> None:
    dates = pd.bdate_range("2020-01-01", periods=4)
    res = resolve_rules("us", dates, pd.Index(["A", "B"]))
    assert res.band.shape == (4, 2) and np.isinf(res.band).all()
    assert res.sell_tax.shape == res.buy_tax.shape == res.commission_rate.shape == (4,)
    assert res.lot_size.shape == (2,) and res.allow_short and res.borrow_rate == 0.0025
    with pytest.raises(DataError, match="shape"):
        resolve_rules("us", dates, pd.Index(["A", "B"]), st=np.zeros((3, 2)))


def test_scalars_follow_last_date_history_in_arrays() -> None:
    dates = pd.DatetimeIndex(["2015-12-31", "2016-01-04", "2020-12-31"])
    res = resolve_rules("vn.hose", dates, pd.Index(["VNM"]))
    assert res.settlement_days == 2
    np.testing.assert_array_equal(res.settlement_days_by_date, [3, 2, 2])
    assert res.lot_size[0] == 10  # HOSE lot on 2020-12-31
    empty = resolve_rules("tw", pd.DatetimeIndex([]), pd.Index(["2330"]))
    assert empty.band.shape == (0, 1) and empty.lot_size[0] == 1000


def test_custom_rules_and_inconsistent_history() -> None:
    custom = MarketRules("mine", lot_size=50, price_band=0.3, sell_tax_bps=12.0)
    res = resolve_rules(custom, pd.DatetimeIndex(["2020-01-02"]), pd.Index(["X"]))
    assert res.lot_size[0] == 50 and res.band[0, 0] == 0.3 and res.sell_tax[0] == 0.0012
    with pytest.raises(MarketRuleError, match="differs"):
        MarketRules("bad", lot_size=10, history=(("lot_size", (("2000-01-01", 100),)),))
    with pytest.raises(MarketRuleError, match="cannot be dated"):
        MarketRules("bad", history=(("allow_short", (("2000-01-01", True),)),))
    with pytest.raises(MarketRuleError, match="increasing"):
        MarketRules(
            "bad", lot_size=1, history=(("lot_size", (("2001-01-01", 2), ("2000-01-01", 1))),)
        )


def test_cn_real_returns_stay_inside_resolved_bands() -> None:
    """On the real A-share sample, close/preclose moves respect the resolved bands.

    Excludes each stock's first 5 rows (IPO days have no or wider limits),
    suspended days and the day after a suspension (resumption after a
    restructuring trades without a limit; not modelled). Allows half a tick of rounding (limits round to CNY 0.01).
    """
    df = pd.read_parquet(
        shared_file("cn_ashare_sample_2017_2023.parquet"),
        columns=["date", "ticker", "close", "preclose", "tradestatus", "isST"],
    )
    keep = df["ticker"].drop_duplicates().iloc[::7]
    df = df[df["ticker"].isin(keep)]
    wide = {
        f: df.pivot(index="date", columns="ticker", values=f)
        for f in ("close", "preclose", "tradestatus", "isST")
    }
    close = wide["close"].to_numpy(float)
    pre = wide["preclose"].to_numpy(float)
    res = resolve_rules(
        "cn", wide["close"].index, wide["close"].columns, st=wide["isST"].to_numpy(float)
    )
    listed = np.isfinite(close)
    age = np.cumsum(listed, axis=0)
    trading = wide["tradestatus"].to_numpy(float) == 1
    resumed = np.zeros_like(trading)
    resumed[1:] = trading[1:] & ~trading[:-1]
    ok = listed & (age > 5) & trading & ~resumed & (pre > 0)
    move = np.abs(close / pre - 1.0)
    slack = 0.006 / pre  # rounding of the limit price to the tick
    breaches = ok & (move > res.band + slack)
    assert ok.sum() > 50_000
    assert breaches.sum() == 0, np.argwhere(breaches)[:5]
    # the 20% ChiNext band is needed after the reform: some moves exceed 10%
    chinext = res.boards == "cn.chinext"
    after = (wide["close"].index >= "2020-08-24")[:, None]
    assert (ok & after & chinext[None, :] & (move > 0.11)).any()


# ------------------------------------------------------------ hostile input
def test_tz_aware_dates_use_the_exchange_wall_clock_date() -> None:
    # 2023-08-28 00:00 in Shanghai is 2023-08-27 in UTC: the new stamp duty
    # starts on the local date, not a day late.
    local = pd.DatetimeIndex(["2023-08-25", "2023-08-28"], tz="Asia/Shanghai")
    res = resolve_rules("cn", local, pd.Index(["600000"]))
    np.testing.assert_allclose(res.sell_tax, [0.001, 0.0005])
    assert get_market("cn").value_at("sell_tax_bps", local[1]) == 5.0
    assert (
        get_market("vn.hose").at(pd.Timestamp("2021-01-04", tz="Asia/Ho_Chi_Minh")).lot_size == 100
    )


@pytest.mark.parametrize(
    ("dates", "match"),
    [
        (["2020-01-02", None], "position 1"),
        (["2020-01-02", "garbage"], "not a date"),
        ([1, 2], "numbers"),
    ],
    ids=["nat", "garbage", "ints"],
)
def test_bad_dates_raise_data_error(dates: list, match: str) -> None:
    with pytest.raises(DataError, match=match):
        resolve_rules("us", dates, pd.Index(["A"]))


def test_assets_as_a_string_and_non_numeric_st_are_refused() -> None:
    dates = pd.DatetimeIndex(["2020-01-02"])
    with pytest.raises(DataError, match="assets"):
        resolve_rules("us", dates, "AAPL")  # would be read as four tickers A, A, P, L
    with pytest.raises(DataError, match="st flags"):
        resolve_rules("us", dates, pd.Index(["A"]), st=np.array([["yes"]]))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lot_size", 0),
        ("lot_size", 1.5),
        ("price_band", -0.1),
        ("price_band", float("nan")),
        ("st_price_band", 0.0),
        ("settlement_days", -1),
        ("sell_lock", -1),
        ("sell_lock_close", 2.5),
        ("commission_bps", float("inf")),
        ("sell_tax_bps", -5.0),
        ("min_commission", -1.0),
        ("borrow_bps", float("nan")),
        ("min_order", -200),
    ],
)
def test_custom_rules_with_impossible_values_are_refused(field: str, value: float) -> None:
    with pytest.raises(MarketRuleError, match=f"'x'.*{field}"):
        MarketRules("x", **{field: value})
    if field in DATED_FIELDS:
        sched = (("2000-01-01", value), ("2010-01-01", getattr(MarketRules("y"), field)))
        with pytest.raises(MarketRuleError, match=f"'x'.*{field}.*2000-01-01"):
            MarketRules("x", history=((field, sched),))


def test_hostile_codes_and_tickers_give_short_messages() -> None:
    huge = "6" * 100_000
    for call in (
        lambda: get_market(huge),
        lambda: cn_board(huge),
        lambda: cn_board("Ä\x00" * 5000),
    ):
        with pytest.raises(MarketRuleError) as info:
            call()
        assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("code", "date", "lock_open", "lock_close"),
    [
        ("vn.hose", "2012-09-03", 4, 4),  # settled at 15:00 of T+3: sellable T+4
        ("vn.hose", "2012-09-04", 3, 3),  # "T+3" from 2012-09-04
        ("vn.hnx", "2016-01-04", 3, 3),  # T+2 settlement at 16:00: still sold from T+3
        ("vn.upcom", "2022-08-26", 3, 3),
        ("vn.hose", "2022-08-29", 3, 2),  # afternoon of T+2 (VSD 109/QD-VSD): close only
        ("tw", "2010-01-04", 1, 1),  # sold on T+1, settles T+2
        ("tw", "2016-01-04", 1, 1),
        ("cn", "2020-01-02", 1, 1),
        ("us", "2020-01-02", 0, 0),
    ],
)
def test_sell_locks_are_dated_per_sale_date(code, date, lock_open, lock_close) -> None:
    res = resolve_rules(code, pd.DatetimeIndex([date]), ["600000.SH" if code == "cn" else "A"])
    assert (res.sell_lock_by_date[0], res.sell_lock_close_by_date[0]) == (lock_open, lock_close)


def test_tick_tables_and_limit_rounding() -> None:
    from alphalab.backtest.kernel import LIMIT_INWARD, LIMIT_NEAREST, limit_prices
    from alphalab.backtest.kernel_py import limit_prices_py

    def limits(code: str, ref: float, band: float) -> tuple[float, float]:
        res = resolve_rules(code, pd.DatetimeIndex(["2022-03-01"]), ["600000.SH"])
        mode = LIMIT_NEAREST if res.limit_rounding == "nearest" else LIMIT_INWARD
        got = limit_prices(ref, band, res.ticks, mode)
        assert got == limit_prices_py(ref, band, res.ticks, mode)  # the twin agrees
        return got

    assert limits("vn.hose", 10050.0, 0.07) == (10750.0, 9350.0)  # ticks 50 / 10
    assert limits("vn.hose", 48000.0, 0.07) == (51300.0, 44650.0)  # 51360 -> tick 100
    assert limits("vn.hnx", 12345.0, 0.10) == (13500.0, 11200.0)  # 13579.5 / 11110.5
    assert limits("cn", 10.05, 0.10) == pytest.approx((11.06, 9.05))  # 11.055 / 9.045
    assert limits("tw", 47.3, 0.10) == pytest.approx((52.0, 42.6))  # 52.03 / 42.57
    assert limits("tw", 1.0, 0.001) == pytest.approx((1.01, 0.99))  # band < a tick
    assert limits("us", 100.0, 0.10) == pytest.approx((110.0, 90.0))  # no ticks: exact


@pytest.mark.parametrize(
    "spec",
    [
        {"tick_table": ((1.0, 0.01),)},  # must start at 0
        {"tick_table": ((0.0, 0.01), (0.0, 0.05))},  # not increasing
        {"tick_table": ((0.0, -1.0),)},
        {"tick_table": (("a", 1.0),)},
        {"tick_table": 5},
        {"limit_rounding": "up"},
    ],
)
def test_bad_tick_tables_are_refused(spec: dict) -> None:
    with pytest.raises(MarketRuleError, match="'x'"):
        MarketRules("x", **spec)


def test_custom_rules_without_sell_lock_lock_for_their_settlement() -> None:
    res = resolve_rules(
        MarketRules("x", settlement_days=2), pd.DatetimeIndex(["2020-01-02"]), ["A"]
    )
    assert (res.sell_lock_by_date[0], res.sell_lock_close_by_date[0]) == (2, 2)
