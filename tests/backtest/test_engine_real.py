"""Runs on the shared real datasets: S&P 500 with US rules, VN30 with HOSE rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest import Costs, backtest
from alphalab.backtest.kernel import LIMIT_INWARD, limit_prices
from alphalab.data.panel import Panel
from alphalab.markets import resolve_rules

FIELDS = ["open", "high", "low", "close", "volume"]


def _momentum_weights(panel: Panel, k: int) -> np.ndarray:
    """Equal weight on the k best 60-bar performers among listed names (uses data up to t)."""
    close = panel.frame("close")
    mom = close / close.shift(60) - 1.0
    rank = mom.rank(axis=1, ascending=False)
    w = (rank <= k).astype(float).div(k)
    w[mom.isna()] = 0.0
    return w.to_numpy(copy=True)


def _sane(res, panel: Panel, lots: np.ndarray | None) -> None:
    assert np.isfinite(res.equity_values).all() and (res.equity_values > 0).all()
    assert res.cash.min() >= -1e-6
    assert len(res.trades) > 100
    pos = res.positions.to_numpy()
    if lots is not None:
        assert np.all(np.mod(pos, lots) == 0)
        tr = res.trades
        assert np.all(np.mod(tr["shares"], lots[tr["bar"], tr["asset"]]) == 0)


@pytest.fixture(scope="module")
def us_panel(us_sp500_long: pd.DataFrame) -> Panel:
    return Panel.from_long(us_sp500_long, FIELDS)


@pytest.fixture(scope="module")
def vn_panel(vn30_long: pd.DataFrame) -> Panel:
    return Panel.from_long(vn30_long, FIELDS)


def test_sp500_momentum_with_us_rules(us_panel: Panel) -> None:
    w = _momentum_weights(us_panel, 50)
    res = backtest(w, us_panel, "us", rebalance="monthly", costs=Costs(commission_bps=5,
                   slippage_bps=5, min_commission=1.0))  # fmt: skip
    _sane(res, us_panel, np.ones(us_panel.shape))
    assert res.costs["commission"] > 0 and res.costs["slippage"] > 0
    # months held a few percent of cash at most; weights at rebalance closes sum to ~1
    held = res.weights.to_numpy().sum(axis=1)
    assert held[res.exec_bars[-1]] == pytest.approx(1.0, abs=0.02)
    # untradeable rows exist in this data (NaN opens, zero volume): orders there are refused
    reasons = set(res.rejected_frame()["reason"])
    assert reasons <= {"untradeable", "cash"}
    # proportional mode on the same inputs stays close (same book, fractional shares)
    prop = backtest(w, us_panel, "us", rebalance="monthly",
                    costs=Costs(commission_bps=5, slippage_bps=5), rules="proportional")  # fmt: skip
    assert prop.equity.iloc[-1] == pytest.approx(res.equity.iloc[-1], rel=0.01)


def test_vn30_with_hose_rules(vn_panel: Panel) -> None:
    rr = resolve_rules("vn.hose", vn_panel.dates, vn_panel.assets)
    assert rr.settlement_days == 2 and not rr.allow_short
    w = _momentum_weights(vn_panel, 5)
    w[:, :3] -= 0.05  # a few short wishes, refused on HOSE
    res = backtest(w, vn_panel, "vn.hose", rebalance="weekly", initial_cash=1e10)
    _sane(res, vn_panel, rr.lot_size_by_date)
    assert (res.positions.to_numpy() >= 0).all()
    rej = res.rejected_frame()
    assert "no_short" in set(rej["reason"])
    assert res.costs["tax"] == pytest.approx(0.001 * res.trades_frame().query("side == 'sell'")[
        "value"].sum())  # fmt: skip
    # no fill beyond a band, judged against the previous close
    ref = vn_panel.frame("close").ffill().to_numpy()
    tr = res.trades
    t, j = tr["bar"], tr["asset"]
    buys = tr["side"] > 0
    for k in range(len(tr)):  # against the tick-rounded limits of the previous close
        up, down = limit_prices(ref[t[k] - 1, j[k]], 0.07, rr.ticks, LIMIT_INWARD)
        assert (tr["price"][k] < up) if buys[k] else (tr["price"][k] > down)


def test_vn30_daily_rebalance_meets_the_settlement_lock(vn_panel: Panel) -> None:
    w = _momentum_weights(vn_panel, 5)
    res = backtest(w, vn_panel, "vn.hose", rebalance="daily", initial_cash=1e10)
    rr = resolve_rules("vn.hose", vn_panel.dates, vn_panel.assets)
    _sane(res, vn_panel, rr.lot_size_by_date)
    reasons = res.rejected_frame()["reason"].value_counts()
    assert reasons.get("t_plus_lock", 0) > 0
