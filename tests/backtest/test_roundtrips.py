"""Round trips from engine fills: by hand, and from a real engine run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest.engine import backtest
from alphalab.backtest.roundtrips import round_trips
from alphalab.data.panel import Panel
from tests.models.conftest import cn_small_panel


@pytest.fixture(scope="module")
def cn_panel() -> Panel:
    return cn_small_panel(n_assets=8)


def _fills(rows):
    return pd.DataFrame(rows, columns=["date", "ticker", "side", "shares", "price", "value", "commission", "tax",
                                       "slippage"])


def test_by_hand_long_add_partial_exit_and_open_at_end() -> None:
    d = pd.bdate_range("2021-01-04", periods=6)
    f = _fills([
        (d[0], "A", "buy", 100, 10.0, 1000.0, 1.0, 0.0, 0.0),
        (d[1], "A", "buy", 100, 11.0, 1100.0, 1.0, 0.0, 0.0),    # add
        (d[2], "A", "sell", 200, 12.0, 2400.0, 1.0, 2.0, 0.0),   # flat
        (d[3], "B", "buy", 10, 50.0, 500.0, 0.5, 0.0, 0.0),      # still open at the end
    ])
    rt = round_trips(f, pd.Series({"A": 12.0, "B": 55.0}), d[5])
    a = rt[rt.ticker == "A"].iloc[0]
    assert a.pnl == pytest.approx(2400 - 2100 - 5) and a.entry_notional == pytest.approx(2100)
    assert a.edge_bps == pytest.approx(1e4 * 295 / 2100) and a.exit == "flat" and a.n_fills == 3
    b = rt[rt.ticker == "B"].iloc[0]
    assert b.exit == "open_at_end" and b.pnl == pytest.approx(550 - 500 - 0.5)


def test_sign_flip_splits_the_fill() -> None:
    d = pd.bdate_range("2021-01-04", periods=3)
    f = _fills([(d[0], "A", "buy", 10, 10.0, 100.0, 0.0, 0.0, 0.0),
                (d[1], "A", "sell", 30, 11.0, 330.0, 3.0, 0.0, 0.0),   # closes 10, opens a 20 short
                (d[2], "A", "buy", 20, 9.0, 180.0, 0.0, 0.0, 0.0)])
    rt = round_trips(f, pd.Series({"A": 9.0}), d[2])
    assert list(rt.side) == [1, -1]
    assert rt.pnl.iloc[0] == pytest.approx(10 - 1.0) and rt.pnl.iloc[1] == pytest.approx(40 - 2.0)


def test_from_a_real_engine_run(cn_panel: Panel) -> None:
    p = cn_panel.iloc_dates(slice(0, 60))
    w = np.zeros((60, p.n_assets))
    w[5:15, :3] = 0.1
    w[30:40, 2:5] = 0.1
    res = backtest(w, p, "cn")
    rt = round_trips(res.trades_frame(), pd.Series(p["close"][-1], index=p.assets), p.dates[-1])
    assert len(rt) >= 5 and (rt.exit == "flat").all() and (rt.side == 1).all()
    # every trip's P&L adds up to the book's change (no position is left at the end)
    assert rt.pnl.sum() == pytest.approx(res.equity.iloc[-1] - res.initial_cash, rel=1e-9, abs=1e-6)
