"""EWM volatility scaling: the overlay, the vol_scaled wrapper, the target hit on real data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest import backtest
from alphalab.errors import ConfigError
from alphalab.metrics import volatility
from alphalab.models.vol_scaling import EwmVolScaling, VolScaled, ewm_volatility, scale_rows
from alphalab.portfolio.base import make_strategy, target_weights
from alphalab.testing import assert_strategy_no_leakage
from tests.models.deep_portfolio.conftest import etf_panel


def test_ewm_volatility_is_pandas_and_causal() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.01, size=(200, 2))
    v = ewm_volatility(r, 50)
    ref = pd.DataFrame(r).ewm(span=50, min_periods=50).std().to_numpy() * math.sqrt(252)
    assert np.allclose(v, ref, equal_nan=True)
    r2 = r.copy()
    r2[120:] *= 5
    assert np.array_equal(ewm_volatility(r2, 50)[:120], v[:120], equal_nan=True)


@pytest.mark.parametrize("target", [0.10, 0.06])
def test_portfolio_scaling_hits_target_on_real_data(target: float) -> None:
    # four volatile ETFs (equity, emerging, real estate): about 20 % a year unscaled
    panel = etf_panel(("SPY", "EFA", "EEM", "VNQ"), start="2005-01-01", end="2019-12-31")
    inner = make_strategy("equal_weight")
    scaled = VolScaled(inner, target=target, span=50)
    rets = {}
    for name, strat in (("raw", inner), ("scaled", scaled)):
        w = target_weights(strat, panel, "daily")
        res = backtest(w, panel, "us", execution="next_close", rules="proportional")
        rets[name] = res.returns[res.returns.index >= "2006-01-01"]
    assert volatility(rets["raw"], 252) > 0.15
    assert abs(volatility(rets["scaled"], 252) - target) < 0.02


def test_per_asset_mode_matches_the_paper_formula() -> None:
    panel = etf_panel(end="2010-12-31")
    close = panel["close"]
    rows = np.array([panel.n_dates - 5, panel.n_dates - 1])
    w = np.full((2, 4), 0.25)
    out = scale_rows(w, close, rows, target=0.05, span=50, mode="per_asset", max_leverage=10.0)
    r = np.vstack([np.full((1, 4), np.nan), close[1:] / close[:-1] - 1])
    vol = ewm_volatility(r, 50)[rows]
    assert np.allclose(out, 0.25 * 0.05 / vol)
    capped = scale_rows(w, close, rows, target=0.5, span=50, mode="per_asset", max_leverage=1.0)
    assert np.allclose(np.abs(capped).sum(axis=1), 1.0)


def test_nan_rows_stay_and_short_history_is_unscaled() -> None:
    panel = etf_panel(end="2008-12-31")
    w = np.array([[np.nan] * 4, [0.25] * 4])
    out = EwmVolScaling().apply(w, panel, panel.dates[[10, 20]])
    assert np.isnan(out[0]).all() and np.allclose(out[1], 0.25)


def test_wrapper_no_leakage_and_yaml() -> None:
    panel = etf_panel(end="2009-12-31")
    s = make_strategy("vol_scaled", {"strategy": {"kind": "inverse_vol", "params": {"window": 20}},
                                      "target": 0.08, "mode": "per_asset"})
    assert isinstance(s, VolScaled) and s.get_params()["strategy__window"] == 20
    assert_strategy_no_leakage(s, panel, panel.dates[-60::10], fit_until=panel.dates[-60], n_trials=2)


@pytest.mark.parametrize(("params", "match"), [
    ({"strategy": "equal_weight"}, "kind, params"),
    ({"strategy": {"kind": "nope"}}, "unknown strategy kind"),
    ({"strategy": {"kind": "equal_weight", "parms": {}}}, "unknown key"),
    ({"strategy": {"kind": "inverse_vol", "params": {"window": -1}}}, "window"),
    ({"strategy": {"kind": "equal_weight"}, "mode": "asset"}, "mode"),
    ({"strategy": {"kind": "equal_weight"}, "target": -0.1}, "target"),
    ({"strategy": {"kind": "equal_weight"}, "span": 1}, "span"),
])
def test_bad_config(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_strategy("vol_scaled", params)
