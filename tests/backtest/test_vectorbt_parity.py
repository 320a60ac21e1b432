"""rules="proportional" reproduces vectorbt's Portfolio.from_orders (target
percent, one cash-sharing group, auto call sequence) to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest import Costs, backtest

from .helpers import random_panel, random_weights

vbt = pytest.importorskip("vectorbt")


@pytest.mark.parametrize("fee_bps", [0.0, 10.0, 50.0])
def test_final_equity_matches_vectorbt(fee_bps: float) -> None:
    rng = np.random.default_rng(int(fee_bps))
    n_d, n_a = 120, 12
    panel = random_panel(rng, n_d, n_a, vol=0.03).drop_fields("volume")
    w = random_weights(rng, n_d, n_a, gross=1.0)
    mask = np.zeros(n_d, dtype=bool)
    mask[::5] = True
    w[~mask] = np.nan
    res = backtest(w, panel, "us", costs=Costs(commission_bps=fee_bps), rules="proportional")
    size = np.full_like(w, np.nan)
    size[1:] = w[:-1]  # the decision at t is an order at t + 1
    pf = vbt.Portfolio.from_orders(
        close=pd.DataFrame(np.asarray(panel["close"]), index=panel.dates),
        size=size,
        size_type="targetpercent",
        price=np.asarray(panel["open"]),
        fees=fee_bps / 1e4,
        init_cash=1e6,
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        freq="D",
    )
    value = np.asarray(pf.value())
    np.testing.assert_allclose(res.equity_values, value, rtol=1e-9)
    assert len(res.trades) == len(pf.orders.records)
    if fee_bps > 0:
        assert res.costs["commission"] == pytest.approx(pf.orders.records["fees"].sum(), rel=1e-9)
