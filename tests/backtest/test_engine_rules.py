"""One hand-built case per market rule, with answers worked out by hand.

HOSE dates are in March 2022 unless stated: lot 100, band 7% with limit prices
rounded into the band to the tick (10/50/100 VND), shares bought on T sellable
from T+3, 0.1% tax on sells, no shorting (``alphalab.markets``).
"""

from __future__ import annotations

import numpy as np
import pytest

from alphalab.backtest import Costs, backtest
from alphalab.markets import get_market

from .helpers import make_panel

NAN = np.nan
FREE = Costs(commission_bps=0.0)


def _reasons(res) -> list[tuple[int, str]]:
    return [(int(r["bar"]), res.reasons[int(r["reason"])]) for r in res.rejected]


def test_hose_rules_are_the_ones_the_tests_assume() -> None:
    rules = get_market("vn.hose").at("2022-03-01")
    assert (rules.lot_size, rules.price_band, rules.settlement_days) == (100, 0.07, 2)
    assert (rules.sell_lock, rules.sell_lock_close) == (3, 3)
    assert rules.sell_tax_bps == 10.0 and not rules.allow_short


def test_buy_blocked_at_limit_up_open_then_fills_next_bar() -> None:
    # open of bar 1 = close of bar 0 * 1.07: locked at the upper band
    close = [[10000.0], [10700.0], [10800.0], [10800.0]]
    open_ = [[10000.0], [10700.0], [10750.0], [10800.0]]
    high = [[10000.0], [10700.0], [12000.0], [10800.0]]
    panel = make_panel(close, open_=open_, high=high)
    w = np.array([[0.5], [0.5], [NAN], [NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9)
    assert _reasons(res) == [(1, "band_up")]
    assert len(res.trades) == 1
    tr = res.trades[0]
    assert (tr["bar"], tr["side"], tr["price"]) == (2, 1, 10750.0)
    assert tr["shares"] == 46500.0  # 5e8 / 10750 = 46511.6 -> whole lots of 100


def test_sell_blocked_at_limit_down_open() -> None:
    close = [[10000.0], [10000.0], [10000.0], [9300.0], [9300.0]]
    open_ = [[10000.0], [10000.0], [10000.0], [9300.0], [9200.0]]
    panel = make_panel(close, open_=open_)
    w = np.array([[0.5], [NAN], [0.0], [0.0], [NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9)
    assert _reasons(res) == [(3, "band_down")]
    sells = res.trades[res.trades["side"] < 0]
    assert list(sells["bar"]) == [4]
    assert sells["price"][0] == 9200.0
    assert res.positions.iloc[-1, 0] == 0.0


def test_hose_2022_lock_blocks_sales_until_t_plus_3() -> None:
    # T+2 settlement, shares arrive after the close of T+2: sellable from T+3
    close = [[10000.0]] * 6
    panel = make_panel(close, open_=close)
    w = np.array([[0.5], [0.0], [0.0], [0.0], [NAN], [NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9)
    assert _reasons(res) == [(2, "t_plus_lock"), (3, "t_plus_lock")]
    assert res.rejected["shares"][0] == 50000.0
    assert [(int(t["bar"]), int(t["side"])) for t in res.trades] == [(1, 1), (4, -1)]
    # the sale pays the 0.1% sell tax
    assert res.trades[1]["tax"] == pytest.approx(0.001 * 50000 * 10000.0)
    # the same under next_close: before 2022-08-29 the close is no earlier
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9, execution="next_close")
    assert [(int(t["bar"]), int(t["side"])) for t in res.trades] == [(1, 1), (4, -1)]
    assert res.costs["tax"] == pytest.approx(500000.0)


def test_lot_rounding_toward_zero_and_lot_rejection() -> None:
    close = [[333.0, 250000.0]] * 3
    panel = make_panel(close, open_=close)
    w = np.array([[0.5, 0.1], [NAN, NAN], [NAN, NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e6)
    # 5e5 / 333 = 1501.5 -> 1500 shares; 1e5 / 250000 = 0.4 share -> 0 lots
    assert res.positions.iloc[-1].tolist() == [1500.0, 0.0]
    assert _reasons(res) == [(1, "lot")]
    us = backtest(w, panel, "us", costs=FREE, initial_cash=1e6)
    assert us.positions.iloc[-1].tolist() == [1501.0, 0.0]


def test_minimum_commission_applies_per_order() -> None:
    close = [[100.0, 100.0]] * 3
    panel = make_panel(close, open_=close)
    w = np.array([[0.01, 0.5], [NAN, NAN], [NAN, NAN]])
    costs = Costs(commission_bps=1.0, min_commission=5.0)
    res = backtest(w, panel, "us", costs=costs, initial_cash=1e6)
    comm = dict(zip(res.trades["asset"].tolist(), res.trades["commission"].tolist(), strict=True))
    assert comm[0] == 5.0  # 1 bp of 10,000 = 1 -> raised to the minimum
    assert comm[1] == pytest.approx(50.0)  # 1 bp of 500,000
    assert res.cash.iloc[-1] == pytest.approx(1e6 - 510000.0 - 55.0)
    # proportional mode has no minimum
    prop = backtest(w, panel, "us", costs=costs, initial_cash=1e6, rules="proportional")
    assert prop.trades["commission"].min() == pytest.approx(1.0)


def test_short_rejected_on_hose_allowed_on_us_with_borrow_cost() -> None:
    close = [[10000.0, 10000.0]] * 4
    panel = make_panel(close, open_=close)
    w = np.array([[-0.3, 0.5], [NAN, NAN], [NAN, NAN], [NAN, NAN]])
    vn = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9)
    assert _reasons(vn) == [(1, "no_short")]
    assert vn.positions.iloc[-1].tolist() == [0.0, 50000.0]
    us = backtest(w, panel, "us", costs=FREE, initial_cash=1e9)
    assert us.positions.iloc[-1].tolist() == [-30000.0, 50000.0]
    assert us.costs["borrow"] > 0
    assert us.rejected.size == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("volume", 0.0), ("tradestatus", 0.0), ("suspended", 1.0), ("open", NAN)],
)
def test_untradeable_bar_blocks_orders(field: str, value: float) -> None:
    close = [[50.0], [NAN if field == "open" else 50.0], [52.0], [52.0]]
    base = {
        "open": [[50.0], [50.0], [51.0], [52.0]],
        "volume": [[1e5]] * 4,
        "tradestatus": [[1.0]] * 4,
        "suspended": [[0.0]] * 4,
    }
    base[field] = [list(r) for r in base[field]]
    base[field][1] = [value]
    panel = make_panel(
        close,
        open_=base.pop("open") if field != "open" else base["open"],
        **{k: v for k, v in base.items() if k != "open"},
    )
    w = np.array([[0.5], [0.5], [NAN], [NAN]])
    res = backtest(w, panel, "us", costs=FREE, initial_cash=1e4)
    assert _reasons(res) == [(1, "untradeable")]
    assert list(res.trades["bar"]) == [2]
    assert np.isfinite(res.equity_values).all()


def test_untradeable_position_keeps_last_close_for_valuation() -> None:
    close = [[10.0], [10.0], [NAN], [NAN], [12.0]]
    panel = make_panel(close, open_=[[10.0], [10.0], [NAN], [NAN], [12.0]])
    w = np.array([[1.0], [NAN], [0.0], [NAN], [NAN]])
    res = backtest(w, panel, "us", costs=FREE, initial_cash=1000.0)
    assert res.equity.tolist() == [1000.0, 1000.0, 1000.0, 1000.0, 1200.0]
    assert _reasons(res) == [(3, "untradeable")]


def test_execution_prices_next_open_fallback_and_next_close() -> None:
    close = [[10.0], [11.0], [12.0], [13.0]]
    open_ = [[10.0], [10.5], [NAN], [12.5]]
    panel = make_panel(close, open_=open_)
    w = np.array([[0.5], [0.8], [NAN], [NAN]])
    res = backtest(w, panel, "us", costs=FREE, rules="proportional")
    assert res.trades["price"].tolist() == [10.5, 12.0]  # NaN open -> that bar's close
    nc = backtest(w, panel, "us", costs=FREE, rules="proportional", execution="next_close")
    assert nc.trades["price"].tolist() == [11.0, 12.0]


def test_slippage_moves_fill_prices_against_the_trader() -> None:
    close = [[100.0]] * 4
    panel = make_panel(close, open_=close)
    w = np.array([[0.5], [0.0], [NAN], [NAN]])
    res = backtest(w, panel, "us", costs=Costs(commission_bps=0, slippage_bps=10))
    buy, sell = res.trades
    assert buy["price"] == pytest.approx(100.1) and sell["price"] == pytest.approx(99.9)
    assert res.costs["slippage"] == pytest.approx(0.001 * 100.0 * (buy["shares"] + sell["shares"]))
    assert res.equity.iloc[-1] == pytest.approx(1e6 - res.costs.sum())


def test_cash_shortfall_cuts_the_largest_buy() -> None:
    close = [[100.0, 50.0, 10.0]] * 3
    panel = make_panel(close, open_=close)
    w = np.array([[0.3, 0.2, 0.5], [NAN] * 3, [NAN] * 3])
    res = backtest(w, panel, "us", costs=Costs(commission_bps=20), rules="proportional")
    assert _reasons(res) == [(1, "cash")]
    assert res.rejected["asset"][0] == 2  # the largest order is last in line
    assert res.cash.iloc[-1] == pytest.approx(0.0, abs=1e-6)
    assert res.positions.iloc[-1, 0] == pytest.approx(3000.0)


@pytest.mark.parametrize(
    ("ref", "open_1", "refused"),
    [
        (10050.0, 10750.0, True),  # 10050 x 1.07 = 10753.5 -> limit 10750 (tick 50): at it
        (10050.0, 10700.0, False),  # one tick under the rounded limit
        (10000.0, 10660.0, False),  # +6.6%: below the +7% limit, not refused
        (10000.0, 10700.0, True),  # exactly at the limit
        (9500.0, 10150.0, True),  # 10165 crosses 10,000: tick 50 -> 10150
        (60000.0, 64200.0, True),  # tick 100: 64200 exactly
        (60000.0, 64100.0, False),
        (5000.0, 5350.0, True),  # tick 10
    ],
)
def test_hose_limit_up_is_the_tick_rounded_ceiling(ref: float, open_1: float, refused: bool):
    panel = make_panel([[ref], [open_1], [open_1]], open_=[[ref], [open_1], [open_1]])
    res = backtest(np.array([[0.5], [NAN], [NAN]]), panel, "vn.hose", initial_cash=1e9)
    assert (_reasons(res) == [(1, "band_up")]) is refused
    assert (len(res.trades) == 0) is refused


@pytest.mark.parametrize(
    ("ref", "open_1", "refused"),
    [
        (10050.0, 9350.0, True),  # 10050 x 0.93 = 9346.5 -> floor 9350 (tick 10): at it
        (10050.0, 9360.0, False),
        (10000.0, 9340.0, False),  # -6.6%
        (10000.0, 9300.0, True),
    ],
)
def test_hose_limit_down_is_the_tick_rounded_floor(ref: float, open_1: float, refused: bool):
    close = [[ref], [ref], [ref], [ref], [open_1], [open_1]]
    panel = make_panel(close, open_=close)
    w = np.array([[0.5], [NAN], [NAN], [0.0], [NAN], [NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9)
    assert (_reasons(res) == [(4, "band_down")]) is refused
    assert bool(res.positions.iloc[-1, 0] > 0) is refused


def test_hnx_limit_rounds_to_100_vnd() -> None:
    # 12345 x 1.10 = 13579.5 -> 13500 (tick 100); +9.4% is at the rounded limit
    ref, limit = 12345.0, 13500.0
    for price, refused in ((limit, True), (limit - 100.0, False)):
        panel = make_panel([[ref], [price], [price]], open_=[[ref], [price], [price]])
        res = backtest(np.array([[0.5], [NAN], [NAN]]), panel, "vn.hnx", initial_cash=1e9)
        assert (len(res.trades) == 0) is refused


def test_china_limit_rounds_to_the_nearest_fen() -> None:
    # 10.05 x 1.1 = 11.055 -> 11.06 (halves up); 11.05 is below the limit
    for price, refused in ((11.06, True), (11.05, False)):
        close = [[10.05], [price], [price]]
        panel = make_panel(close, open_=close, assets=["600000.SH"])
        res = backtest(np.array([[0.5], [NAN], [NAN]]), panel, "cn", initial_cash=1e6)
        assert (len(res.trades) == 0) is refused


def test_taiwan_limit_uses_the_tick_table_and_shares_sell_on_t_plus_1() -> None:
    # 2016: band 10%. 47.3 x 1.1 = 52.03 -> tick 0.1 above 50 -> 52.0
    for price, refused in ((52.0, True), (51.9, False)):
        close = [[47.3], [price], [price]]
        panel = make_panel(close, open_=close, start="2016-03-01")
        res = backtest(np.array([[0.5], [NAN], [NAN]]), panel, "tw", initial_cash=1e7)
        assert (len(res.trades) == 0) is refused
    # bought at bar 1, sold at bar 2 (T+1): no lock refusal
    close = [[100.0]] * 4
    panel = make_panel(close, open_=close, start="2016-03-01")
    res = backtest(np.array([[0.5], [0.0], [NAN], [NAN]]), panel, "tw", initial_cash=1e7)
    assert _reasons(res) == []
    assert [(int(t["bar"]), int(t["side"])) for t in res.trades] == [(1, 1), (2, -1)]


@pytest.mark.parametrize(
    ("start", "execution", "first_sale"),
    [
        ("2012-06-01", "next_open", 5),  # before 2012-09-04: T+4
        ("2012-06-01", "next_close", 5),
        ("2015-06-01", "next_open", 4),  # T+3
        ("2019-06-03", "next_close", 4),  # T+2 settlement, still sold from T+3
        ("2022-09-05", "next_open", 4),  # afternoon of T+2: not at the open
        ("2022-09-05", "next_close", 3),  # ... but at the close of T+2
    ],
)
def test_vietnam_sell_lock_by_date_and_execution(start: str, execution: str, first_sale: int):
    close = [[10000.0]] * 8
    panel = make_panel(close, open_=close, start=start)
    w = np.array([[0.5]] + [[0.0]] * 5 + [[NAN]] * 2)
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9, execution=execution)
    locked = [(b, "t_plus_lock") for b in range(2, first_sale)]
    assert _reasons(res) == locked
    assert [(int(t["bar"]), int(t["side"])) for t in res.trades] == [(1, 1), (first_sale, -1)]


def test_settlement_lock_follows_the_date_t_plus_3_before_2016() -> None:
    close = [[10000.0]] * 6
    panel = make_panel(close, open_=close, start="2015-06-01")
    w = np.array([[0.5], [0.0], [0.0], [0.0], [NAN], [NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9)
    assert _reasons(res) == [(2, "t_plus_lock"), (3, "t_plus_lock")]
    assert [(int(t["bar"]), int(t["side"])) for t in res.trades] == [(1, 1), (4, -1)]
    assert res.trades[0]["shares"] % 10 == 0  # lot 10 on HOSE before 2021


def test_china_bands_per_board_and_st() -> None:
    # +15% opens: locked on the main board (10%), fine on ChiNext (20%);
    # +6% on a main-board ST stock (5% band) is locked too
    assets = ["600000.SH", "300001.SZ", "600001.SH"]
    close = [[10.0, 10.0, 10.0], [11.5, 11.5, 10.6], [11.5, 11.5, 10.6]]
    st = [[0.0, 0.0, 1.0]] * 3
    panel = make_panel(close, open_=close, assets=assets, isST=st)
    w = np.array([[0.3, 0.3, 0.3], [NAN] * 3, [NAN] * 3])
    res = backtest(w, panel, "cn", costs=Costs(commission_bps=2.5), initial_cash=1e6)
    rej = sorted((int(r["asset"]), res.reasons[int(r["reason"])]) for r in res.rejected)
    assert rej == [(0, "band_up"), (2, "band_up")]
    assert res.trades["asset"].tolist() == [1]
    assert res.trades["shares"][0] == 26000.0  # 300,000 / 11.5 = 26,087 -> lots of 100
    assert res.trades["commission"][0] == pytest.approx(2.5e-4 * 26000 * 11.5)
