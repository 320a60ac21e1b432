"""The DESIGN timing and market rules, one verified rule per test.

* Tradability and sizing use only what is known at execution: the band of the
  open of t+1 (or of the close of t+1 when the open is missing) is computed
  from the close of t, and the book is valued at the open, never at the
  close of the execution bar.
* The T+N sell lock is counted in bars (trading days), not calendar days.
* STAR's 200-share minimum buy, borrow cost and minimum fees are charged the
  same way by the kernel and its Python twin.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest import Costs, backtest
from alphalab.data.panel import Panel
from alphalab.markets import get_market

from .helpers import make_panel, random_weights

NAN = np.nan
FREE = Costs(commission_bps=0.0)
ENGINES = ("numba", "python")


def _reasons(res) -> list[tuple[int, int, str]]:
    return [(int(r["bar"]), int(r["asset"]), res.reasons[int(r["reason"])]) for r in res.rejected]


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_open_falls_back_to_close_with_band_from_previous_close(engine: str) -> None:
    # HOSE, band 7%. Bar 1 has no opens: A's close is at +7% (limit up, judged
    # from bar 0's close): blocked; B's close is +5%: fills at that close.
    # Bar 2 opens at +7% from bar 1's close for B: blocked, although bar 2's
    # open is only +2% above bar 0's close (the reference is the last close).
    close = [[10000.0, 10000.0], [10700.0, 10500.0], [10700.0, 10600.0], [10700.0, 10600.0]]
    open_ = [[10000.0, 10000.0], [NAN, NAN], [10700.0, 11235.0], [10700.0, 10600.0]]
    panel = make_panel(close, open_=open_)
    w = np.array([[0.4, 0.2], [NAN, 0.4], [NAN, NAN], [NAN, NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9, engine=engine)
    assert _reasons(res) == [(1, 0, "band_up"), (2, 1, "band_up")]
    assert [(int(t["bar"]), int(t["asset"]), t["price"]) for t in res.trades] == [(1, 1, 10500.0)]
    assert res.trades["shares"][0] == 19000.0  # 2e8 / 10500 = 19047 -> lots of 100


@pytest.mark.parametrize("engine", ENGINES)
def test_sizing_at_the_open_never_reads_the_close_of_that_bar(engine: str) -> None:
    # B is held and has no open at bar 2 (its own order would fill at bar 2's
    # close). The value that sizes A's order at bar 2's open must not depend
    # on bar 2's close of B, which is not known at the open.
    def run(close_b2: float):
        close = [[10.0, 10.0], [10.0, 10.0], [10.0, close_b2], [10.0, 10.0]]
        open_ = [[10.0, 10.0], [10.0, 10.0], [10.0, NAN], [10.0, 10.0]]
        panel = make_panel(close, open_=open_)
        w = np.array([[0.0, 0.5], [0.5, NAN], [NAN, NAN], [NAN, NAN]])
        return backtest(w, panel, "us", costs=FREE, rules="proportional", initial_cash=1000.0,
                        engine=engine)  # fmt: skip

    a, b = run(10.0), run(30.0)
    fill_a = [t["shares"] for t in a.trades if t["asset"] == 0 and t["bar"] == 2]
    fill_b = [t["shares"] for t in b.trades if t["asset"] == 0 and t["bar"] == 2]
    assert fill_a == fill_b == [50.0]  # 0.5 x (500 cash + 50 B at its last close 10) / 10
    # the close is used afterwards, to mark the book
    assert b.equity_values[2] == a.equity_values[2] + 50 * 20.0


@pytest.mark.parametrize("engine", ENGINES)
def test_settlement_lock_counts_bars_not_calendar_days(engine: str) -> None:
    # HOSE in March 2022: sellable from T+3. A two-week gap between bar 1
    # (buy) and bar 2: still one bar later, so the sales at bars 2 and 3 are
    # locked; bar 4 is free.
    dates = pd.DatetimeIndex(
        ["2022-03-01", "2022-03-02", "2022-03-16", "2022-03-17", "2022-03-18", "2022-03-21"]
    )
    close = np.full((6, 1), 10000.0)
    panel = Panel({"close": close, "open": close}, dates, ["A"])
    w = np.array([[0.5], [0.0], [0.0], [0.0], [NAN], [NAN]])
    res = backtest(w, panel, "vn.hose", costs=FREE, initial_cash=1e9, engine=engine)
    assert _reasons(res) == [(2, 0, "t_plus_lock"), (3, 0, "t_plus_lock")]
    assert [(int(t["bar"]), int(t["side"])) for t in res.trades] == [(1, 1), (4, -1)]


@pytest.mark.parametrize("engine", ENGINES)
def test_china_t_plus_1_sells_the_next_bar(engine: str) -> None:
    close = [[10.0]] * 4
    panel = make_panel(close, open_=close, assets=["600000.SH"], start="2023-03-01")
    w = np.array([[0.5], [0.0], [NAN], [NAN]])
    res = backtest(w, panel, "cn", costs=FREE, initial_cash=1e6, engine=engine)
    assert res.rejected.size == 0
    assert [(int(t["bar"]), int(t["side"])) for t in res.trades] == [(1, 1), (2, -1)]


@pytest.mark.parametrize("engine", ENGINES)
def test_star_board_refuses_buys_under_200_shares(engine: str) -> None:
    assert get_market("cn.star").min_order == 200 and get_market("cn.star").lot_size == 1
    # 2,000 cash at 10: 0.75 -> 150 shares (under the STAR minimum, refused;
    # a main-board lot of 100 is fine); 0.25 of a larger book -> 250 shares
    close = [[10.0, 10.0]] * 4
    names = ["688001.SH", "600000.SH"]
    panel = make_panel(close, open_=close, assets=names, start="2023-03-01")
    w = np.array([[0.75, 0.05], [NAN, NAN], [NAN, NAN], [NAN, NAN]])
    res = backtest(w, panel, "cn", costs=Costs(commission_bps=0.0, min_commission=0.0),
                   initial_cash=2000.0, engine=engine)  # fmt: skip
    assert _reasons(res) == [(1, 0, "lot"), (1, 1, "lot")]
    assert res.rejected["shares"].tolist() == [150.0, 10.0]
    big = backtest(np.array([[0.25, 0.5], [NAN] * 2, [NAN] * 2, [NAN] * 2]), panel, "cn",
                   costs=FREE, initial_cash=10000.0, engine=engine)  # fmt: skip
    assert big.rejected.size == 0
    assert big.positions.iloc[-1].tolist() == [250.0, 500.0]  # 250: not a multiple of 100


@pytest.mark.parametrize("engine", ENGINES)
def test_star_minimum_also_binds_a_cash_cut_buy(engine: str) -> None:
    close = [[10.0, 10.0]] * 3
    panel = make_panel(close, open_=close, assets=["688001.SH", "688002.SH"], start="2023-03-01")
    costs = Costs(commission_bps=0.0, min_commission=0.0)

    def run(wa: float, wb: float):
        w = np.array([[wa, wb], [NAN, NAN], [NAN, NAN]])
        return backtest(w, panel, "cn", costs=costs, initial_cash=10000.0, engine=engine)

    # 500 + 600 shares want 11,000: the larger is cut to the 500 the cash buys
    cut = run(0.5, 0.6)
    assert cut.positions.iloc[-1].tolist() == [500.0, 500.0]
    assert _reasons(cut) == [(1, 1, "cash")] and cut.rejected["shares"][0] == 100.0
    # 850 + 900: the cash left buys 150 of the 900, under the minimum: none
    short = run(0.85, 0.9)
    assert short.positions.iloc[-1].tolist() == [850.0, 0.0]
    assert _reasons(short) == [(1, 1, "cash")] and short.rejected["shares"][0] == 900.0
    assert short.cash_values[-1] == 1500.0


def test_borrow_and_minimum_fees_agree_between_kernel_and_twin() -> None:
    # a short held for 3 closes on US rules (25 bp a year), with a minimum
    # commission on every order, a cash-cut buy and a cover
    close = [[50.0, 20.0, 8.0]] * 2 + [[55.0, 19.0, 8.5]] * 2 + [[52.0, 21.0, 8.0]] * 2
    panel = make_panel(close, open_=close)
    w = np.array(
        [[-0.5, 0.8, 0.6], [NAN] * 3, [-0.2, 0.3, 0.9], [NAN] * 3, [0.0, 0.0, 0.0], [NAN] * 3]
    )
    costs = Costs(commission_bps=5.0, slippage_bps=3.0, min_commission=7.0)
    a = backtest(w, panel, "us", costs=costs, initial_cash=1e5)
    b = backtest(w, panel, "us", costs=costs, initial_cash=1e5, engine="python")
    assert "cash" in [r[2] for r in _reasons(a)]
    np.testing.assert_allclose(a.costs_values, b.costs_values, rtol=1e-12)
    np.testing.assert_allclose(a.equity_values, b.equity_values, rtol=1e-12)
    # borrow by hand: short shares x last close x 25 bp / 252 at each close
    rate = get_market("us").borrow_bps / 1e4 / 252
    short = -np.minimum(a.positions.to_numpy(), 0.0) * np.asarray(panel["close"])
    np.testing.assert_allclose(a.costs_values[:, 3], rate * short.sum(axis=1), rtol=1e-12)
    assert a.costs_values[1:4, 3].min() > 0 and a.costs_values[5, 3] == 0
    # every order pays at least the minimum
    assert a.trades["commission"].min() >= 7.0


def test_same_inputs_same_numbers_whatever_the_cache(
    vn30_long: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # alphalab.backtest (the name) is the function at the package top level
    engine_mod = importlib.import_module("alphalab.backtest.engine")
    panel = Panel.from_long(vn30_long, ["open", "close", "volume"]).slice_dates(None, "2016-12-31")
    w = random_weights(np.random.default_rng(5), *panel.shape, nan_rows=0.2)
    kw = {"rebalance": "weekly", "costs": Costs(slippage_bps=5.0), "initial_cash": 5e9}
    monkeypatch.setattr(engine_mod, "_RULES_CACHE", {})
    monkeypatch.setattr(engine_mod, "_MASK_CACHE", {})
    cold = backtest(w, panel, "vn.hose", **kw)  # rules and schedule resolved
    warm = backtest(w.copy(), panel.copy(), "vn.hose", **kw)  # both from the cache
    assert len(engine_mod._RULES_CACHE) == 1 and len(engine_mod._MASK_CACHE) == 1
    assert len(cold.trades) > 100
    for a, b in ((cold.equity_values, warm.equity_values), (cold.trades, warm.trades),
                 (cold.rejected, warm.rejected), (cold.costs_values, warm.costs_values)):  # fmt: skip
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_fully_invested_buy_may_overdraw_only_within_the_close_enough_tolerance(
    engine: str,
) -> None:
    # 1e6 at 100 x (1 + 1e-10 slippage) costs 1e6 + 1e-4: within 1e-9 of the
    # cash, so it fills whole (as vectorbt does) and cash ends at -1e-4
    panel = make_panel([[100.0]] * 3, open_=[[100.0]] * 3)
    w = np.array([[1.0], [NAN], [NAN]])
    costs = Costs(commission_bps=0.0, slippage_bps=1e-6)
    res = backtest(w, panel, "us", costs=costs, initial_cash=1e6, engine=engine)
    assert res.rejected.size == 0 and res.trades["shares"].tolist() == [10000.0]
    assert -1e-9 * 1e6 <= res.cash_values[-1] < 0
    # 1e-5 bp more than the tolerance allows: the buy is cut by one share
    over = backtest(w, panel, "us", costs=Costs(commission_bps=0.0, slippage_bps=1e-4),
                    initial_cash=1e6, engine=engine)  # fmt: skip
    assert over.trades["shares"].tolist() == [9999.0]
    assert over.cash_values[-1] >= 0
