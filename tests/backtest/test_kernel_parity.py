"""The numba kernel and its plain Python twin agree on random and real inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest import Costs, backtest
from alphalab.data.panel import Panel

from .helpers import random_panel, random_weights


def _sorted(rec: np.ndarray) -> np.ndarray:
    return rec[np.lexsort((rec["side"], rec["asset"], rec["bar"]))]


def assert_same(a, b) -> None:
    np.testing.assert_allclose(a.equity_values, b.equity_values, rtol=1e-10)
    np.testing.assert_allclose(a.cash_values, b.cash_values, rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(a.costs_values, b.costs_values, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(a.turnover_values, b.turnover_values, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a.exec_bars, b.exec_bars)
    np.testing.assert_allclose(a.pos_snap, b.pos_snap, rtol=1e-10, atol=1e-9)
    ta, tb = _sorted(a.trades), _sorted(b.trades)
    assert len(ta) == len(tb)
    for f in ("bar", "asset", "side"):
        np.testing.assert_array_equal(ta[f], tb[f])
    for f in ("shares", "price", "value", "commission", "tax", "slippage"):
        np.testing.assert_allclose(ta[f], tb[f], rtol=1e-10, atol=1e-9)
    ra, rb = _sorted(a.rejected), _sorted(b.rejected)
    assert len(ra) == len(rb)
    for f in ("bar", "asset", "side", "reason"):
        np.testing.assert_array_equal(ra[f], rb[f])
    np.testing.assert_allclose(ra["shares"], rb["shares"], rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    ("market", "rules", "short"),
    [("us", "market", True), ("vn.hose", "market", True), ("us", "proportional", False),
     ("vn.hose", "proportional", True)],
)  # fmt: skip
def test_twin_agrees_on_random_inputs(seed: int, market: str, rules: str, short: bool) -> None:
    rng = np.random.default_rng(seed)
    n_d, n_a = 60, 6
    panel = random_panel(rng, n_d, n_a, vol=0.04, holes=0.03)
    w = random_weights(rng, n_d, n_a, gross=rng.uniform(0.5, 1.2), short=short, nan_rows=0.4)
    kw = {
        "costs": Costs(
            commission_bps=float(rng.uniform(0, 30)),
            slippage_bps=float(rng.uniform(0, 20)),
            min_commission=float(rng.choice([0.0, 5.0])),
        ),
        "rules": rules,
        "execution": ["next_open", "next_close"][seed % 2],
        "initial_cash": 1e5,
        "rebalance": [None, "weekly", 3, None][seed],
    }
    a = backtest(w, panel, market, **kw)
    b = backtest(w, panel, market, engine="python", **kw)
    assert len(a.trades) > 0
    assert_same(a, b)


def test_twin_agrees_on_real_vn30_data(vn30_long: pd.DataFrame) -> None:
    panel = Panel.from_long(vn30_long, ["open", "high", "low", "close", "volume"]).slice_dates(
        None, "2016-09-30"
    )
    rng = np.random.default_rng(7)
    w = random_weights(rng, *panel.shape)
    kw = {"rebalance": "weekly", "costs": Costs(slippage_bps=5.0), "initial_cash": 5e9}
    a = backtest(w, panel, "vn.hose", **kw)
    b = backtest(w, panel, "vn.hose", engine="python", **kw)
    assert len(a.trades) > 100
    assert_same(a, b)


def test_twin_agrees_with_per_asset_bands_and_st() -> None:
    rng = np.random.default_rng(11)
    base = random_panel(rng, 80, 4, vol=0.06, holes=0.02, start="2021-01-04")
    st = (rng.random(base.shape) < 0.3).astype(float)
    names = ["600000.SH", "300001.SZ", "688001.SH", "000001.SZ"]
    panel = Panel({**base.fields, "isST": st}, base.dates, names)
    w = random_weights(rng, *panel.shape, nan_rows=0.3)
    kw = {"costs": Costs(slippage_bps=3.0), "initial_cash": 1e6}
    a = backtest(w, panel, "cn", **kw)
    b = backtest(w, panel, "cn", engine="python", **kw)
    assert {"band_up", "band_down"} & set(a.rejected_frame()["reason"])
    assert_same(a, b)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("market", ["tw", "vn.upcom", "cn"])
def test_twin_agrees_on_holey_panels_with_star_and_unpriced_assets(seed: int, market: str) -> None:
    # 30% holes: assets unpriced for a while (refusals with NaN shares), fills
    # at an open before any close (marked at the fill), STAR's 200-share
    # minimum on 688xxx, ST bands; fully invested rows hit the cash boundary
    rng = np.random.default_rng(100 + seed)
    base = random_panel(rng, 40, 5, vol=0.06, holes=0.3, start="2023-08-01")
    names = ["688001.SH", "600000.SH", "300001.SZ", "688002.SH", "000001.SZ"]
    fields = {k: np.array(v) for k, v in base.fields.items()}
    # the last asset: no price at all for two bars, then opens without a close
    fields["close"][:4, 4] = np.nan
    fields["open"][:2, 4] = np.nan
    fields["open"][2:4, 4] = 20.0
    fields["volume"][:4, 4] = 1000.0
    if market == "cn":
        fields["isST"] = (rng.random(base.shape) < 0.2).astype(float)
    panel = Panel(fields, base.dates, names if market == "cn" else list(base.assets))
    w = random_weights(rng, *panel.shape, gross=1.0, short=seed == 1, nan_rows=0.2)
    w[0, 4] = 0.2  # a decision on the unpriced asset, executed at bar 1
    kw = {"costs": Costs(slippage_bps=2.0), "initial_cash": 2e5, "rebalance": [None, 2][seed]}
    a = backtest(w, panel, market, **kw)
    b = backtest(w, panel, market, engine="python", **kw)
    assert len(a.trades) > 0 and np.isfinite(a.equity_values).all()
    unsized = a.rejected[np.isnan(a.rejected["shares"])]
    assert len(unsized) and set(unsized["asset"]) == {4}
    assert_same(a, b)


@pytest.mark.parametrize("seed", range(6))
def test_scan_weights_twin_agrees(seed: int) -> None:
    from alphalab.backtest.kernel import scan_weights
    from alphalab.backtest.kernel_py import scan_weights_py

    rng = np.random.default_rng(seed)
    n_d, n_a = 40, 13
    w = random_weights(rng, n_d, n_a, gross=1.0, short=True, nan_rows=0.3)
    candidate = rng.random(n_d) < 0.6
    if seed % 3 == 1:  # an over-levered row, sometimes before an infinity
        w[int(rng.integers(n_d)), :] = 10.0
    if seed % 2 == 1:  # an infinity on any row, on schedule or not
        w[int(rng.integers(n_d)), int(rng.integers(n_a))] = rng.choice([np.inf, -np.inf])
    got, want = scan_weights(w, candidate, 100.0), scan_weights_py(w, candidate, 100.0)
    assert got[1:] == want[1:]
    if got[1] < 0 and got[3] < 0:  # decide is complete only when nothing is wrong
        np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.parametrize("seed", range(8))
def test_bad_inputs_twin_agrees(seed: int) -> None:
    from alphalab.backtest.kernel import bad_inputs
    from alphalab.backtest.kernel_py import bad_inputs_py

    rng = np.random.default_rng(seed)
    shape = (30, 11)
    close = rng.uniform(1.0, 100.0, shape)
    open_ = rng.uniform(1.0, 100.0, shape)
    volume = rng.uniform(0.0, 1e6, shape)
    for arr in (close, open_, volume):  # missing values are not errors
        arr[rng.random(shape) < 0.2] = np.nan
        arr[rng.random(shape) < 0.1] = 0.0
    floor = 1e-300
    cells = [np.inf, -np.inf, -1.0, -0.0, 1e-310, np.nan, 0.0]
    for arr in (close, open_, volume):
        if rng.random() < 0.5:
            arr[rng.integers(shape[0]), rng.integers(shape[1])] = rng.choice(cells)
    empty = np.empty((0, 0))
    for args in ((close, open_, volume), (close, empty, empty), (close, open_, empty)):
        assert bad_inputs(*args, floor) == bad_inputs_py(*args, floor)
    assert bad_inputs(close, open_, volume, 0.0) == bad_inputs_py(close, open_, volume, 0.0)


@pytest.mark.parametrize("market", ["vn.hose", "tw", "us"])
def test_step_api_twin_agrees_bar_by_bar(market: str) -> None:
    # the pieces the RL environment uses: new_state, then step / step_py one
    # bar at a time with NaN = hold, compared after every bar
    from alphalab.backtest.engine import kernel_inputs
    from alphalab.backtest.kernel import new_out, new_state, step
    from alphalab.backtest.kernel_py import step_py

    rng = np.random.default_rng(5)
    panel = random_panel(rng, 50, 5, vol=0.05, holes=0.05, start="2022-08-15")
    w = random_weights(rng, *panel.shape, gross=1.0, short=market == "us")
    w[rng.random(panel.shape) < 0.2] = np.nan  # holds
    close = np.ascontiguousarray(panel["close"])
    kw = {"execution": "next_close", "costs": Costs(slippage_bps=3.0, min_commission=1.0)}
    mk, par = kernel_inputs(
        panel, market, panel.shape, initial_cash=1e6, rules="market", open_=np.empty((0, 0)),
        close=close, volume=np.ascontiguousarray(panel["volume"]), nan_holds=True, **kw,
    )  # fmt: skip
    states = [new_state(panel.n_assets, mk.lock, 1e6) for _ in range(2)]
    outs = [new_out(panel.n_dates, panel.n_assets, panel.n_dates) for _ in range(2)]
    for t in range(panel.n_dates):
        ex = t > 0
        eq_a = step(t, w[t - 1 if ex else 0], ex, mk, par, states[0], outs[0])
        eq_b = step_py(t, w[t - 1 if ex else 0], ex, mk, par, states[1], outs[1])
        assert eq_a == pytest.approx(eq_b, rel=1e-12)
        np.testing.assert_allclose(states[0].f[:2], states[1].f[:2], rtol=1e-12)
        assert states[0].sc[0]["n_tr"] == states[1].sc[0]["n_tr"]
        assert states[0].sc[0]["n_rj"] == states[1].sc[0]["n_rj"]
    n_tr = int(states[0].sc[0]["n_tr"])
    assert n_tr > 20
    fa, fb = (o.fills[:n_tr] for o in outs)  # buys fill in one order, listed in another
    fa, fb = (f[np.lexsort((f["shares"] > 0, f["asset"], f["bar"]))] for f in (fa, fb))
    np.testing.assert_array_equal(fa[["bar", "asset"]], fb[["bar", "asset"]])
    np.testing.assert_allclose(fa["shares"], fb["shares"], rtol=1e-12)
