"""Trade labels: values by hand, costs from the market, horizon and leakage windows, real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.labels import training_mask
from alphalab.models.trade_labels import round_trip_cost_bps, trade_labels


def _panel(close, open_=None, high=None, low=None) -> Panel:
    c = np.asarray(close, float)
    f = {"close": c, "open": np.asarray(open_ if open_ is not None else close, float),
         "high": np.asarray(high if high is not None else close, float),
         "low": np.asarray(low if low is not None else close, float)}
    return Panel(f, pd.bdate_range("2021-01-04", periods=c.shape[0]), ["A", "B"][: c.shape[1]])


def test_costs_come_from_the_market() -> None:
    # CN: sell stamp tax applies; a round trip pays commission twice plus the taxes
    from alphalab.markets import get_market
    cn = get_market("cn")
    assert round_trip_cost_bps("cn", 1, 5.0) == pytest.approx(2 * cn.commission_bps + cn.sell_tax_bps + cn.buy_tax_bps + 10)
    assert round_trip_cost_bps("us", 1, 0.0) == 0.0


def test_values_by_hand() -> None:
    close = [[100, 50], [101, 50], [103, 49], [99, 48], [100, 47]]
    opn = [[100, 50], [100, 51], [102, 49], [100, 48], [100, 47]]
    high = [[100, 50], [102, 51], [104, 50], [100, 48], [101, 47]]
    low = [[100, 50], [99, 49], [101, 48], [98, 47], [99, 46]]
    lab = trade_labels(_panel(close, opn, high, low), "us", 2, take_profit_bps=300, stop_bps=150,
                       adverse_bps=100.5, slippage_bps=5.0)
    # row 0: entry open[1]=100 (A), exit close[2]=103 -> +300 bps gross, cost 10
    assert lab.edge_long.values[0, 0] == pytest.approx(300 - 10)
    assert lab.edge_short.values[0, 0] == pytest.approx(-300 - 10)
    # A: highs 102, 104 vs entry 100 -> +400 reaches TP 300 on bar 2; lows 99 (-100) never the stop
    assert lab.barrier_long.values[0, 0] == 1.0
    # short A: the stop (a rise of 150 bps) at bar 2 comes first
    assert lab.barrier_short.values[0, 0] == -1.0
    # adverse long A: worst low 99 -> 100 bps, not > 100.5
    assert lab.adverse_long.values[0, 0] == 0.0
    # B: entry 51, exit 49 -> -392 gross; short edge positive -> direction 0 (short)
    assert lab.direction.values[0, 1] == 0.0 and lab.direction.values[0, 0] == 2.0
    # the last h rows have no full window
    assert np.isnan(lab.edge_long.values[-2:]).all() and lab.horizon == 2
    assert all(v.horizon == 2 for v in lab.as_dict().values())


def test_leakage_window() -> None:
    """A label at t reads rows t+1..t+h only: changing rows after k leaves rows <= k-h unchanged."""
    rng = np.random.default_rng(0)
    n, h = 60, 4
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, 2)), axis=0))
    base = trade_labels(_panel(c, c * 1.001, c * 1.01, c * 0.99), "cn", h)
    k = 40
    c2 = c.copy()
    c2[k + 1:] *= 1.3
    moved = trade_labels(_panel(c2, c2 * 1.001, c2 * 1.01, c2 * 0.99), "cn", h)
    for name, la in base.as_dict().items():
        lb = moved.as_dict()[name]
        np.testing.assert_array_equal(la.values[: k - h + 1], lb.values[: k - h + 1], err_msg=name)
    # training rows for a fit at row k never read past k
    m = training_mask(base.edge_long.values, base.edge_long.dates, h, base.edge_long.dates[k])
    assert m[: k - h + 1].any() and not m[k - h + 1:].any()


def test_bad_horizon_and_barriers() -> None:
    p = _panel([[1.0], [1.1], [1.2]])
    with pytest.raises(ConfigError, match="horizon"):
        trade_labels(p, "us", 0)
    with pytest.raises(ConfigError, match="stop_bps"):
        trade_labels(p, "us", 1, stop_bps=-1)


def test_real_cn_panel(cn_panel) -> None:
    lab = trade_labels(cn_panel, "cn", 5)
    e = lab.edge_long.values
    assert np.isfinite(e).mean() > 0.9
    # long + short edges sum to minus both round-trip costs
    s = (lab.edge_long.values + lab.edge_short.values)[np.isfinite(e)]
    np.testing.assert_allclose(s, -2 * round_trip_cost_bps("cn", 1, 5.0))
    assert set(np.unique(lab.barrier_long.values[np.isfinite(e)])) <= {-1.0, 0.0, 1.0}
